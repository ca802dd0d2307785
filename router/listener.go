package router

// Listener describes the endpoint a connection came through, for the
// policies that depend on it. The zero value has no policies of its own.
type Listener struct {
	// Name names the listener in logs, e.g. "wss 0.0.0.0:443".
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// AuthMethods, if not empty, are the only authentication methods
	// ("anonymous", "ticket", "wampcra", "cryptosign") its connections
	// may use, among those their realm offers.
	AuthMethods []string `json:"auth_methods,omitempty" yaml:"auth_methods,omitempty"`
}

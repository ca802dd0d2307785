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
	// Trusted, if set, makes this a private listener of the program's
	// own components (an app's worker processes on a Unix socket only
	// they can reach): its sessions authenticate with Trusted's ticket
	// and nothing else, in any realm, and are authorized for everything.
	// AuthMethods does not apply to it.
	Trusted *TrustedAuth `json:"-" yaml:"-"`
	// Assigned, if set, gives every session of this listener the same
	// identity, with no authentication: the listener is an in-process
	// endpoint the program made for a client it vouches for (the HTTP
	// bridge, for the bearer of one of its tokens). Unlike Trusted, the
	// sessions are authorized as any session of their role. Never set it
	// on a listener others can reach.
	Assigned *AssignedAuth `json:"-" yaml:"-"`
}

// AssignedAuth is the identity of a listener's sessions (Listener.Assigned).
type AssignedAuth struct {
	AuthID   string
	AuthRole string
	// Method is WELCOME.Details.authmethod. Default "assigned".
	Method string
}

// TrustedAuth is the authentication of a trusted listener: WAMP-Ticket
// against one secret, usually made anew for each run of the program and
// handed to the processes it starts. The authid is the client's; a
// client that gives none is refused.
type TrustedAuth struct {
	// Ticket is the secret. An empty Ticket admits nobody.
	Ticket string
	// Role is the sessions' authrole. Default "trusted".
	Role string
}

// defaultTrustedRole is TrustedAuth.Role's default.
const defaultTrustedRole = "trusted"

// providerTrusted is WELCOME.Details.authprovider of a trusted session.
const providerTrusted = "trusted"

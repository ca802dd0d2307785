package router

import "time"

// RealmConfig configures one realm's authentication and authorization.
// A realm listed in Config.Realms (by name only) admits anonymous
// sessions with every permission, the development default; a realm given
// as a RealmConfig admits only the methods it configures, and its
// sessions may do only what their role permits.
type RealmConfig struct {
	// Name is the realm's URI.
	Name string `json:"name" yaml:"name"`
	// Anonymous, if set, admits sessions that bring no credentials (or
	// ask for "anonymous"), with its Role. Nil: anonymous is refused.
	Anonymous *AnonymousAuth `json:"anonymous,omitempty" yaml:"anonymous,omitempty"`
	// Ticket, WAMPCRA and Cryptosign enable those methods.
	Ticket     *TicketAuth     `json:"ticket,omitempty" yaml:"ticket,omitempty"`
	WAMPCRA    *WAMPCRAAuth    `json:"wampcra,omitempty" yaml:"wampcra,omitempty"`
	Cryptosign *CryptosignAuth `json:"cryptosign,omitempty" yaml:"cryptosign,omitempty"`
	// Roles are the realm's roles and their permissions. A role named by
	// an authentication method must be listed here, unless an Authorizer
	// decides.
	Roles []Role `json:"roles,omitempty" yaml:"roles,omitempty"`
	// Authorizer, if set, is the URI of a procedure registered in this
	// realm that the router calls to authorize actions the static roles
	// do not grant (see authorize.go for its arguments and answer).
	Authorizer string `json:"authorizer,omitempty" yaml:"authorizer,omitempty"`
}

// AnonymousAuth admits sessions without credentials.
type AnonymousAuth struct {
	// Role is the anonymous sessions' role. Default "anonymous".
	Role string `json:"role,omitempty" yaml:"role,omitempty"`
}

// TicketAuth is the WAMP-Ticket method: the client sends a shared
// secret. Principals are checked first; then, if set, the Authenticator
// procedure is called.
type TicketAuth struct {
	Principals map[string]TicketPrincipal `json:"principals,omitempty" yaml:"principals,omitempty"`
	// Authenticator is the URI of a dynamic authenticator procedure,
	// called with (realm, authid, details) where details carry the
	// ticket; it returns the role (a string, or a dict with "role" and
	// optionally "authid", "extra") or fails with an error.
	Authenticator string `json:"authenticator,omitempty" yaml:"authenticator,omitempty"`
}

// TicketPrincipal is a static ticket user.
type TicketPrincipal struct {
	Ticket string `json:"ticket" yaml:"ticket"`
	Role   string `json:"role" yaml:"role"`
}

// WAMPCRAAuth is the WAMP-CRA challenge-response method (HMAC-SHA256).
type WAMPCRAAuth struct {
	Principals map[string]WAMPCRAPrincipal `json:"principals,omitempty" yaml:"principals,omitempty"`
	// Authenticator is a dynamic authenticator procedure, called with
	// (realm, authid, details); it returns a dict with "secret" and
	// "role" (and "salt", "iterations", "keylen" for a salted secret).
	Authenticator string `json:"authenticator,omitempty" yaml:"authenticator,omitempty"`
}

// WAMPCRAPrincipal is a static WAMP-CRA user. With Salt set, Secret is the
// password and the key is derived with PBKDF2-HMAC-SHA256 (Iterations,
// KeyLen), as the specification's salted WAMP-CRA says.
type WAMPCRAPrincipal struct {
	Secret     string `json:"secret" yaml:"secret"`
	Role       string `json:"role" yaml:"role"`
	Salt       string `json:"salt,omitempty" yaml:"salt,omitempty"`
	Iterations int    `json:"iterations,omitempty" yaml:"iterations,omitempty"`
	KeyLen     int    `json:"keylen,omitempty" yaml:"keylen,omitempty"`
}

// CryptosignAuth is the WAMP-Cryptosign method (Ed25519).
type CryptosignAuth struct {
	Principals map[string]CryptosignPrincipal `json:"principals,omitempty" yaml:"principals,omitempty"`
	// Authenticator is a dynamic authenticator procedure, called with
	// (realm, authid, details) where details carry the client's
	// "pubkey"; it returns the role (or a dict with "role") if the key is
	// authorized.
	Authenticator string `json:"authenticator,omitempty" yaml:"authenticator,omitempty"`
}

// CryptosignPrincipal is a static Cryptosign user.
type CryptosignPrincipal struct {
	// AuthorizedKeys are the user's Ed25519 public keys, hex-encoded.
	AuthorizedKeys []string `json:"authorized_keys" yaml:"authorized_keys"`
	Role           string   `json:"role" yaml:"role"`
}

// Role is a named set of permissions.
type Role struct {
	Name        string       `json:"name" yaml:"name"`
	Permissions []Permission `json:"permissions,omitempty" yaml:"permissions,omitempty"`
}

// Permission grants actions on the URIs matching URI and Match. When
// several permissions of a role match, the most specific wins, with the
// precedence of the dealer: exact, then the longest prefix, then
// wildcard.
type Permission struct {
	URI string `json:"uri" yaml:"uri"`
	// Match is "exact", "prefix" or "wildcard". Default exact.
	Match     string `json:"match,omitempty" yaml:"match,omitempty"`
	Call      bool   `json:"call,omitempty" yaml:"call,omitempty"`
	Register  bool   `json:"register,omitempty" yaml:"register,omitempty"`
	Publish   bool   `json:"publish,omitempty" yaml:"publish,omitempty"`
	Subscribe bool   `json:"subscribe,omitempty" yaml:"subscribe,omitempty"`
	// DiscloseCaller and DisclosePublisher force the disclosure of the
	// caller or publisher to callees and subscribers, whether or not it
	// asked. AllowDisclose, when false, refuses a caller's or
	// publisher's disclose_me (wamp.error.option_disallowed.disclose_me).
	// Default: disclosure on request allowed.
	DiscloseCaller    bool  `json:"disclose_caller,omitempty" yaml:"disclose_caller,omitempty"`
	DisclosePublisher bool  `json:"disclose_publisher,omitempty" yaml:"disclose_publisher,omitempty"`
	AllowDisclose     *bool `json:"allow_disclose,omitempty" yaml:"allow_disclose,omitempty"`
}

// Limits bound what one session or all of them may use. The zero value
// of each field means its default; a negative value means no limit.
type Limits struct {
	// MaxSessions bounds the sessions of the whole router. Default 100000.
	MaxSessions int `json:"max_sessions,omitempty" yaml:"max_sessions,omitempty"`
	// MaxSessionsPerRealm bounds the sessions of each realm. Default:
	// MaxSessions.
	MaxSessionsPerRealm int `json:"max_sessions_per_realm,omitempty" yaml:"max_sessions_per_realm,omitempty"`
	// MaxSubscriptionsPerSession and MaxRegistrationsPerSession bound
	// one session's subscriptions and registrations. Default 10000 each.
	MaxSubscriptionsPerSession int `json:"max_subscriptions_per_session,omitempty" yaml:"max_subscriptions_per_session,omitempty"`
	MaxRegistrationsPerSession int `json:"max_registrations_per_session,omitempty" yaml:"max_registrations_per_session,omitempty"`
	// MessageRate bounds the messages a session sends per second, with
	// bursts of MessageBurst (default: one second's worth, at least 1).
	// Default 0: no limit. See limits.go for what each limit answers.
	MessageRate  float64 `json:"message_rate,omitempty" yaml:"message_rate,omitempty"`
	MessageBurst int     `json:"message_burst,omitempty" yaml:"message_burst,omitempty"`
	// MaxRetainedTopics bounds the topics holding a retained event in
	// each realm, and MaxRetainedBytes the arguments of those events
	// together (as encoded by their publishers). A PUBLISH with retain
	// over either is refused when it asked for acknowledgement (ERROR
	// junction.error.retain_limit_exceeded, nothing published), otherwise
	// delivered and not retained. Replacing a topic's retained event
	// counts only the difference. Defaults 10000 topics and 64 MiB.
	MaxRetainedTopics int   `json:"max_retained_topics,omitempty" yaml:"max_retained_topics,omitempty"`
	MaxRetainedBytes  int64 `json:"max_retained_bytes,omitempty" yaml:"max_retained_bytes,omitempty"`
	// HelloTimeout is how long a new connection may take to send HELLO
	// (and to finish authenticating) before it is closed. Default 10s.
	HelloTimeout time.Duration `json:"hello_timeout,omitempty" yaml:"hello_timeout,omitempty"`
}

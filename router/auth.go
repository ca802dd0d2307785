package router

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// Authentication: how a session of a realm with a RealmConfig comes to
// have its authid and authrole. The handshake picks the first method of
// HELLO.Details.authmethods (the client's order of preference) that the
// realm enables and the listener allows, then runs it: anonymous at once;
// ticket, wampcra and cryptosign with one CHALLENGE and its AUTHENTICATE
// (auth_ticket.go, auth_wampcra.go, auth_cryptosign.go), each against the
// realm's static principals or its dynamic authenticator procedure
// (auth_dynamic.go).
//
// A failure says nothing about what was wrong: an unknown authid, a wrong
// secret, a key not authorized and an authenticator's refusal all end in
// the same ABORT wamp.error.authentication_failed, sent at the same point
// of the exchange (after AUTHENTICATE), while the router logs the real
// reason. Repeated failures from one address are slowed down
// (auth_throttle.go).

// Authentication method names, as in HELLO.Details.authmethods.
const (
	authAnonymous  = "anonymous"
	authTicket     = "ticket"
	authWAMPCRA    = "wampcra"
	authCryptosign = "cryptosign"
)

// Authentication providers, as WELCOME.Details.authprovider names them.
const (
	providerStatic  = "static"
	providerDynamic = "dynamic"
)

// defaultAnonymousRole is AnonymousAuth.Role's default.
const defaultAnonymousRole = "anonymous"

// authFailedMessage is the message of every ABORT
// wamp.error.authentication_failed that a credential caused: it must not
// tell an unknown authid from a wrong secret.
const authFailedMessage = "authentication failed"

// authState is the router's authentication state, shared by its realms.
// The zero value is ready to use.
type authState struct {
	// throttle slows the failures of one authid from one host: keyed by
	// both, so that one user's mistakes do not lock out everyone behind
	// the same NAT.
	throttle throttle
	// spray slows a host failing with many authids, from a higher
	// threshold (sprayThreshold failures in its window).
	spray throttle

	once sync.Once
	// decoyKey derives the salts of the decoy challenges sent for
	// authids that do not exist (see wampcraDecoy), stable for the life
	// of the router so that asking twice gives the same answer.
	decoyKey [32]byte

	mu sync.Mutex
	// derived caches the PBKDF2 keys of static salted WAMP-CRA
	// principals, by realm, authid and parameters.
	derived map[derivedKeyID]wampcraSecret
}

// authOutcome is what a successful authentication gives the session.
type authOutcome struct {
	authid    string
	authrole  string
	provider  string
	authextra wamp.Dict // WELCOME.Details.authextra, nil for none
}

// authError ends a handshake without WELCOME. For a wrong credential use
// denied, which hides the reason from the client.
type authError struct {
	reason  wamp.URI // the ABORT reason; "" when the client left: no ABORT
	message string   // the ABORT message
	log     string   // the real reason, for the router's log
	// counts: a failure that counts towards throttling (a credential
	// refused, not the router's own trouble).
	counts bool
}

func (e *authError) Error() string { return e.log }

// denied is the failure a credential causes: the client learns only that
// authentication failed; why is logged.
func denied(format string, args ...any) *authError {
	return &authError{reason: wamp.URIAuthenticationFailed, message: authFailedMessage, log: fmt.Sprintf(format, args...),
		counts: true}
}

// unavailable is a failure of the router's own (an authenticator that
// is not registered or does not answer): the client is told what it
// would be told for a wrong credential, but its address is not
// throttled for it.
func unavailable(format string, args ...any) *authError {
	return &authError{reason: wamp.URIAuthenticationFailed, message: authFailedMessage, log: fmt.Sprintf(format, args...)}
}

// authenticate sets s's authid, authrole, authmethod and authprovider
// from hello, or answers with an ABORT (unless the client left) and
// reports false. l is the listener the connection came through, nil for
// none.
func (r *Router) authenticate(s *session, hello *wamp.Hello, l *Listener) bool {
	if l != nil && l.Trusted != nil {
		return r.authenticateTrusted(s, hello, l.Trusted)
	}
	if l != nil && l.Assigned != nil {
		a := l.Assigned
		s.authid, s.authrole = a.AuthID, a.AuthRole
		s.authmethod, s.authprovider = cmp.Or(a.Method, "assigned"), "assigned"
		return true
	}
	cfg := s.realm.cfg
	if cfg == nil {
		// An open realm: anonymous with the authid the client asks for.
		s.authid = strconv.FormatUint(uint64(s.id), 10)
		if id, ok := wamp.DictString(hello.Details, "authid"); ok && id != "" {
			s.authid = id
		}
		s.authrole, s.authmethod, s.authprovider = defaultAnonymousRole, authAnonymous, providerStatic
		return true
	}
	method := pickAuthMethod(cfg, hello.Details, l)
	if method == "" {
		offered := requestedAuthMethods(hello.Details)
		r.log.Info("router: no authentication method", "realm", cfg.Name, "offered", offered,
			"remote", s.peer.Info().RemoteAddr)
		s.peer.Send(abort(wamp.URINoAuthMethod,
			fmt.Sprintf("none of the authentication methods %v is available in realm %s", offered, cfg.Name)))
		return false
	}
	host := throttleKey(s.peer.Info())
	user := ""
	if host != "" {
		authid, _ := wamp.DictString(hello.Details, "authid")
		user = host + " " + authid
	}
	if method != authAnonymous {
		if err := r.auth.throttle.wait(user, s.peer.Done()); err != nil {
			return r.authFailed(s, method, hello, err)
		}
		if err := r.auth.spray.wait(host, s.peer.Done()); err != nil {
			return r.authFailed(s, method, hello, err)
		}
	}
	a := &attempt{r: r, s: s, cfg: cfg, hello: hello}
	var out authOutcome
	var err *authError
	switch method {
	case authAnonymous:
		out = authOutcome{authid: strconv.FormatUint(uint64(s.id), 10), authrole: cfg.Anonymous.role(), provider: providerStatic}
	case authTicket:
		out, err = a.ticket()
	case authWAMPCRA:
		out, err = a.wampcra()
	case authCryptosign:
		out, err = a.cryptosign()
	}
	if err != nil {
		if err.counts {
			r.auth.throttle.failed(user)
			r.auth.spray.failed(host)
		}
		return r.authFailed(s, method, hello, err)
	}
	if !cfg.hasRole(out.authrole) {
		r.log.Info("router: authenticated to a role the realm lacks", "realm", cfg.Name, "authid", out.authid,
			"authrole", out.authrole, "authmethod", method, "remote", s.peer.Info().RemoteAddr)
		s.peer.Send(abort(wamp.URINoSuchRole, fmt.Sprintf("no role %q in realm %s", out.authrole, cfg.Name)))
		return false
	}
	s.authid, s.authrole, s.authmethod, s.authprovider = out.authid, out.authrole, method, out.provider
	s.authextra = out.authextra
	return true
}

// authenticateTrusted runs WAMP-Ticket against t's secret, whatever the
// realm's own methods, for a session of a trusted listener. Failures are
// not throttled: only processes that can reach the listener try.
func (r *Router) authenticateTrusted(s *session, hello *wamp.Hello, t *TrustedAuth) bool {
	a := &attempt{r: r, s: s, hello: hello}
	authid := a.authid()
	if !slices.Contains(requestedAuthMethods(hello.Details), authTicket) || authid == "" {
		r.log.Info("router: a trusted listener's client must give an authid and offer ticket", "realm", s.realm.name,
			"authid", authid, "remote", s.peer.Info().RemoteAddr)
		s.peer.Send(abort(wamp.URINoAuthMethod, "this endpoint takes ticket authentication with an authid only"))
		return false
	}
	m, err := a.challenge(authTicket, wamp.Dict{})
	if err != nil {
		return r.authFailed(s, authTicket, hello, err)
	}
	if !secretEqual(m.Signature, t.Ticket) || t.Ticket == "" {
		return r.authFailed(s, authTicket, hello, denied("wrong ticket on a trusted listener"))
	}
	s.authid, s.authmethod, s.authprovider, s.trusted = authid, authTicket, providerTrusted, true
	s.authrole = cmp.Or(t.Role, defaultTrustedRole)
	return true
}

// authFailed logs err and sends its ABORT, if any; it returns false.
func (r *Router) authFailed(s *session, method string, hello *wamp.Hello, err *authError) bool {
	authid, _ := wamp.DictString(hello.Details, "authid")
	args := []any{"realm", s.realm.name, "authmethod", method, "authid", authid, "remote", s.peer.Info().RemoteAddr,
		"reason", err.log}
	if err.reason == "" {
		r.log.Debug("router: authentication abandoned", args...)
		return false
	}
	r.log.Info("router: authentication failed", args...)
	s.peer.Send(abort(err.reason, err.message))
	return false
}

// requestedAuthMethods returns HELLO.Details.authmethods, the methods the
// client will perform in its order of preference; a client that names
// none asks for anonymous, as the specification implies.
func requestedAuthMethods(details wamp.Dict) []string {
	list, _ := details["authmethods"].(wamp.List)
	var methods []string
	for _, v := range list {
		if m, ok := v.(string); ok {
			methods = append(methods, m)
		}
	}
	if _, present := details["authmethods"]; !present || len(list) == 0 {
		methods = []string{authAnonymous}
	}
	return methods
}

// pickAuthMethod returns the first method the client asks for that the
// realm enables and l allows, or "".
func pickAuthMethod(cfg *RealmConfig, details wamp.Dict, l *Listener) string {
	for _, m := range requestedAuthMethods(details) {
		if cfg.enables(m) && (l == nil || len(l.AuthMethods) == 0 || slices.Contains(l.AuthMethods, m)) {
			return m
		}
	}
	return ""
}

// enables reports whether the realm offers method.
func (c *RealmConfig) enables(method string) bool {
	switch method {
	case authAnonymous:
		return c.Anonymous != nil
	case authTicket:
		return c.Ticket != nil
	case authWAMPCRA:
		return c.WAMPCRA != nil
	case authCryptosign:
		return c.Cryptosign != nil
	}
	return false
}

// hasRole reports whether a session may have role: one of the realm's
// Roles, or any role if the realm lists none or has a dynamic authorizer
// to decide what the role may do.
func (c *RealmConfig) hasRole(role string) bool {
	if role == "" {
		return false
	}
	if len(c.Roles) == 0 || c.Authorizer != "" {
		return true
	}
	return slices.ContainsFunc(c.Roles, func(r Role) bool { return r.Name == role })
}

func (a *AnonymousAuth) role() string {
	if a.Role == "" {
		return defaultAnonymousRole
	}
	return a.Role
}

// attempt is one authentication in progress.
type attempt struct {
	r     *Router
	s     *session
	cfg   *RealmConfig
	hello *wamp.Hello
}

// authid is the authid the client asks for, "" if none.
func (a *attempt) authid() string {
	id, _ := wamp.DictString(a.hello.Details, "authid")
	return id
}

// authextra is HELLO.Details.authextra, nil if none.
func (a *attempt) authextra() wamp.Dict {
	d, _ := wamp.DictDict(a.hello.Details, "authextra")
	return d
}

// challenge sends CHALLENGE and returns the AUTHENTICATE that answers it.
func (a *attempt) challenge(method string, extra wamp.Dict) (*wamp.Authenticate, *authError) {
	if err := a.s.peer.Send(&wamp.Challenge{AuthMethod: method, Extra: extra}); err != nil {
		return nil, &authError{log: "send CHALLENGE: " + err.Error()}
	}
	m, err := a.s.peer.Read()
	if err != nil {
		return nil, &authError{log: "read AUTHENTICATE: " + err.Error()}
	}
	a.r.metrics.received[m.Type()].Inc()
	switch m := m.(type) {
	case *wamp.Authenticate:
		return m, nil
	case *wamp.Abort:
		return nil, &authError{log: fmt.Sprintf("the client gave up: %s", m.Reason)}
	}
	a.r.metrics.protocolViolations.Inc()
	msg := fmt.Sprintf("expected AUTHENTICATE, got %s", m.Type())
	return nil, &authError{reason: wamp.URIProtocolViolation, message: msg, log: msg}
}

// transportDetails describes s's connection as the session meta API does.
func transportDetails(s *session) wamp.Dict {
	info := s.peer.Info()
	tr := wamp.Dict{"type": info.Transport}
	if info.Serializer != "" {
		tr["serializer"] = info.Serializer
	}
	if info.RemoteAddr != "" {
		tr["peer"] = info.RemoteAddr
	}
	return tr
}

// helloDeadline closes a connection that has not opened a session within
// the HELLO timeout: HELLO, then authentication.
type helloDeadline struct{ t *time.Timer }

func (r *Router) startHelloDeadline(peer transport.Peer) helloDeadline {
	d := r.helloTimeout()
	if d <= 0 {
		return helloDeadline{}
	}
	return helloDeadline{time.AfterFunc(d, func() {
		r.log.Info("router: handshake timed out", "remote", peer.Info().RemoteAddr, "timeout", d)
		peer.Send(abort(wamp.URITimeout, fmt.Sprintf("no session opened within %s", d)))
		peer.Close()
	})}
}

// stop stops the deadline and reports whether it had not passed: once it
// has, the connection is closing and the handshake must not go on.
func (h helloDeadline) stop() bool { return h.t == nil || h.t.Stop() }

// helloTimeout is Limits.HelloTimeout with its default: 10s; negative
// means none.
func (r *Router) helloTimeout() time.Duration {
	switch t := r.cfg.Limits.HelloTimeout; {
	case t == 0:
		return 10 * time.Second
	case t < 0:
		return 0
	default:
		return t
	}
}

package router

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/wamp"
)

// Authorization. In a realm given as a RealmConfig every PUBLISH,
// SUBSCRIBE, CALL and REGISTER is authorized against the session's
// authrole before the broker or dealer acts on it; meta procedures are
// called like any other procedure and authorized the same way. An open
// realm (realm.authz nil) costs one nil check per message.
//
// The static rules: of the role's permissions matching the URI, the most
// specific decides (see roleMatcher), and it grants the action or not;
// a role not in RealmConfig.Roles has no permission. A subscription or
// registration with a prefix or wildcard pattern is allowed only if the
// action is allowed on every URI the pattern matches (see
// roleMatcher.allowsPattern).
//
// What the static rules do not grant goes to the realm's dynamic
// authorizer if it has one (authorize_dynamic.go), and is otherwise
// refused: ERROR wamp.error.not_authorized, naming the action and URI
// (for a PUBLISH only when it asked for acknowledge; otherwise the event
// is dropped, logged at debug level and counted, as the specification
// says). Every refusal counts in
// junction_router_authorization_denied_total{action}.
//
// A testament (wamp.session.add_testament) is published by the router
// for its session, which must be allowed to publish on its topic.
//
// Disclosure: the permission deciding a call or publication may force
// the disclosure of the caller or publisher (DiscloseCaller,
// DisclosePublisher, or a dynamic answer's "disclose") or refuse a
// disclose_me request (AllowDisclose false) with
// wamp.error.option_disallowed.disclose_me.

// action is what a session asks to do with a URI.
type action uint8

const (
	actionPublish action = iota
	actionSubscribe
	actionCall
	actionRegister
	numActions
)

var actionNames = [numActions]string{"publish", "subscribe", "call", "register"}

// String returns the action's name, as the dynamic authorizer receives
// it and the denial metric labels it.
func (a action) String() string { return actionNames[a] }

// phrase is the action as error messages say it.
func (a action) phrase() string {
	switch a {
	case actionPublish:
		return "publish to topic"
	case actionSubscribe:
		return "subscribe to topic"
	case actionCall:
		return "call procedure"
	default:
		return "register procedure"
	}
}

// verdict is the outcome of authorizing one action.
type verdict struct {
	allow bool
	// disclose forces the disclosure of the caller or publisher.
	disclose bool
	// refuseDisclose refuses a disclose_me request.
	refuseDisclose bool
}

// defaultAuthorizerTimeout bounds a call to the dynamic authorizer.
const defaultAuthorizerTimeout = 5 * time.Second

// authorizer enforces the roles of a configured realm. Its roles are
// fixed at creation; its cache of dynamic answers has its own lock, a
// leaf.
type authorizer struct {
	rl    *realm
	roles map[string]*roleMatcher
	// dynamic is the dynamic authorizer procedure, "" for none.
	dynamic wamp.URI
	// timeout bounds a dynamic authorization; tests shorten it.
	timeout time.Duration
	denied  [numActions]prometheus.Counter

	mu sync.Mutex
	// cache holds the dynamic answers given with cache set, per session
	// (see authorize_dynamic.go).
	cache map[*session]map[authzKey]verdict
}

// newAuthorizer compiles the roles of cfg, which validateRoles accepted.
func newAuthorizer(rl *realm, cfg *RealmConfig) *authorizer {
	az := &authorizer{rl: rl, roles: make(map[string]*roleMatcher, len(cfg.Roles)),
		dynamic: wamp.URI(cfg.Authorizer), timeout: defaultAuthorizerTimeout,
		cache: make(map[*session]map[authzKey]verdict)}
	for _, r := range cfg.Roles {
		az.roles[r.Name] = newRoleMatcher(r)
	}
	for a := range numActions {
		az.denied[a] = rl.router.metrics.authorizationDenied.WithLabelValues(a.String())
	}
	return az
}

// decide authorizes s to take action a on uri with match policy match
// (exact for publish and call): by the static rules, then the dynamic
// authorizer. It blocks s's read loop while the authorizer answers.
func (az *authorizer) decide(s *session, a action, uri wamp.URI, match wamp.MatchPolicy) verdict {
	if v, ok := az.static(s, a, uri, match); ok || az.dynamic == "" {
		return v
	}
	return az.ask(s, a, uri, match)
}

// static returns the verdict of s's role, and whether it granted the
// action.
func (az *authorizer) static(s *session, a action, uri wamp.URI, match wamp.MatchPolicy) (verdict, bool) {
	if s.trusted {
		return verdict{allow: true}, true
	}
	if m := az.roles[s.authrole]; m != nil {
		return m.decide(a, uri, match)
	}
	return verdict{}, false
}

// refuse counts and logs a denial and returns the error message for it.
func (az *authorizer) refuse(s *session, a action, uri wamp.URI, match wamp.MatchPolicy) string {
	az.denied[a].Inc()
	az.rl.router.log.Debug("router: not authorized", "session", s.id, "realm", az.rl.name, "authid", s.authid,
		"authrole", s.authrole, "action", a.String(), "uri", uri, "match", match)
	msg := "not authorized to " + a.phrase() + " " + string(uri)
	if match != wamp.MatchExact {
		msg += " with match " + string(match)
	}
	return msg
}

// publish authorizes a PUBLISH whose publication is p, forcing p's
// disclosure if the permission says so. It reports whether p may be
// published; if not, it has answered the publisher, when it asked for
// acknowledge.
func (az *authorizer) publish(s *session, m *wamp.Publish, p *publication) bool {
	v := az.decide(s, actionPublish, m.Topic, wamp.MatchExact)
	var uri wamp.URI
	var msg string
	switch {
	case !v.allow:
		uri, msg = wamp.URINotAuthorized, az.refuse(s, actionPublish, m.Topic, wamp.MatchExact)
	case p.disclose && v.refuseDisclose:
		uri, msg = wamp.URIDiscloseMeDisallowed, az.refuseDiscloseMe(s, actionPublish, m.Topic)
	default:
		p.disclose = p.disclose || v.disclose
		return true
	}
	if ack, _ := wamp.DictBool(m.Options, "acknowledge"); ack {
		s.send(requestError(m.Request, wamp.TypePublish, uri, msg))
	}
	return false
}

// refuseDiscloseMe logs a refused disclose_me and returns the error
// message for it. It is not an authorization denial: it is not counted.
func (az *authorizer) refuseDiscloseMe(s *session, a action, uri wamp.URI) string {
	az.rl.router.log.Debug("router: disclose_me refused", "session", s.id, "realm", az.rl.name,
		"authrole", s.authrole, "action", a.String(), "uri", uri)
	return "the caller or publisher may not disclose itself on " + string(uri)
}

// call authorizes a CALL, meta procedures included, and reports whether
// the dealer may go on; if not, it has answered the caller. *disclose is
// set when the permission forces the disclosure of the caller.
func (az *authorizer) call(s *session, m *wamp.Call, disclose *bool) bool {
	v, ok := az.static(s, actionCall, m.Procedure, wamp.MatchExact)
	if !ok && az.dynamic != "" {
		// The later chunks of a progressive call are covered by the
		// first one's authorization: the authorizer is asked once.
		if az.rl.dealer.continues(s, m.Request) {
			return true
		}
		v = az.ask(s, actionCall, m.Procedure, wamp.MatchExact)
	}
	if !v.allow {
		s.send(requestError(m.Request, wamp.TypeCall, wamp.URINotAuthorized,
			az.refuse(s, actionCall, m.Procedure, wamp.MatchExact)))
		return false
	}
	if discloseMe, _ := wamp.DictBool(m.Options, "disclose_me"); v.refuseDisclose && discloseMe {
		s.send(requestError(m.Request, wamp.TypeCall, wamp.URIDiscloseMeDisallowed,
			az.refuseDiscloseMe(s, actionCall, m.Procedure)))
		return false
	}
	*disclose = v.disclose
	return true
}

// subscribe authorizes a SUBSCRIBE with match policy match and reports
// whether the broker may go on; if not, it has answered.
func (az *authorizer) subscribe(s *session, m *wamp.Subscribe, match wamp.MatchPolicy) bool {
	if az.decide(s, actionSubscribe, m.Topic, match).allow {
		return true
	}
	s.send(requestError(m.Request, wamp.TypeSubscribe, wamp.URINotAuthorized, az.refuse(s, actionSubscribe, m.Topic, match)))
	return false
}

// register authorizes a REGISTER with match policy match and reports
// whether the dealer may go on; if not, it has answered.
func (az *authorizer) register(s *session, m *wamp.Register, match wamp.MatchPolicy) bool {
	if az.decide(s, actionRegister, m.Procedure, match).allow {
		return true
	}
	s.send(requestError(m.Request, wamp.TypeRegister, wamp.URINotAuthorized, az.refuse(s, actionRegister, m.Procedure, match)))
	return false
}

// authorizeTestament reports whether s may leave a testament on topic:
// the router publishes it for s, so s must be allowed to publish there.
// It returns the error for the meta procedure to answer, nil if allowed.
func (az *authorizer) authorizeTestament(s *session, topic wamp.URI) error {
	if az.decide(s, actionPublish, topic, wamp.MatchExact).allow {
		return nil
	}
	return wamp.NewError(wamp.URINotAuthorized, az.refuse(s, actionPublish, topic, wamp.MatchExact))
}

// validateRoles checks the realm's roles and permissions: role names are
// set and unique; each permission has a match policy of "" (exact),
// "exact", "prefix" or "wildcard", a URI valid for it (by the strict
// rules if strict), at least one action or disclosure setting, and no
// other permission of its role has the same URI and match policy; the
// Authorizer, if set, is a valid procedure URI outside wamp.*. Errors
// name the role and the permission's index.
func (c *RealmConfig) validateRoles(strict bool) error {
	names := make(map[string]int, len(c.Roles))
	for i, r := range c.Roles {
		if r.Name == "" {
			return fmt.Errorf("roles[%d]: the role has no name", i)
		}
		if j, dup := names[r.Name]; dup {
			return fmt.Errorf("roles[%d]: role %q is also roles[%d]", i, r.Name, j)
		}
		names[r.Name] = i
		type key struct {
			uri   string
			match wamp.MatchPolicy
		}
		seen := make(map[key]int, len(r.Permissions))
		for j, p := range r.Permissions {
			if err := p.validate(strict); err != nil {
				return fmt.Errorf("role %q: permissions[%d]: %w", r.Name, j, err)
			}
			k := key{p.URI, permissionMatch(p)}
			if first, dup := seen[k]; dup {
				return fmt.Errorf("role %q: permissions[%d]: uri %q with match %s is also permissions[%d]",
					r.Name, j, p.URI, k.match, first)
			}
			seen[k] = j
		}
	}
	if c.Authorizer != "" {
		if u := wamp.URI(c.Authorizer); !u.Valid(strict) || reservedURI(u) {
			return fmt.Errorf("authorizer %q is not a valid procedure URI outside wamp.*", c.Authorizer)
		}
	}
	return nil
}

// validate checks one permission (see validateRoles).
func (p Permission) validate(strict bool) error {
	switch wamp.MatchPolicy(p.Match) {
	case "", wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
	default:
		return fmt.Errorf("match %q is not exact, prefix or wildcard", p.Match)
	}
	if match := permissionMatch(p); !wamp.URI(p.URI).ValidPattern(strict, match) {
		return fmt.Errorf("uri %q is not a valid URI for match %s", p.URI, match)
	}
	if !p.Call && !p.Register && !p.Publish && !p.Subscribe &&
		!p.DiscloseCaller && !p.DisclosePublisher && p.AllowDisclose == nil {
		return errors.New("grants nothing: set call, register, publish, subscribe or a disclosure setting")
	}
	return nil
}

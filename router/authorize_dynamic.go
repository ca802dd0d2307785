package router

import (
	"context"
	"errors"

	"github.com/junction-run/junction/wamp"
)

// The dynamic authorizer: RealmConfig.Authorizer names a procedure
// registered in the realm, which the router calls for whatever the
// static rules do not grant (no permission of the role grants it, or the
// role is not in RealmConfig.Roles), with
//
//	args: [details, uri, action, options]
//
// details being the session's details as wamp.session.get gives them
// (session, realm, authid, authrole, authmethod, authprovider,
// transport), uri the topic, procedure or pattern, action one of
// "publish", "subscribe", "call", "register", and options {"match":
// "exact"|"prefix"|"wildcard"} for subscribe and register, {} otherwise.
// The answer's first result is a bool (allow or not) or a dict
// {"allow": bool, "disclose": bool, "cache": bool}: disclose forces the
// disclosure of the caller or publisher; cache keeps the answer, allow
// or deny, for this session, URI, match policy and action for the
// session's life (per session rather than per role, since an authorizer
// may decide on the authid or the session's details). Anything else, an
// ERROR, no callee, or no answer within the timeout (5s) refuses the
// action, and is logged.
//
// The call blocks the read loop of the session being authorized, and no
// other: its later messages wait, in order. Its callee must be able to
// answer meanwhile, so a session is never asked to authorize itself
// (such a call fails at once, and the action is refused): the
// authorizer's own session, in particular its REGISTER of the authorizer
// procedure, must be granted by a static permission of its role.

// authzKey identifies a cached dynamic answer of one session.
type authzKey struct {
	uri    wamp.URI
	match  wamp.MatchPolicy
	action action
}

// maxCachedAuthorizations bounds one session's cached answers, so that a
// session cannot grow the router's memory by touching ever new URIs;
// past it, answers are no longer cached.
const maxCachedAuthorizations = 1024

// ask calls the dynamic authorizer, or returns its cached answer.
func (az *authorizer) ask(s *session, a action, uri wamp.URI, match wamp.MatchPolicy) verdict {
	key := authzKey{uri, match, a}
	az.mu.Lock()
	v, cached := az.cache[s][key]
	az.mu.Unlock()
	if cached {
		return v
	}
	options := wamp.Dict{}
	if a == actionSubscribe || a == actionRegister {
		options["match"] = string(match)
	}
	ctx, cancel := context.WithTimeout(context.Background(), az.timeout)
	defer cancel()
	res, _, err := az.rl.dealer.invokeInternal(ctx, s, az.dynamic,
		wamp.List{s.details(), string(uri), a.String(), options}, nil)
	log := az.rl.router.log
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = errors.New("no answer within " + az.timeout.String())
		}
		log.Warn("router: dynamic authorizer failed: action refused", "authorizer", az.dynamic,
			"session", s.id, "realm", az.rl.name, "action", a.String(), "uri", uri, "err", err)
		return verdict{}
	}
	v, keep, ok := authorizerAnswer(res)
	if !ok {
		log.Warn("router: dynamic authorizer answered neither a bool nor a dict with allow: action refused",
			"authorizer", az.dynamic, "session", s.id, "realm", az.rl.name, "action", a.String(), "uri", uri,
			"answer", res)
		return verdict{}
	}
	if keep {
		az.mu.Lock()
		c := az.cache[s]
		if c == nil {
			c = make(map[authzKey]verdict)
			az.cache[s] = c
		}
		if len(c) < maxCachedAuthorizations {
			c[key] = v
		}
		az.mu.Unlock()
	}
	return v
}

// authorizerAnswer reads the dynamic authorizer's results: the verdict,
// whether to cache it, and whether the answer was well formed.
func authorizerAnswer(res wamp.List) (v verdict, cache, ok bool) {
	if len(res) == 0 {
		return verdict{}, false, false
	}
	switch r := res[0].(type) {
	case bool:
		return verdict{allow: r}, false, true
	case wamp.Dict:
		allow, ok := r["allow"].(bool)
		if !ok {
			return verdict{}, false, false
		}
		v.allow = allow
		v.disclose, _ = wamp.DictBool(r, "disclose")
		cache, _ = wamp.DictBool(r, "cache")
		return v, cache, true
	}
	return verdict{}, false, false
}

// forget drops s's cached answers, when it leaves.
func (az *authorizer) forget(s *session) {
	az.mu.Lock()
	delete(az.cache, s)
	az.mu.Unlock()
}

// continues reports whether a CALL from s with this request ID is a
// later chunk of a progressive call, in flight or ended.
func (d *dealer) continues(s *session, request wamp.ID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	sc := d.bySession[s]
	if sc == nil {
		return false
	}
	if sc.calling[request] != nil {
		return true
	}
	_, ended := sc.ended[request]
	return ended
}

package router

import (
	"sync"

	"github.com/junction-run/junction/wamp"
)

// realm is a routing namespace: sessions of one realm see only each
// other's topics and procedures.
type realm struct {
	name   wamp.URI
	router *Router
	// cfg is the realm's authentication and authorization, nil for an
	// open realm (anonymous, every permission).
	cfg    *RealmConfig
	broker *broker
	dealer *dealer
	// authz enforces cfg's roles; nil for an open realm, which is how
	// the broker and dealer tell that nothing needs authorizing.
	authz *authorizer

	mu       sync.RWMutex
	sessions map[wamp.ID]*session
	// tracked counts the realm's sessions for Limits.MaxSessionsPerRealm,
	// from the router's track to its untrack; guarded by Router.mu.
	tracked int
	// counts are RealmStats' counters.
	counts realmCounters
}

func newRealm(r *Router, name wamp.URI, cfg *RealmConfig) *realm {
	rl := &realm{name: name, router: r, cfg: cfg, sessions: make(map[wamp.ID]*session)}
	rl.broker = newBroker(rl)
	rl.dealer = newDealer(rl)
	if cfg != nil {
		rl.authz = newAuthorizer(rl, cfg)
	}
	return rl
}

// add lists a session of the realm.
func (rl *realm) add(s *session) {
	rl.mu.Lock()
	rl.sessions[s.id] = s
	rl.mu.Unlock()
}

// remove unlists a session and reports whether it was listed.
func (rl *realm) remove(s *session) bool {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	_, was := rl.sessions[s.id]
	delete(rl.sessions, s.id)
	return was
}

// leave removes a session and announces it. The broker and dealer have
// already forgotten it.
func (rl *realm) leave(s *session) {
	if rl.remove(s) {
		rl.metaEvent("wamp.session.on_leave", s.id, s.authid, s.authrole)
	}
	if rl.authz != nil {
		rl.authz.forget(s)
	}
}

// session returns the realm's session with this ID, or nil.
func (rl *realm) session(id wamp.ID) *session {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	return rl.sessions[id]
}

// sessionList returns the realm's sessions, in no particular order.
func (rl *realm) sessionList() []*session {
	rl.mu.RLock()
	defer rl.mu.RUnlock()
	list := make([]*session, 0, len(rl.sessions))
	for _, s := range rl.sessions {
		list = append(list, s)
	}
	return list
}

// metaEvent publishes a meta event of the realm, from the router itself.
// It must be called with no broker or dealer lock held.
func (rl *realm) metaEvent(topic wamp.URI, args ...any) {
	rl.router.changes.Add(1)
	rl.broker.publishEvent(nil, topic, nil, wamp.Payload{Args: args})
}

// entryEvent publishes a subscription or registration meta event: kind is
// "subscription" or "registration", event one of on_create, on_subscribe
// (on_register), on_unsubscribe (on_unregister) and on_delete.
func (rl *realm) entryEvent(kind, event string, s *session, e *entry) {
	if s.remote != nil {
		rl.router.changes.Add(1)
		return // its own node announces it
	}
	topic := wamp.URI("wamp." + kind + "." + event)
	if event == "on_create" {
		rl.metaEvent(topic, s.id, e.describe())
		return
	}
	rl.metaEvent(topic, s.id, e.id)
}

// welcomeDetails announces exactly the roles and features implemented.
func welcomeDetails(s *session) wamp.Dict {
	d := wamp.Dict{
		"realm":        string(s.realm.name),
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"roles": wamp.Dict{
			"broker": wamp.Dict{"features": features(brokerFeatures)},
			"dealer": wamp.Dict{"features": features(dealerFeatures)},
		},
	}
	if s.authextra != nil {
		d["authextra"] = s.authextra
	}
	return d
}

// brokerFeatures and dealerFeatures are the features announced in
// WELCOME: each is listed once it is implemented and tested.
var (
	brokerFeatures = []string{
		"publisher_exclusion",
		"publisher_identification",
		"subscriber_blackwhite_listing",
		"pattern_based_subscription",
		"event_retention",
		"event_history",
		"session_meta_api",
		"subscription_meta_api",
	}
	dealerFeatures = []string{
		"progressive_call_results",
		"progressive_call_invocations",
		"call_timeout",
		"call_canceling",
		"caller_identification",
		"pattern_based_registration",
		"shared_registration",
		"session_meta_api",
		"registration_meta_api",
		"testament_meta_api",
	}
)

func features(names []string) wamp.Dict {
	d := make(wamp.Dict, len(names))
	for _, n := range names {
		d[n] = true
	}
	return d
}

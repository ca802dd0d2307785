package router

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/junction-run/junction/wamp"
)

// Testaments (Advanced Profile, "Testament"): events a session leaves
// with the router, which publishes them for it when the session ends, so
// that others learn of an end the client could not announce itself.
//
// The specification has two scopes: "detached", published when a session
// loses its transport but could still be resumed, and "destroyed", when
// it is gone for good. Junction has no session resumption, so a session
// is detached and destroyed at the same moment, when it leaves the realm:
// after a GOODBYE from either side, an ABORT, a cut connection, a kill or
// the router stopping. The two buckets are still kept apart, so that
// wamp.session.flush_testaments empties one at a time, and the detached
// ones are published first, as the specification requires of a router
// without resumption.

// Testament scopes.
const (
	scopeDetached  = "detached"
	scopeDestroyed = "destroyed"
)

// testament is one event to publish when its session ends.
type testament struct {
	topic   wamp.URI
	options wamp.Dict // PUBLISH options
	payload wamp.Payload
}

// testaments are a session's two buckets, in the order they were added.
// Meta calls run on the session's own goroutine, as does leave, so they
// never race today; the mutex keeps it so if calls are ever served
// elsewhere.
type testaments struct {
	mu        sync.Mutex
	detached  []testament
	destroyed []testament
}

func (t *testaments) bucket(scope string) *[]testament {
	if scope == scopeDetached {
		return &t.detached
	}
	return &t.destroyed
}

// maxTestaments bounds each of a session's buckets, so that a client
// cannot make the router hold an unbounded list for it.
const maxTestaments = 100

// add stores ts, or reports false if the bucket is full.
func (t *testaments) add(scope string, ts testament) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(scope)
	if len(*b) >= maxTestaments {
		return false
	}
	*b = append(*b, ts)
	return true
}

// flush empties one bucket and returns how many testaments it held.
func (t *testaments) flush(scope string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucket(scope)
	n := len(*b)
	*b = nil
	return n
}

// take empties both buckets and returns their testaments, detached
// first.
func (t *testaments) take() []testament {
	t.mu.Lock()
	defer t.mu.Unlock()
	all := slices.Concat(t.detached, t.destroyed)
	t.detached, t.destroyed = nil, nil
	return all
}

// metaAddTestament is wamp.session.add_testament(topic, args, kwargs)
// with keyword arguments publish_options and scope. It returns nothing,
// as the specification says.
func metaAddTestament(rl *realm, caller *session, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	topic, err := uriArg(args, 0, "topic")
	if err != nil {
		return nil, nil, err
	}
	// The router publishes testaments itself: a reserved topic would let a
	// client forge meta events.
	if !topic.Valid(rl.router.cfg.StrictURIs) || reservedURI(topic) {
		return nil, nil, wamp.NewError(wamp.URIInvalidURI, "topic must be a valid URI outside wamp.*")
	}
	// The router publishes for the session: it must be allowed to.
	if az := rl.authz; az != nil {
		if err := az.authorizeTestament(caller, topic); err != nil {
			return nil, nil, err
		}
	}
	var ts testament
	ts.topic = topic
	var ok bool
	if ts.payload.Args, ok = optList(optArg(args, 1)); !ok {
		return nil, nil, argError("args must be a list")
	}
	if ts.payload.Kwargs, ok = optDict(optArg(args, 2)); !ok {
		return nil, nil, argError("kwargs must be a dict")
	}
	opts, ok := optDict(kwargs["publish_options"])
	if !ok {
		return nil, nil, argError("publish_options must be a dict")
	}
	if opts != nil {
		// Refused now rather than dropped when the session ends.
		if err := checkPublishOptions(opts); err != nil {
			return nil, nil, argError("publish_options: " + err.Error())
		}
		// Nobody is left to acknowledge to. The rest (exclude, eligible
		// and the like) is the broker's to honour; exclude_me means
		// nothing for an event the router publishes.
		ts.options = maps.Clone(opts)
		delete(ts.options, "acknowledge")
	}
	scope, err := testamentScope(kwargs)
	if err != nil {
		return nil, nil, err
	}
	if !caller.testaments.add(scope, ts) {
		return nil, nil, argError(fmt.Sprintf("a session may leave at most %d testaments per scope", maxTestaments))
	}
	caller.router.clusterDelta(willOp(caller))
	return nil, nil, nil
}

// metaFlushTestaments is wamp.session.flush_testaments with keyword
// argument scope. The specification has it return nothing; it returns the
// number of testaments removed, as Crossbar.io does, which a client that
// expects nothing ignores.
func metaFlushTestaments(_ *realm, caller *session, _ wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	scope, err := testamentScope(kwargs)
	if err != nil {
		return nil, nil, err
	}
	n := caller.testaments.flush(scope)
	caller.router.clusterDelta(willOp(caller))
	return wamp.List{int64(n)}, nil, nil
}

// testamentScope reads the scope keyword argument; the default is
// "destroyed".
func testamentScope(kwargs wamp.Dict) (string, error) {
	v, ok := kwargs["scope"]
	if !ok || v == nil {
		return scopeDestroyed, nil
	}
	switch s, _ := v.(string); s {
	case scopeDetached, scopeDestroyed:
		return s, nil
	}
	return "", argError(`scope must be "detached" or "destroyed"`)
}

// publishTestaments publishes what s left, detached scope first, as the
// router (no publisher) with the stored PUBLISH options. leave calls it
// once s has no subscription left, so that s, whose connection is ending,
// is not sent its own testament, and before wamp.session.on_leave, so
// that a client watching both sees the testament first. It must be called
// with no broker lock held.
func (s *session) publishTestaments() {
	for _, ts := range s.testaments.take() {
		s.realm.broker.publishEvent(nil, ts.topic, ts.options, ts.payload)
	}
}

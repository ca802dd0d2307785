package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// The WAMP meta API: procedures under wamp.session, wamp.subscription
// and wamp.registration that the router answers itself, in-process, on
// the caller's goroutine. They are not registrations: no
// wamp.registration.* procedure lists them, and no client may register a
// reserved URI (see reservedURI).

// metaHandler answers one meta procedure. An error that is a *wamp.Error
// reaches the caller with its URI and arguments; any other error is
// reported as wamp.error.runtime_error.
type metaHandler func(rl *realm, caller *session, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)

// metaProcedures is the meta API. It is never modified.
var metaProcedures = map[wamp.URI]metaHandler{
	"wamp.session.count":            metaSessionCount,
	"wamp.session.list":             metaSessionList,
	"wamp.session.get":              metaSessionGet,
	"wamp.session.kill":             metaSessionKill,
	"wamp.session.kill_by_authid":   metaKillBy("authid", func(s *session) string { return s.authid }),
	"wamp.session.kill_by_authrole": metaKillBy("authrole", func(s *session) string { return s.authrole }),
	"wamp.session.kill_all":         metaKillAll,
	"wamp.session.add_testament":    metaAddTestament,
	"wamp.session.flush_testaments": metaFlushTestaments,

	"wamp.subscription.list":              subscriptionMeta.list,
	"wamp.subscription.lookup":            subscriptionMeta.lookup,
	"wamp.subscription.match":             subscriptionMeta.match,
	"wamp.subscription.get":               subscriptionMeta.get,
	"wamp.subscription.list_subscribers":  subscriptionMeta.listMembers,
	"wamp.subscription.count_subscribers": subscriptionMeta.countMembers,
	"wamp.subscription.get_events":        metaGetEvents,

	"wamp.registration.list":          registrationMeta.list,
	"wamp.registration.lookup":        registrationMeta.lookup,
	"wamp.registration.match":         registrationMeta.match,
	"wamp.registration.get":           registrationMeta.get,
	"wamp.registration.list_callees":  registrationMeta.listMembers,
	"wamp.registration.count_callees": registrationMeta.countMembers,
}

// uriRuntimeError reports a meta procedure failing for a reason other
// than its arguments.
const uriRuntimeError wamp.URI = "wamp.error.runtime_error"

// reservedURI reports whether uri belongs to WAMP itself: its first
// component is "wamp". The specification keeps those URIs for the
// protocol, so a client may neither register them (the dealer answers
// wamp.error.invalid_uri, as Crossbar.io does) nor have the router publish
// on them for it (testaments).
func reservedURI(uri wamp.URI) bool {
	return uri == "wamp" || strings.HasPrefix(string(uri), "wamp.")
}

// callMeta answers m if it calls a meta procedure, with a RESULT or an
// ERROR, and reports whether it did; the dealer routes m otherwise.
func (rl *realm) callMeta(s *session, m *wamp.Call) bool {
	if !reservedURI(m.Procedure) {
		return false // most calls: no map lookup
	}
	h := metaProcedures[m.Procedure]
	if h == nil {
		return false
	}
	var res wamp.Payload
	args, kwargs, err := codec.Values(&m.Payload)
	if err != nil {
		err = wamp.NewError(wamp.URIInvalidArgument, "undecodable arguments: "+err.Error())
	} else {
		res.Args, res.Kwargs, err = h(rl, s, args, kwargs)
	}
	if err == nil {
		s.send(&wamp.Result{Request: m.Request, Details: wamp.Dict{}, Payload: res})
		return true
	}
	var we *wamp.Error
	if !errors.As(err, &we) {
		rl.router.log.Warn("router: meta procedure failed", "procedure", m.Procedure, "session", s.id, "err", err)
		we = wamp.NewError(uriRuntimeError, err.Error())
	}
	s.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: m.Request, Details: wamp.Dict{},
		Error: we.URI, Payload: wamp.Payload{Args: we.Args, Kwargs: we.Kwargs}})
	return true
}

func metaSessionCount(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	ids, err := filteredSessions(rl, args)
	return wamp.List{int64(len(ids))}, nil, err
}

func metaSessionList(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	ids, err := filteredSessions(rl, args)
	return wamp.List{idList(ids)}, nil, err
}

// filteredSessions returns the sorted IDs of the realm's sessions whose
// authrole is in the optional filter_authroles list, args[0].
func filteredSessions(rl *realm, args wamp.List) ([]wamp.ID, error) {
	list, ok := optList(optArg(args, 0))
	if !ok {
		return nil, argError("filter_authroles must be a list of strings")
	}
	// A null filter is no filter; an empty list admits nobody.
	filter := optArg(args, 0) != nil
	roles := make([]string, 0, len(list))
	for _, v := range list {
		r, ok := v.(string)
		if !ok {
			return nil, argError("filter_authroles must be a list of strings")
		}
		roles = append(roles, r)
	}
	var ids []wamp.ID
	for _, s := range rl.sessionList() {
		if !filter || slices.Contains(roles, s.authrole) {
			ids = append(ids, s.id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func metaSessionGet(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	id, err := idArg(args, 0, "session")
	if err != nil {
		return nil, nil, err
	}
	s := rl.session(id)
	if s == nil {
		return nil, nil, noSuchSession(id)
	}
	return wamp.List{s.details()}, nil, nil
}

// metaSessionKill closes another session. The caller's own ID is
// refused with wamp.error.no_such_session, as the specification asks:
// there is no other session with that ID.
func metaSessionKill(rl *realm, caller *session, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	id, err := idArg(args, 0, "session")
	if err != nil {
		return nil, nil, err
	}
	reason, message, err := closeReason(rl, kwargs)
	if err != nil {
		return nil, nil, err
	}
	s := rl.session(id)
	if s == nil || s == caller {
		return nil, nil, noSuchSession(id)
	}
	s.kill(reason, message)
	return nil, nil, nil
}

// metaKillBy returns wamp.session.kill_by_authid or kill_by_authrole:
// it closes every session but the caller whose key is args[0], and
// returns how many.
func metaKillBy(name string, key func(*session) string) metaHandler {
	return func(rl *realm, caller *session, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
		want, err := stringArg(args, 0, name)
		if err != nil {
			return nil, nil, err
		}
		reason, message, err := closeReason(rl, kwargs)
		if err != nil {
			return nil, nil, err
		}
		n := rl.killWhere(caller, reason, message, func(s *session) bool { return key(s) == want })
		return wamp.List{int64(n)}, nil, nil
	}
}

func metaKillAll(rl *realm, caller *session, _ wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	reason, message, err := closeReason(rl, kwargs)
	if err != nil {
		return nil, nil, err
	}
	n := rl.killWhere(caller, reason, message, func(*session) bool { return true })
	return wamp.List{int64(n)}, nil, nil
}

// killWhere kills the realm's sessions, the caller excepted, for which
// match holds, and returns how many.
func (rl *realm) killWhere(caller *session, reason wamp.URI, message string, match func(*session) bool) int {
	n := 0
	for _, s := range rl.sessionList() {
		if s != caller && match(s) {
			s.kill(reason, message)
			n++
		}
	}
	return n
}

// closeReason reads the reason and message keyword arguments of the kill
// procedures. The reason defaults to wamp.close.normal, as the
// specification says, and the message to none.
func closeReason(rl *realm, kwargs wamp.Dict) (wamp.URI, string, error) {
	reason := wamp.URICloseNormal
	if v, ok := kwargs["reason"]; ok && v != nil {
		r, ok := asURI(v)
		if !ok || !r.Valid(rl.router.cfg.StrictURIs) {
			return "", "", wamp.NewError(wamp.URIInvalidURI, "reason must be a valid URI")
		}
		reason = r
	}
	var message string
	if v, ok := kwargs["message"]; ok && v != nil {
		if message, ok = v.(string); !ok {
			return "", "", argError("message must be a string")
		}
	}
	return reason, message, nil
}

// kill closes s from the router's side: GOODBYE now, and the connection
// closed if the client has not answered within Config.GoodbyeTimeout, so
// that a killed session goes away even if its client never replies. The
// goroutine waiting for that lives no longer than the session's
// connection.
func (s *session) kill(reason wamp.URI, message string) {
	if !s.goodbye(reason, message) {
		return // already closing: its own wait is running
	}
	timeout := s.router.cfg.GoodbyeTimeout
	go func() {
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-s.peer.Done():
		case <-t.C:
			s.router.log.Info("router: killed session did not answer GOODBYE: closing it", "session", s.id,
				"realm", s.realm.name, "timeout", timeout)
			s.peer.Close()
		}
	}()
}

func noSuchSession(id wamp.ID) error {
	return wamp.NewError(wamp.URINoSuchSession, fmt.Sprintf("no other session with ID %d in this realm", id))
}

// entryMeta serves the meta procedures of one URI index, the broker's
// subscriptions or the dealer's registrations: one implementation for
// both sides.
type entryMeta struct {
	kind   string   // "subscription" or "registration"
	noSuch wamp.URI // the error for an unknown ID
	// matchAll: wamp.subscription.match lists every subscription an event
	// goes to; wamp.registration.match gives the one registration a call
	// is routed to.
	matchAll bool
	// view runs fn with the index locked. fn must not call out: it runs
	// under the broker's or dealer's lock.
	view func(rl *realm, fn func(*uriIndex))
}

var (
	subscriptionMeta = entryMeta{kind: "subscription", noSuch: wamp.URINoSuchSubscription, matchAll: true,
		view: func(rl *realm, fn func(*uriIndex)) {
			b := rl.broker
			b.mu.RLock()
			defer b.mu.RUnlock()
			fn(b.subs)
		}}
	registrationMeta = entryMeta{kind: "registration", noSuch: wamp.URINoSuchRegistration,
		view: func(rl *realm, fn func(*uriIndex)) {
			d := rl.dealer
			d.mu.Lock()
			defer d.mu.Unlock()
			fn(d.regs)
		}}
)

// list returns {exact: [...], prefix: [...], wildcard: [...]}.
func (em entryMeta) list(rl *realm, _ *session, _ wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	lists := wamp.Dict{}
	em.view(rl, func(ix *uriIndex) {
		for _, p := range []wamp.MatchPolicy{wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard} {
			lists[string(p)] = idList(ix.ids(p))
		}
	})
	return wamp.List{lists}, nil, nil
}

// lookup returns the ID of the entry for args[0] with the match policy of
// the options args[1], or null.
func (em entryMeta) lookup(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	uri, err := uriArg(args, 0, "uri")
	if err != nil {
		return nil, nil, err
	}
	options, ok := optDict(optArg(args, 1))
	if !ok {
		return nil, nil, argError("options must be a dict")
	}
	match, ok := matchPolicy(options)
	if !ok {
		return nil, nil, argError(`match must be "exact", "prefix" or "wildcard"`)
	}
	var id any
	em.view(rl, func(ix *uriIndex) {
		if e := ix.lookup(uri, match); e != nil {
			id = e.id
		}
	})
	return wamp.List{id}, nil, nil
}

// match returns, for subscriptions, the IDs of every subscription
// matching args[0], and for registrations the ID of the one a call would
// be routed to; null if none.
func (em entryMeta) match(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	uri, err := uriArg(args, 0, "uri")
	if err != nil {
		return nil, nil, err
	}
	var found any
	em.view(rl, func(ix *uriIndex) {
		if !em.matchAll {
			if e := ix.best(uri); e != nil {
				found = e.id
			}
		} else if ids := ix.matching(uri); len(ids) > 0 {
			found = idList(ids)
		}
	})
	return wamp.List{found}, nil, nil
}

func (em entryMeta) get(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	var details wamp.Dict
	err := em.withEntry(rl, args, func(e *entry) { details = e.describe() })
	return wamp.List{details}, nil, err
}

func (em entryMeta) listMembers(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	var ids []wamp.ID
	err := em.withEntry(rl, args, func(e *entry) { ids = e.memberIDs() })
	return wamp.List{idList(ids)}, nil, err
}

func (em entryMeta) countMembers(rl *realm, _ *session, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	var n int
	err := em.withEntry(rl, args, func(e *entry) { n = len(e.sessions()) })
	return wamp.List{int64(n)}, nil, err
}

// withEntry runs fn, under the index's lock, on the entry whose ID is
// args[0].
func (em entryMeta) withEntry(rl *realm, args wamp.List, fn func(*entry)) error {
	id, err := idArg(args, 0, em.kind)
	if err != nil {
		return err
	}
	found := false
	em.view(rl, func(ix *uriIndex) {
		if e := ix.get(id); e != nil {
			found = true
			fn(e)
		}
	})
	if !found {
		return wamp.NewError(em.noSuch, fmt.Sprintf("no %s with ID %d", em.kind, id))
	}
	return nil
}

// idList returns ids as a WAMP list, empty rather than nil.
func idList(ids []wamp.ID) wamp.List {
	l := make(wamp.List, len(ids))
	for i, id := range ids {
		l[i] = id
	}
	return l
}

func argError(message string) error {
	return wamp.NewError(wamp.URIInvalidArgument, message)
}

// optArg returns args[i], or nil if it is absent.
func optArg(args wamp.List, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// optList returns an optional list argument, nil if it is absent (v is
// nil); false if it is something else.
func optList(v any) (wamp.List, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case wamp.List:
		return v, true
	}
	return nil, false
}

// optDict returns an optional dict argument, nil if it is absent (v is
// nil); false if it is something else.
func optDict(v any) (wamp.Dict, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case wamp.Dict:
		return v, true
	}
	return nil, false
}

func idArg(args wamp.List, i int, name string) (wamp.ID, error) {
	v := optArg(args, i)
	if v == nil {
		return 0, argError(fmt.Sprintf("missing argument %d, %s", i, name))
	}
	// An in-process caller may pass a wamp.ID as it is.
	if id, ok := v.(wamp.ID); ok && id <= wamp.MaxID {
		return id, nil
	}
	id, ok := wamp.AsID(v)
	if !ok {
		return 0, argError(fmt.Sprintf("argument %d, %s, must be an ID", i, name))
	}
	return id, nil
}

func stringArg(args wamp.List, i int, name string) (string, error) {
	v := optArg(args, i)
	if v == nil {
		return "", argError(fmt.Sprintf("missing argument %d, %s", i, name))
	}
	s, ok := asURI(v)
	if !ok {
		return "", argError(fmt.Sprintf("argument %d, %s, must be a string", i, name))
	}
	return string(s), nil
}

func uriArg(args wamp.List, i int, name string) (wamp.URI, error) {
	s, err := stringArg(args, i, name)
	return wamp.URI(s), err
}

// asURI accepts a string, or a wamp.URI from an in-process caller.
func asURI(v any) (wamp.URI, bool) {
	switch v := v.(type) {
	case string:
		return wamp.URI(v), true
	case wamp.URI:
		return v, true
	}
	return "", false
}

package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// metaCall calls a procedure and returns its RESULT, or its ERROR.
func (p *peer) metaCall(proc wamp.URI, args wamp.List, kwargs wamp.Dict) (*wamp.Result, *wamp.ErrorMessage) {
	p.t.Helper()
	req := p.req.Next()
	p.send(&wamp.Call{Request: req, Procedure: proc, Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
	switch m := p.next().(type) {
	case *wamp.Result:
		if m.Request != req {
			p.t.Fatalf("%s: RESULT for request %d, want %d", proc, m.Request, req)
		}
		return m, nil
	case *wamp.ErrorMessage:
		if m.Request != req || m.RequestType != wamp.TypeCall {
			p.t.Fatalf("%s: ERROR for %s %d, want CALL %d", proc, m.RequestType, m.Request, req)
		}
		return nil, m
	default:
		p.t.Fatalf("%s: got %s %#v, want RESULT or ERROR", proc, m.Type(), m)
	}
	return nil, nil
}

// meta calls a procedure that must succeed and returns its results.
func (p *peer) meta(proc wamp.URI, args wamp.List, kwargs wamp.Dict) wamp.List {
	p.t.Helper()
	res, e := p.metaCall(proc, args, kwargs)
	if e != nil {
		p.t.Fatalf("%s%v: ERROR %s %v", proc, args, e.Error, e.Args)
	}
	return res.Args
}

// metaFails calls a procedure that must fail with uri.
func (p *peer) metaFails(uri wamp.URI, proc wamp.URI, args wamp.List, kwargs wamp.Dict) {
	p.t.Helper()
	res, e := p.metaCall(proc, args, kwargs)
	if e == nil {
		p.t.Fatalf("%s%v %v: RESULT %v, want ERROR %s", proc, args, kwargs, res.Args, uri)
	}
	if e.Error != uri {
		p.t.Fatalf("%s%v %v: ERROR %s %v, want %s", proc, args, kwargs, e.Error, e.Args, uri)
	}
}

// enter joins realm1 like join, and returns once the realm lists the
// session: the router registers a session just after sending WELCOME, so
// that another session could otherwise not find it yet.
func (h *harness) enter(kind string) *peer {
	h.t.Helper()
	p := h.join(kind)
	h.waitListed(p, true)
	return p
}

// joinAuthid is enter with an authid of the session's choosing.
func (h *harness) joinAuthid(kind, authid string) *peer {
	h.t.Helper()
	p := h.connect(kind)
	roles := wamp.Dict{"subscriber": wamp.Dict{}, "publisher": wamp.Dict{}, "caller": wamp.Dict{}, "callee": wamp.Dict{}}
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"authid": authid, "roles": roles}})
	p.id = expect[*wamp.Welcome](p).Session
	h.waitListed(p, true)
	return p
}

// waitListed waits until realm1 lists p's session, or no longer does:
// a client that closes its connection has not left the realm yet.
func (h *harness) waitListed(p *peer, listed bool) {
	h.t.Helper()
	rl := h.r.realm("realm1")
	for deadline := time.Now().Add(5 * time.Second); (rl.session(p.id) != nil) != listed; {
		if time.Now().After(deadline) {
			h.t.Fatalf("session %d: listed is not %v", p.id, listed)
		}
		time.Sleep(time.Millisecond)
	}
}

// setAuthrole gives p's session another authrole, so that the meta
// filters can be tested with sessions of several roles in one open realm
// (authentication itself is tested in auth_test.go).
// The round trip first makes sure the router has finished joining the
// session; every later read of the field is caused by a later message.
func (h *harness) setAuthrole(p *peer, role string) {
	h.t.Helper()
	p.meta("wamp.session.count", nil, nil)
	h.r.realm("realm1").session(p.id).authrole = role
}

func (p *peer) subscribeWith(topic wamp.URI, opts wamp.Dict) wamp.ID {
	p.t.Helper()
	req := p.req.Next()
	p.send(&wamp.Subscribe{Request: req, Options: opts, Topic: topic})
	return expect[*wamp.Subscribed](p).Subscription
}

// leaveCleanly says GOODBYE and waits for the session to be gone.
func (p *peer) leaveCleanly() {
	p.t.Helper()
	p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseNormal})
	expect[*wamp.Goodbye](p)
	p.ended()
}

// toID reads an ID as any serializer, or the in-process pipe, delivers
// it.
func toID(t *testing.T, v any) wamp.ID {
	t.Helper()
	if id, ok := v.(wamp.ID); ok {
		return id
	}
	id, ok := wamp.AsID(v)
	if !ok {
		t.Fatalf("%#v (%T) is not an ID", v, v)
	}
	return id
}

// toIDs reads a list of IDs, sorted.
func toIDs(t *testing.T, v any) []wamp.ID {
	t.Helper()
	l, ok := v.(wamp.List)
	if !ok {
		t.Fatalf("%#v (%T) is not a list", v, v)
	}
	ids := []wamp.ID{}
	for _, x := range l {
		ids = append(ids, toID(t, x))
	}
	slices.Sort(ids)
	return ids
}

func toInt(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := wamp.AsInt64(v)
	if !ok {
		t.Fatalf("%#v (%T) is not an integer", v, v)
	}
	return n
}

func sortedIDs(ids ...wamp.ID) []wamp.ID {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	if ids == nil {
		ids = []wamp.ID{}
	}
	return ids
}

// checkSessions checks wamp.session.count and wamp.session.list, with
// args as their arguments.
func checkSessions(t *testing.T, p *peer, args wamp.List, want ...wamp.ID) {
	t.Helper()
	if n := toInt(t, p.meta("wamp.session.count", args, nil)[0]); n != int64(len(want)) {
		t.Errorf("wamp.session.count%v = %d, want %d", args, n, len(want))
	}
	if got := toIDs(t, p.meta("wamp.session.list", args, nil)[0]); !slices.Equal(got, sortedIDs(want...)) {
		t.Errorf("wamp.session.list%v = %v, want %v", args, got, sortedIDs(want...))
	}
}

func TestMetaSessionCountListGet(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, Config{})
			caller := h.enter(kind)
			other := h.enter("json")
			alice := h.joinAuthid("local", "alice")
			checkSessions(t, caller, nil, caller.id, other.id, alice.id)

			d, ok := caller.meta("wamp.session.get", wamp.List{alice.id}, nil)[0].(wamp.Dict)
			if !ok {
				t.Fatal("wamp.session.get did not return a dict")
			}
			if toID(t, d["session"]) != alice.id || d["authid"] != "alice" || d["authrole"] != "anonymous" ||
				d["authmethod"] != "anonymous" || d["authprovider"] != "static" || d["realm"] != "realm1" {
				t.Errorf("details %v", d)
			}
			if tr, _ := d["transport"].(wamp.Dict); tr["type"] != "local" {
				t.Errorf("transport %v, want type local", d["transport"])
			}
			own, _ := caller.meta("wamp.session.get", wamp.List{caller.id}, nil)[0].(wamp.Dict)
			if toID(t, own["session"]) != caller.id || own["authid"] == "" {
				t.Errorf("own details %v", own)
			}

			other.leaveCleanly()
			checkSessions(t, caller, nil, caller.id, alice.id)
			caller.metaFails(wamp.URINoSuchSession, "wamp.session.get", wamp.List{other.id}, nil)
			alice.p.Close() // no GOODBYE
			h.waitListed(alice, false)
			checkSessions(t, caller, nil, caller.id)
		})
	}
}

func TestMetaSessionFilterAuthroles(t *testing.T) {
	h := newHarness(t, Config{})
	caller := h.enter("json")
	admin, user := h.enter("msgpack"), h.enter("local")
	h.setAuthrole(admin, "admin")
	h.setAuthrole(user, "user")
	for _, tc := range []struct {
		filter any
		want   []wamp.ID
	}{
		{wamp.List{"admin"}, []wamp.ID{admin.id}},
		{wamp.List{"admin", "user"}, []wamp.ID{admin.id, user.id}},
		{wamp.List{"anonymous"}, []wamp.ID{caller.id}},
		{wamp.List{"nobody"}, nil},
		{wamp.List{}, nil},
		{nil, []wamp.ID{caller.id, admin.id, user.id}}, // null: no filter
	} {
		checkSessions(t, caller, wamp.List{tc.filter}, tc.want...)
	}
	for _, bad := range []any{"admin", wamp.List{int64(1)}, wamp.Dict{"admin": true}} {
		caller.metaFails(wamp.URIInvalidArgument, "wamp.session.count", wamp.List{bad}, nil)
		caller.metaFails(wamp.URIInvalidArgument, "wamp.session.list", wamp.List{bad}, nil)
	}
}

func TestMetaSessionGetErrors(t *testing.T) {
	h := newHarness(t, Config{Realms: []string{"realm1", "other"}})
	p := h.enter("cbor")
	elsewhere := h.connect("json")
	elsewhere.send(&wamp.Hello{Realm: "other", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
	otherRealm := expect[*wamp.Welcome](elsewhere).Session

	for _, tc := range []struct {
		args wamp.List
		uri  wamp.URI
	}{
		{nil, wamp.URIInvalidArgument},
		{wamp.List{nil}, wamp.URIInvalidArgument},
		{wamp.List{"1"}, wamp.URIInvalidArgument},
		{wamp.List{int64(-1)}, wamp.URIInvalidArgument},
		{wamp.List{1.5}, wamp.URIInvalidArgument},
		{wamp.List{uint64(wamp.MaxID + 1)}, wamp.URIInvalidArgument},
		{wamp.List{wamp.ID(wamp.MaxID)}, wamp.URINoSuchSession},
		{wamp.List{otherRealm}, wamp.URINoSuchSession}, // sessions of another realm are invisible
	} {
		p.metaFails(tc.uri, "wamp.session.get", tc.args, nil)
	}
	// The session goes on.
	checkSessions(t, p, nil, p.id)
}

func TestMetaSessionKill(t *testing.T) {
	h := newHarness(t, Config{})
	killer := h.enter("json")
	watcher := h.enter("cbor")
	onLeave := watcher.subscribe("wamp.session.on_leave")
	for _, kind := range kinds {
		victim := h.enter(kind)
		if res := killer.meta("wamp.session.kill", wamp.List{victim.id},
			wamp.Dict{"reason": "com.example.kicked", "message": "out you go"}); len(res) != 0 {
			t.Errorf("%s: wamp.session.kill returned %v, want nothing", kind, res)
		}
		g := expect[*wamp.Goodbye](victim)
		if g.Reason != "com.example.kicked" || g.Details["message"] != "out you go" {
			t.Errorf("%s: GOODBYE %s %v", kind, g.Reason, g.Details)
		}
		victim.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseGoodbyeAndOut})
		victim.ended()
		ev := expect[*wamp.Event](watcher)
		if ev.Subscription != onLeave || toID(t, ev.Args[0]) != victim.id {
			t.Errorf("%s: on_leave %v, want session %d", kind, ev.Args, victim.id)
		}
	}

	// Without keyword arguments: wamp.close.normal and no message.
	victim := h.enter("msgpack")
	killer.meta("wamp.session.kill", wamp.List{victim.id}, nil)
	g := expect[*wamp.Goodbye](victim)
	if _, has := g.Details["message"]; g.Reason != wamp.URICloseNormal || has {
		t.Errorf("default GOODBYE %s %v, want %s without a message", g.Reason, g.Details, wamp.URICloseNormal)
	}
	victim.leaveCleanlyAfterGoodbye()

	// The killer is untouched.
	checkSessions(t, killer, nil, killer.id, watcher.id)
	killer.quiet()
}

// leaveCleanlyAfterGoodbye answers the router's GOODBYE and waits for the
// end.
func (p *peer) leaveCleanlyAfterGoodbye() {
	p.t.Helper()
	p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseGoodbyeAndOut})
	p.ended()
}

func TestMetaSessionKillErrors(t *testing.T) {
	h := newHarness(t, Config{})
	killer, target := h.enter("json"), h.enter("local")
	for _, tc := range []struct {
		name   string
		args   wamp.List
		kwargs wamp.Dict
		uri    wamp.URI
	}{
		{"self", wamp.List{killer.id}, nil, wamp.URINoSuchSession},
		{"unknown", wamp.List{int64(12345)}, nil, wamp.URINoSuchSession},
		{"missing", nil, nil, wamp.URIInvalidArgument},
		{"not an id", wamp.List{"x"}, nil, wamp.URIInvalidArgument},
		{"bad reason", wamp.List{target.id}, wamp.Dict{"reason": "not a uri"}, wamp.URIInvalidURI},
		{"empty reason", wamp.List{target.id}, wamp.Dict{"reason": ""}, wamp.URIInvalidURI},
		{"reason not a string", wamp.List{target.id}, wamp.Dict{"reason": int64(5)}, wamp.URIInvalidURI},
		{"message not a string", wamp.List{target.id}, wamp.Dict{"message": int64(5)}, wamp.URIInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			killer.metaFails(tc.uri, "wamp.session.kill", tc.args, tc.kwargs)
		})
	}
	// Nobody was killed.
	target.quiet()
	checkSessions(t, killer, nil, killer.id, target.id)
}

// TestMetaSessionKillUnanswered: a killed client that never answers the
// GOODBYE is disconnected after Config.GoodbyeTimeout.
func TestMetaSessionKillUnanswered(t *testing.T) {
	h := newHarness(t, Config{GoodbyeTimeout: 100 * time.Millisecond})
	killer := h.enter("json")
	watcher := h.enter("msgpack")
	watcher.subscribe("wamp.session.on_leave")
	for _, kind := range kinds {
		victim := h.enter(kind)
		killer.meta("wamp.session.kill", wamp.List{victim.id}, nil)
		expect[*wamp.Goodbye](victim)
		victim.ended() // without answering
		if ev := expect[*wamp.Event](watcher); toID(t, ev.Args[0]) != victim.id {
			t.Fatalf("%s: on_leave %v", kind, ev.Args)
		}
	}
	checkSessions(t, killer, nil, killer.id, watcher.id)
}

func TestMetaKillByAuthid(t *testing.T) {
	h := newHarness(t, Config{})
	caller := h.joinAuthid("json", "alice")
	twin := h.joinAuthid("msgpack", "alice")
	bob := h.joinAuthid("local", "bob")
	// A Go client, to see the reason the way an application does.
	peer, err := h.r.LocalPeer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	app, err := client.Join(ctx, peer, client.Config{HelloDetails: wamp.Dict{"authid": "alice"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)

	res := caller.meta("wamp.session.kill_by_authid", wamp.List{"alice"},
		wamp.Dict{"reason": "com.example.banned", "message": "bye alice"})
	if n := toInt(t, res[0]); n != 2 {
		t.Errorf("killed %d sessions, want 2 (the caller is spared)", n)
	}
	g := expect[*wamp.Goodbye](twin)
	if g.Reason != "com.example.banned" || g.Details["message"] != "bye alice" {
		t.Errorf("GOODBYE %s %v", g.Reason, g.Details)
	}
	twin.leaveCleanlyAfterGoodbye()
	select {
	case <-app.Done():
	case <-ctx.Done():
		t.Fatal("the Go client was not killed")
	}
	if err := app.Err(); !errors.Is(err, &wamp.Error{URI: "com.example.banned"}) {
		t.Errorf("Go client ended with %v, want com.example.banned", err)
	}
	bob.quiet()
	checkSessions(t, caller, nil, caller.id, bob.id)

	if n := toInt(t, caller.meta("wamp.session.kill_by_authid", wamp.List{"nobody"}, nil)[0]); n != 0 {
		t.Errorf("killed %d sessions of an unknown authid", n)
	}
	caller.metaFails(wamp.URIInvalidArgument, "wamp.session.kill_by_authid", nil, nil)
	caller.metaFails(wamp.URIInvalidArgument, "wamp.session.kill_by_authid", wamp.List{int64(7)}, nil)
	caller.metaFails(wamp.URIInvalidURI, "wamp.session.kill_by_authid", wamp.List{"bob"}, wamp.Dict{"reason": "bad uri"})
	bob.quiet()
}

func TestMetaKillByAuthrole(t *testing.T) {
	h := newHarness(t, Config{})
	caller := h.enter("json")
	g1, g2, anon := h.enter("cbor"), h.enter("local"), h.enter("msgpack")
	h.setAuthrole(g1, "guest")
	h.setAuthrole(g2, "guest")

	res := caller.meta("wamp.session.kill_by_authrole", wamp.List{"guest"}, wamp.Dict{"reason": "com.example.closing"})
	if n := toInt(t, res[0]); n != 2 {
		t.Errorf("killed %d guests, want 2", n)
	}
	for _, p := range []*peer{g1, g2} {
		if g := expect[*wamp.Goodbye](p); g.Reason != "com.example.closing" {
			t.Errorf("GOODBYE %s", g.Reason)
		}
		p.leaveCleanlyAfterGoodbye()
	}
	anon.quiet()
	// The caller is anonymous too, and spared.
	if n := toInt(t, caller.meta("wamp.session.kill_by_authrole", wamp.List{"anonymous"}, nil)[0]); n != 1 {
		t.Errorf("killed %d anonymous sessions, want 1", n)
	}
	if g := expect[*wamp.Goodbye](anon); g.Reason != wamp.URICloseNormal {
		t.Errorf("GOODBYE %s", g.Reason)
	}
	anon.leaveCleanlyAfterGoodbye()
	checkSessions(t, caller, nil, caller.id)
	caller.metaFails(wamp.URIInvalidArgument, "wamp.session.kill_by_authrole", nil, nil)
	caller.metaFails(wamp.URIInvalidArgument, "wamp.session.kill_by_authrole", wamp.List{true}, nil)
}

func TestMetaKillAll(t *testing.T) {
	h := newHarness(t, Config{})
	caller := h.enter("local")
	var others []*peer
	for _, kind := range kinds {
		others = append(others, h.enter(kind))
	}
	caller.metaFails(wamp.URIInvalidURI, "wamp.session.kill_all", nil, wamp.Dict{"reason": "no good"})
	res := caller.meta("wamp.session.kill_all", nil, wamp.Dict{"reason": "com.example.maintenance", "message": "later"})
	if n := toInt(t, res[0]); n != int64(len(others)) {
		t.Errorf("killed %d, want %d", n, len(others))
	}
	for _, p := range others {
		if g := expect[*wamp.Goodbye](p); g.Reason != "com.example.maintenance" || g.Details["message"] != "later" {
			t.Errorf("GOODBYE %s %v", g.Reason, g.Details)
		}
		p.leaveCleanlyAfterGoodbye()
	}
	checkSessions(t, caller, nil, caller.id)
}

func TestMetaSessionEvents(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.enter("json")
	onJoin := watcher.subscribe("wamp.session.on_join")
	onLeave := watcher.subscribe("wamp.session.on_leave")
	for _, kind := range kinds {
		authid := "carol-" + kind
		p := h.joinAuthid(kind, authid)
		ev := expect[*wamp.Event](watcher)
		if ev.Subscription != onJoin || len(ev.Args) != 1 {
			t.Fatalf("%s: on_join %d %v", kind, ev.Subscription, ev.Args)
		}
		d, _ := ev.Args[0].(wamp.Dict)
		if toID(t, d["session"]) != p.id || d["authid"] != authid || d["authrole"] != "anonymous" ||
			d["authmethod"] != "anonymous" || d["authprovider"] != "static" {
			t.Errorf("%s: on_join details %v", kind, d)
		}
		if tr, ok := d["transport"].(wamp.Dict); !ok || tr["type"] == nil {
			t.Errorf("%s: on_join transport %v", kind, d["transport"])
		}

		p.p.Close() // a cut connection is a leave too
		ev = expect[*wamp.Event](watcher)
		if ev.Subscription != onLeave || len(ev.Args) != 3 || toID(t, ev.Args[0]) != p.id ||
			ev.Args[1] != authid || ev.Args[2] != "anonymous" {
			t.Errorf("%s: on_leave %d %v, want [%d %s anonymous]", kind, ev.Subscription, ev.Args, p.id, authid)
		}
	}
	watcher.quiet()
}

// entryAPI is what the subscription and registration tests share: the
// procedure names of one side.
type entryAPI struct {
	prefix  wamp.URI // "wamp.subscription." or "wamp.registration."
	members string   // "subscribers" or "callees"
	noSuch  wamp.URI
}

func (api entryAPI) proc(name string) wamp.URI { return api.prefix + wamp.URI(name) }

// checkEntryErrors checks the errors every procedure of one side gives.
func checkEntryErrors(t *testing.T, p *peer, api entryAPI) {
	t.Helper()
	for _, name := range []string{"get", "list_" + api.members, "count_" + api.members} {
		p.metaFails(api.noSuch, api.proc(name), wamp.List{int64(987654)}, nil)
		p.metaFails(wamp.URIInvalidArgument, api.proc(name), nil, nil)
		p.metaFails(wamp.URIInvalidArgument, api.proc(name), wamp.List{"x"}, nil)
	}
	for _, name := range []string{"lookup", "match"} {
		p.metaFails(wamp.URIInvalidArgument, api.proc(name), nil, nil)
		p.metaFails(wamp.URIInvalidArgument, api.proc(name), wamp.List{int64(5)}, nil)
	}
	p.metaFails(wamp.URIInvalidArgument, api.proc("lookup"), wamp.List{"com.x", "exact"}, nil)
	p.metaFails(wamp.URIInvalidArgument, api.proc("lookup"), wamp.List{"com.x", wamp.Dict{"match": "fuzzy"}}, nil)
}

// checkLists checks the list procedure.
func checkLists(t *testing.T, p *peer, api entryAPI, exact, prefix, wildcard []wamp.ID) {
	t.Helper()
	lists, ok := p.meta(api.proc("list"), nil, nil)[0].(wamp.Dict)
	if !ok || len(lists) != 3 {
		t.Fatalf("%slist: %v", api.prefix, lists)
	}
	for policy, want := range map[string][]wamp.ID{"exact": exact, "prefix": prefix, "wildcard": wildcard} {
		if got := toIDs(t, lists[policy]); !slices.Equal(got, sortedIDs(want...)) {
			t.Errorf("%slist %s = %v, want %v", api.prefix, policy, got, sortedIDs(want...))
		}
	}
}

// checkLookup checks lookup(uri, options) against want, 0 for null.
func checkLookup(t *testing.T, p *peer, api entryAPI, uri wamp.URI, match string, want wamp.ID) {
	t.Helper()
	args := wamp.List{string(uri)}
	if match != "" {
		args = append(args, wamp.Dict{"match": match})
	}
	got := p.meta(api.proc("lookup"), args, nil)
	if len(got) != 1 || want == 0 && got[0] != nil || want != 0 && (got[0] == nil || toID(t, got[0]) != want) {
		t.Errorf("%slookup(%s, %q) = %v, want %d", api.prefix, uri, match, got, want)
	}
}

func checkDetails(t *testing.T, p *peer, api entryAPI, id wamp.ID, uri wamp.URI, match, invoke string) {
	t.Helper()
	d, _ := p.meta(api.proc("get"), wamp.List{id}, nil)[0].(wamp.Dict)
	if toID(t, d["id"]) != id || d["uri"] != string(uri) || d["match"] != match {
		t.Errorf("%sget(%d) = %v, want %s %s", api.prefix, id, d, uri, match)
	}
	if created, _ := d["created"].(string); created == "" {
		t.Errorf("%sget(%d): created %v", api.prefix, id, d["created"])
	} else if _, err := time.Parse(time.RFC3339, created); err != nil {
		t.Errorf("%sget(%d): created %q is not ISO 8601: %v", api.prefix, id, created, err)
	}
	if got, has := d["invoke"]; invoke == "" && has || invoke != "" && got != invoke {
		t.Errorf("%sget(%d): invoke %v, want %q", api.prefix, id, got, invoke)
	}
}

func checkMembers(t *testing.T, p *peer, api entryAPI, id wamp.ID, want ...wamp.ID) {
	t.Helper()
	if got := toIDs(t, p.meta(api.proc("list_"+api.members), wamp.List{id}, nil)[0]); !slices.Equal(got, sortedIDs(want...)) {
		t.Errorf("%slist_%s(%d) = %v, want %v", api.prefix, api.members, id, got, sortedIDs(want...))
	}
	if n := toInt(t, p.meta(api.proc("count_"+api.members), wamp.List{id}, nil)[0]); n != int64(len(want)) {
		t.Errorf("%scount_%s(%d) = %d, want %d", api.prefix, api.members, id, n, len(want))
	}
}

var (
	subscriptionAPI = entryAPI{prefix: "wamp.subscription.", members: "subscribers", noSuch: wamp.URINoSuchSubscription}
	registrationAPI = entryAPI{prefix: "wamp.registration.", members: "callees", noSuch: wamp.URINoSuchRegistration}
)

func TestMetaSubscriptionProcedures(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.enter("json"), h.enter("msgpack")
	exact := a.subscribe("com.example.a")
	if again := b.subscribe("com.example.a"); again != exact {
		t.Fatalf("second subscriber got subscription %d, want %d", again, exact)
	}
	prefix := a.subscribeWith("com.example", wamp.Dict{"match": "prefix"})
	wild := b.subscribeWith("com..a", wamp.Dict{"match": "wildcard"})
	api := subscriptionAPI

	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p := h.enter(kind)
			checkLists(t, p, api, []wamp.ID{exact}, []wamp.ID{prefix}, []wamp.ID{wild})

			checkLookup(t, p, api, "com.example.a", "", exact)
			checkLookup(t, p, api, "com.example.a", "exact", exact)
			checkLookup(t, p, api, "com.example", "prefix", prefix)
			checkLookup(t, p, api, "com..a", "wildcard", wild)
			checkLookup(t, p, api, "com.example.a", "prefix", 0)
			checkLookup(t, p, api, "com.example", "", 0)

			// match lists every subscription an event would reach.
			for topic, want := range map[wamp.URI][]wamp.ID{
				"com.example.a": {exact, prefix, wild},
				"com.example.b": {prefix},
				"com.other.a":   {wild},
			} {
				if got := toIDs(t, p.meta(api.proc("match"), wamp.List{string(topic)}, nil)[0]); !slices.Equal(got, sortedIDs(want...)) {
					t.Errorf("match(%s) = %v, want %v", topic, got, sortedIDs(want...))
				}
			}
			if got := p.meta(api.proc("match"), wamp.List{"org.nothing"}, nil); len(got) != 1 || got[0] != nil {
				t.Errorf("match(org.nothing) = %v, want [null]", got)
			}

			checkDetails(t, p, api, exact, "com.example.a", "exact", "")
			checkDetails(t, p, api, prefix, "com.example", "prefix", "")
			checkDetails(t, p, api, wild, "com..a", "wildcard", "")
			checkMembers(t, p, api, exact, a.id, b.id)
			checkMembers(t, p, api, prefix, a.id)
			checkMembers(t, p, api, wild, b.id)
			checkEntryErrors(t, p, api)
		})
	}

	b.leaveCleanly()
	p := h.enter("cbor")
	checkMembers(t, p, api, exact, a.id)
	p.metaFails(api.noSuch, api.proc("get"), wamp.List{wild}, nil)
	a.p.Close()
	h.waitListed(a, false)
	checkLists(t, p, api, nil, nil, nil)
	p.metaFails(api.noSuch, api.proc("get"), wamp.List{exact}, nil)
}

func TestMetaRegistrationProcedures(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.enter("json"), h.enter("msgpack")
	exact := a.registerWith("com.example.a", nil)
	prefix := a.registerWith("com.example", wamp.Dict{"match": "prefix"})
	wild := b.registerWith("com..a", wamp.Dict{"match": "wildcard"})
	pool := a.registerWith("com.pool", wamp.Dict{"invoke": "roundrobin"})
	if again := b.registerWith("com.pool", wamp.Dict{"invoke": "roundrobin"}); again != pool {
		t.Fatalf("second callee got registration %d, want %d", again, pool)
	}
	api := registrationAPI

	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p := h.enter(kind)
			// The meta procedures are not registrations.
			checkLists(t, p, api, []wamp.ID{exact, pool}, []wamp.ID{prefix}, []wamp.ID{wild})
			checkLookup(t, p, api, "wamp.session.count", "", 0)

			checkLookup(t, p, api, "com.example.a", "", exact)
			checkLookup(t, p, api, "com.example", "prefix", prefix)
			checkLookup(t, p, api, "com..a", "wildcard", wild)
			checkLookup(t, p, api, "com.example", "", 0)

			// match gives the one registration a call is routed to.
			for proc, want := range map[wamp.URI]wamp.ID{
				"com.example.a":      exact,
				"com.example.b":      prefix,
				"com.other.a":        wild,
				"com.pool":           pool,
				"org.nothing":        0,
				"wamp.session.count": 0,
			} {
				got := p.meta(api.proc("match"), wamp.List{string(proc)}, nil)
				if len(got) != 1 || want == 0 && got[0] != nil || want != 0 && (got[0] == nil || toID(t, got[0]) != want) {
					t.Errorf("match(%s) = %v, want %d", proc, got, want)
				}
			}

			checkDetails(t, p, api, exact, "com.example.a", "exact", "single")
			checkDetails(t, p, api, wild, "com..a", "wildcard", "single")
			checkDetails(t, p, api, pool, "com.pool", "exact", "roundrobin")
			checkMembers(t, p, api, pool, a.id, b.id)
			checkMembers(t, p, api, exact, a.id)
			checkEntryErrors(t, p, api)
		})
	}

	a.leaveCleanly()
	p := h.enter("cbor")
	checkLists(t, p, api, []wamp.ID{pool}, nil, []wamp.ID{wild})
	checkMembers(t, p, api, pool, b.id)
	p.metaFails(api.noSuch, api.proc("get"), wamp.List{exact}, nil)
}

// nextMeta reads the next EVENT of a prefix subscription and checks its
// topic.
func nextMeta(t *testing.T, p *peer, topic wamp.URI) wamp.List {
	t.Helper()
	ev := expect[*wamp.Event](p)
	if got, _ := ev.Details["topic"].(string); got != string(topic) {
		t.Fatalf("EVENT on %q %v, want %s", got, ev.Args, topic)
	}
	return ev.Args
}

// checkIDs checks that args are exactly the given IDs.
func checkIDs(t *testing.T, what string, args wamp.List, want ...wamp.ID) {
	t.Helper()
	if len(args) != len(want) {
		t.Fatalf("%s: %v, want %v", what, args, want)
	}
	for i, id := range want {
		if toID(t, args[i]) != id {
			t.Fatalf("%s: %v, want %v", what, args, want)
		}
	}
}

func TestMetaSubscriptionEvents(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.enter("json")
	own := watcher.subscribeWith("wamp.subscription", wamp.Dict{"match": "prefix"})
	// The watcher sees its own subscription made.
	args := nextMeta(t, watcher, "wamp.subscription.on_create")
	checkIDs(t, "own on_create", args[:1], watcher.id)
	checkIDs(t, "own on_subscribe", nextMeta(t, watcher, "wamp.subscription.on_subscribe"), watcher.id, own)

	for _, kind := range kinds {
		topic := wamp.URI("com.example.topic." + kind)
		a, b := h.enter(kind), h.enter("msgpack")
		sub := a.subscribe(topic)
		args := nextMeta(t, watcher, "wamp.subscription.on_create")
		d, _ := args[1].(wamp.Dict)
		if len(args) != 2 || toID(t, args[0]) != a.id || toID(t, d["id"]) != sub || d["uri"] != string(topic) ||
			d["match"] != "exact" || d["created"] == nil {
			t.Fatalf("%s: on_create %v", kind, args)
		}
		checkIDs(t, kind+": on_subscribe", nextMeta(t, watcher, "wamp.subscription.on_subscribe"), a.id, sub)
		// A second subscriber joins the subscription: no on_create.
		b.subscribe(topic)
		checkIDs(t, kind+": second on_subscribe", nextMeta(t, watcher, "wamp.subscription.on_subscribe"), b.id, sub)

		a.send(&wamp.Unsubscribe{Request: a.req.Next(), Subscription: sub})
		expect[*wamp.Unsubscribed](a)
		checkIDs(t, kind+": on_unsubscribe", nextMeta(t, watcher, "wamp.subscription.on_unsubscribe"), a.id, sub)
		// The last subscriber's connection is cut.
		b.p.Close()
		checkIDs(t, kind+": last on_unsubscribe", nextMeta(t, watcher, "wamp.subscription.on_unsubscribe"), b.id, sub)
		checkIDs(t, kind+": on_delete", nextMeta(t, watcher, "wamp.subscription.on_delete"), b.id, sub)
	}
	watcher.quiet()
}

func TestMetaRegistrationEvents(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.enter("json")
	watcher.subscribeWith("wamp.registration", wamp.Dict{"match": "prefix"})
	for _, kind := range kinds {
		proc := wamp.URI("com.example.proc." + kind)
		a := h.enter(kind)
		reg := a.register(proc)
		args := nextMeta(t, watcher, "wamp.registration.on_create")
		d, _ := args[1].(wamp.Dict)
		if len(args) != 2 || toID(t, args[0]) != a.id || toID(t, d["id"]) != reg || d["uri"] != string(proc) ||
			d["match"] != "exact" || d["invoke"] != "single" || d["created"] == nil {
			t.Fatalf("%s: on_create %v", kind, args)
		}
		checkIDs(t, kind+": on_register", nextMeta(t, watcher, "wamp.registration.on_register"), a.id, reg)
		a.send(&wamp.Unregister{Request: a.req.Next(), Registration: reg})
		expect[*wamp.Unregistered](a)
		checkIDs(t, kind+": on_unregister", nextMeta(t, watcher, "wamp.registration.on_unregister"), a.id, reg)
		checkIDs(t, kind+": on_delete", nextMeta(t, watcher, "wamp.registration.on_delete"), a.id, reg)
	}

	// A shared registration: created once, deleted with its last callee.
	x, y := h.enter("cbor"), h.enter("local")
	pool := x.registerWith("com.pool", wamp.Dict{"invoke": "random"})
	nextMeta(t, watcher, "wamp.registration.on_create")
	checkIDs(t, "x on_register", nextMeta(t, watcher, "wamp.registration.on_register"), x.id, pool)
	y.registerWith("com.pool", wamp.Dict{"invoke": "random"})
	checkIDs(t, "y on_register", nextMeta(t, watcher, "wamp.registration.on_register"), y.id, pool)
	x.p.Close()
	checkIDs(t, "x on_unregister", nextMeta(t, watcher, "wamp.registration.on_unregister"), x.id, pool)
	y.leaveCleanly()
	checkIDs(t, "y on_unregister", nextMeta(t, watcher, "wamp.registration.on_unregister"), y.id, pool)
	checkIDs(t, "on_delete", nextMeta(t, watcher, "wamp.registration.on_delete"), y.id, pool)
	watcher.quiet()
}

func TestMetaUnknownProcedure(t *testing.T) {
	h := newHarness(t, Config{})
	p := h.enter("json")
	p.metaFails(wamp.URINoSuchProcedure, "wamp.session.nonexistent", nil, nil)
}

func TestReservedURI(t *testing.T) {
	for uri, want := range map[wamp.URI]bool{
		"wamp":                  true,
		"wamp.session.count":    true,
		"wamp.":                 true,
		"wampum.pay":            false,
		"com.wamp.session":      false,
		"com.example.procedure": false,
		"":                      false,
	} {
		if got := reservedURI(uri); got != want {
			t.Errorf("reservedURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestWelcomeAnnouncesMetaFeatures(t *testing.T) {
	h := newHarness(t, Config{})
	p := h.connect("json")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
	w := expect[*wamp.Welcome](p)
	roles, _ := wamp.DictDict(w.Details, "roles")
	for role, feats := range map[string][]string{
		"broker": {"session_meta_api", "subscription_meta_api"},
		"dealer": {"session_meta_api", "registration_meta_api", "testament_meta_api"},
	} {
		r, _ := wamp.DictDict(roles, role)
		f, _ := wamp.DictDict(r, "features")
		for _, name := range feats {
			if f[name] != true {
				t.Errorf("%s does not announce %s: %v", role, name, f)
			}
		}
	}
}

package router

import (
	"errors"
	"slices"
	"testing"

	"github.com/junction-run/junction/wamp"
)

func TestInspection(t *testing.T) {
	h := newHarness(t, Config{})
	before := h.r.Changes()
	sub, callee := h.join("json"), h.join("local")
	if h.r.Changes() == before {
		t.Fatal("Changes did not grow when sessions joined")
	}

	sessions, err := h.r.Sessions("realm1")
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 2 || sessions[0].ID > sessions[1].ID {
		t.Fatalf("Sessions = %+v, want the two sessions sorted by ID", sessions)
	}
	var ws SessionInfo
	for _, s := range sessions {
		if s.ID == sub.id {
			ws = s
		}
	}
	if ws.Transport != "websocket" || ws.Serializer != "json" || ws.RemoteAddr == "" || ws.Realm != "realm1" ||
		ws.AuthMethod != "anonymous" || ws.Joined.IsZero() {
		t.Fatalf("websocket session = %+v", ws)
	}

	subID := sub.subscribe("com.example.news")
	regID := callee.register("com.example.add")
	changed := h.r.Changes()

	// One publication delivered to one subscriber, one call answered with
	// an error: the realm's counters and the sessions' counts see them.
	pub := h.join("cbor")
	pub.send(&wamp.Publish{Request: 1, Topic: "com.example.news", Options: wamp.Dict{}})
	expect[*wamp.Event](sub)
	pub.send(&wamp.Call{Request: 2, Procedure: "com.example.add"})
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Error: "com.example.error.nope"})
	expect[*wamp.ErrorMessage](pub)

	stats := h.r.Stats()
	if len(stats) != 1 {
		t.Fatalf("Stats = %+v, want realm1 only", stats)
	}
	st := stats[0]
	if st.Realm != "realm1" || st.Sessions != 3 || st.Subscriptions != 1 || st.Registrations != 1 ||
		st.Publishes != 1 || st.Events != 1 || st.Calls != 1 || st.Errors != 1 {
		t.Fatalf("Stats = %+v", st)
	}
	si, err := h.r.Session("realm1", sub.id)
	if err != nil {
		t.Fatal(err)
	}
	// Since it joined: SUBSCRIBE in; SUBSCRIBED and EVENT out.
	if si.MessagesIn != 1 || si.MessagesOut != 2 {
		t.Fatalf("subscriber counts in %d out %d, want 1 and 2", si.MessagesIn, si.MessagesOut)
	}

	subs, err := h.r.Subscriptions("realm1")
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].ID != subID || subs[0].URI != "com.example.news" || subs[0].Match != "exact" ||
		!slices.Equal(subs[0].Members, []wamp.ID{sub.id}) {
		t.Fatalf("Subscriptions = %+v", subs)
	}
	regs, err := h.r.Registrations("realm1")
	if err != nil {
		t.Fatal(err)
	}
	if len(regs) != 1 || regs[0].ID != regID || regs[0].Invoke != "single" || !slices.Equal(regs[0].Members, []wamp.ID{callee.id}) {
		t.Fatalf("Registrations = %+v", regs)
	}

	// Kill: the session is told GOODBYE with the reason given.
	if err := h.r.Kill("realm1", sub.id, "com.example.close.admin", "bye"); err != nil {
		t.Fatal(err)
	}
	g := expect[*wamp.Goodbye](sub)
	if g.Reason != "com.example.close.admin" || g.Details["message"] != "bye" {
		t.Fatalf("GOODBYE %#v", g)
	}
	sub.send(&wamp.Goodbye{Reason: wamp.URICloseGoodbyeAndOut})
	sub.ended()
	if h.r.Changes() == changed {
		t.Fatal("Changes did not grow when a session left")
	}

	if err := h.r.Kill("realm1", 12345, "", ""); !errors.Is(err, ErrNoSuchSession) {
		t.Fatalf("Kill of no session: %v", err)
	}
	if err := h.r.Kill("nowhere", callee.id, "", ""); !errors.Is(err, ErrNoSuchRealm) {
		t.Fatalf("Kill in no realm: %v", err)
	}
	if nodes := h.r.Nodes(); nodes != nil {
		t.Fatalf("Nodes() outside a cluster = %v, want nil", nodes)
	}
	if _, err := h.r.Sessions("nowhere"); !errors.Is(err, ErrNoSuchRealm) {
		t.Fatalf("Sessions(nowhere): %v", err)
	}
	if _, err := h.r.Session("realm1", 12345); !errors.Is(err, ErrNoSuchSession) {
		t.Fatalf("Session(12345): %v", err)
	}
}

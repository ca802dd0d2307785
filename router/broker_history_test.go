package router

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// historyArgs returns the first argument of each event dict.
func historyArgs(t *testing.T, events []wamp.Dict) []any {
	t.Helper()
	var got []any
	for _, e := range events {
		args, _ := e["args"].(wamp.List)
		if len(args) == 0 {
			t.Fatalf("event without args: %v", e)
		}
		got = append(got, args[0])
	}
	return got
}

func TestEventHistoryConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    EventHistory
		ok   bool
	}{
		{"exact", EventHistory{Topic: "com.log", Limit: 10}, true},
		{"prefix in a realm", EventHistory{Realm: "realm1", Topic: "com.log", Match: wamp.MatchPrefix, Limit: 1}, true},
		{"wildcard", EventHistory{Topic: "com..log", Match: wamp.MatchWildcard, Limit: 5}, true},
		{"empty topic", EventHistory{Limit: 10}, false},
		{"bad topic", EventHistory{Topic: "com log", Limit: 10}, false},
		{"wildcard topic for exact", EventHistory{Topic: "com..log", Limit: 10}, false},
		{"bad match", EventHistory{Topic: "com.log", Match: "regex", Limit: 10}, false},
		{"zero limit", EventHistory{Topic: "com.log"}, false},
		{"negative limit", EventHistory{Topic: "com.log", Limit: -1}, false},
		{"bad realm", EventHistory{Realm: "no realm", Topic: "com.log", Limit: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{EventHistory: []EventHistory{tc.h}})
			if tc.ok && err != nil {
				t.Fatalf("New: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidEventHistory) {
				t.Fatalf("New: %v, want ErrInvalidEventHistory", err)
			}
		})
	}
	if _, err := New(Config{StrictURIs: true, EventHistory: []EventHistory{{Topic: "Com.Log", Limit: 1}}}); !errors.Is(err, ErrInvalidEventHistory) {
		t.Fatalf("strict URIs: %v", err)
	}
}

// TestGetEvents follows the specification's example: two exact
// subscriptions and a prefix one, five publications.
func TestGetEvents(t *testing.T) {
	h := newHarness(t, Config{Realms: []string{"realm1", "other"}, EventHistory: []EventHistory{
		{Topic: "com.mycompany.log", Match: wamp.MatchPrefix, Limit: 4},
		{Topic: "com.mycompany.log.auth", Limit: 10},
		{Realm: "other", Topic: "com.mycompany.other", Limit: 10},
	}})
	b := h.r.realm("realm1").broker
	pub := h.join("json")
	// Published before anyone subscribes: the rules keep them anyway.
	pub.publishAck("com.mycompany.log.auth", nil, "auth 1", wamp.Dict{"user": "ann"})
	var pubIDs []wamp.ID
	for i, topic := range []wamp.URI{"com.mycompany.log.basket", "com.mycompany.log.basket",
		"com.mycompany.log.basket", "com.mycompany.log.checkout", "com.mycompany.log.auth"} {
		pubIDs = append(pubIDs, pub.publishAck(topic, nil, strings.TrimPrefix(string(topic), "com.mycompany.log.")+" "+string(rune('2'+i))))
	}
	pub.publishAck("com.mycompany.other", nil, "elsewhere")

	s := h.join("msgpack")
	auth := s.subscribe("com.mycompany.log.auth")
	basket := s.subscribe("com.mycompany.log.basket")
	all := s.subscribeWith("com.mycompany.log", wamp.Dict{"match": "prefix"})
	none := s.subscribe("com.mycompany.other")

	for _, tc := range []struct {
		sub   wamp.ID
		limit int
		want  []any
	}{
		// The auth rule keeps 10; the prefix rule's 4 also hold "auth 6".
		{auth, 0, []any{"auth 6", "auth 1"}},
		{auth, 1, []any{"auth 6"}},
		// The prefix rule kept the last 4 of its 7.
		{basket, 0, []any{"basket 4", "basket 3"}},
		{all, 0, []any{"auth 6", "checkout 5", "basket 4", "basket 3", "auth 1"}},
		{all, 3, []any{"auth 6", "checkout 5", "basket 4"}},
		{all, -1, []any{"auth 6", "checkout 5", "basket 4", "basket 3", "auth 1"}},
		// No rule covers this topic in realm1.
		{none, 0, nil},
	} {
		events, err := b.getEvents(tc.sub, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := historyArgs(t, events); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("getEvents(%d, %d) = %v, want %v", tc.sub, tc.limit, got, tc.want)
		}
	}

	events, _ := b.getEvents(all, 1)
	e := events[0]
	if e["subscription"] != all || e["publication"] != pubIDs[4] || e["topic"] != "com.mycompany.log.auth" {
		t.Errorf("event %v", e)
	}
	if d, _ := e["details"].(wamp.Dict); d["topic"] != "com.mycompany.log.auth" {
		t.Errorf("details of an event of a prefix subscription: %v", e["details"])
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", e["timestamp"].(string)); err != nil {
		t.Errorf("timestamp: %v", err)
	}
	events, _ = b.getEvents(auth, 0)
	if kw, ok := events[1]["kwargs"]; ok {
		t.Errorf("kwargs of a publication without: %v", kw)
	}
	if args := events[1]["args"].(wamp.List); !reflect.DeepEqual(args, wamp.List{"auth 1", wamp.Dict{"user": "ann"}}) {
		t.Errorf("args decoded from JSON: %#v", args)
	}

	if _, err := b.getEvents(12345, 0); !errors.Is(err, wamp.ErrNoSuchSubscription) {
		t.Fatalf("unknown subscription: %v", err)
	}
	var we *wamp.Error
	if _, err := b.getEvents(12345, 0); !errors.As(err, &we) {
		t.Fatalf("error %T is not a *wamp.Error", err)
	}

	// The other realm keeps its own.
	o := h.connect("json")
	o.send(&wamp.Hello{Realm: "other", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}, "publisher": wamp.Dict{}}}})
	expect[*wamp.Welcome](o)
	other := o.subscribe("com.mycompany.other")
	if events, _ := h.r.realm("other").broker.getEvents(other, 0); len(events) != 0 {
		t.Fatalf("realm other has realm1's events: %v", events)
	}
	o.publishAck("com.mycompany.other", nil, "here")
	if events, _ := h.r.realm("other").broker.getEvents(other, 0); len(events) != 1 {
		t.Fatalf("realm other: %v", events)
	}
	// A subscription of another realm is unknown here.
	if _, err := b.getEvents(other, 0); !errors.Is(err, wamp.ErrNoSuchSubscription) {
		t.Fatalf("subscription of another realm: %v", err)
	}
}

// TestGetEventsLists: publications naming sessions are not kept; those
// restricted to authids or authroles go only to callers they admit.
func TestGetEventsLists(t *testing.T) {
	h := newHarness(t, Config{EventHistory: []EventHistory{{Topic: "t", Limit: 10}}})
	rl := h.r.realm("realm1")
	pub := h.joinAuthid("local", "pub")
	alice := h.joinAuthid("local", "alice")
	bob := h.joinAuthid("local", "bob")
	h.setAuthrole(bob, "admin")
	sub := alice.subscribe("t")
	pub.publishAck("t", nil, "open")
	pub.publishAck("t", wamp.Dict{"exclude": wamp.List{bob.id}}, "by session")
	pub.publishAck("t", wamp.Dict{"eligible": wamp.List{alice.id}}, "by session too")
	pub.publishAck("t", wamp.Dict{"eligible_authid": wamp.List{"alice"}}, "alice only")
	pub.publishAck("t", wamp.Dict{"exclude_authrole": wamp.List{"admin"}}, "no admins")
	pub.publishAck("t", wamp.Dict{"disclose_me": true}, "disclosed")
	for range 6 {
		expect[*wamp.Event](alice)
	}

	events, err := rl.broker.getEvents(sub, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := historyArgs(t, events); !reflect.DeepEqual(got, []any{"disclosed", "open"}) {
		t.Errorf("getEvents = %v, want only the events with no lists", got)
	}
	d := events[0]["details"].(wamp.Dict)
	if d["publisher"] != pub.id || d["publisher_authid"] != "pub" || d["publisher_authrole"] != "anonymous" {
		t.Errorf("disclosed publisher: details %v", d)
	}
	for _, tc := range []struct {
		caller *peer
		want   []any
	}{
		{alice, []any{"open", "alice only", "no admins", "disclosed"}},
		{bob, []any{"open", "disclosed"}},
		{pub, []any{"open", "no admins", "disclosed"}},
	} {
		args, _, err := metaGetEvents(rl, rl.session(tc.caller.id), wamp.List{sub}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []any
		for _, e := range args {
			got = append(got, e.(wamp.Dict)["args"].(wamp.List)[0])
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("get_events as %s = %v, want %v", rl.session(tc.caller.id).authid, got, tc.want)
		}
	}
}

// TestGetEventsQuery checks the keyword arguments of
// wamp.subscription.get_events.
func TestGetEventsQuery(t *testing.T) {
	h := newHarness(t, Config{EventHistory: []EventHistory{{Topic: "q", Match: wamp.MatchPrefix, Limit: 100}}})
	rl := h.r.realm("realm1")
	clock := &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	rl.broker.now = clock.now // before the first publication reaches the broker
	pub := h.join("local")    // in-process: its messages order the clock's writes before the reads
	var ids []wamp.ID
	for i := range 6 {
		topic := wamp.URI("q.a")
		if i%2 == 1 {
			topic = "q.b"
		}
		ids = append(ids, pub.publishAck(topic, nil, int64(i)))
		clock.t = clock.t.Add(time.Second)
	}
	sub := pub.subscribeWith("q", wamp.Dict{"match": "prefix"})
	at := func(i int) string {
		return time.Date(2030, 1, 2, 3, 4, 5+i, 0, time.UTC).Format(time.RFC3339)
	}
	for _, tc := range []struct {
		name   string
		args   wamp.List
		kwargs wamp.Dict
		want   []any
	}{
		{"default order", nil, nil, []any{int64(0), int64(1), int64(2), int64(3), int64(4), int64(5)}},
		{"reverse", nil, wamp.Dict{"reverse": true}, []any{int64(5), int64(4), int64(3), int64(2), int64(1), int64(0)}},
		{"limit", nil, wamp.Dict{"limit": int64(2)}, []any{int64(0), int64(1)}},
		{"limit by position", wamp.List{int64(2)}, nil, []any{int64(0), int64(1)}},
		{"reverse limit", nil, wamp.Dict{"reverse": true, "limit": 2.0}, []any{int64(5), int64(4)}},
		{"topic", nil, wamp.Dict{"topic": "q.b"}, []any{int64(1), int64(3), int64(5)}},
		{"from_time", nil, wamp.Dict{"from_time": at(4)}, []any{int64(4), int64(5)}},
		{"after_time", nil, wamp.Dict{"after_time": at(4)}, []any{int64(5)}},
		{"before_time", nil, wamp.Dict{"before_time": at(1)}, []any{int64(0)}},
		{"until_time", nil, wamp.Dict{"until_time": at(1)}, []any{int64(0), int64(1)}},
		{"from_publication", nil, wamp.Dict{"from_publication": ids[3]}, []any{int64(3), int64(4), int64(5)}},
		{"after_publication", nil, wamp.Dict{"after_publication": ids[3]}, []any{int64(4), int64(5)}},
		{"before_publication", nil, wamp.Dict{"before_publication": ids[2]}, []any{int64(0), int64(1)}},
		{"until_publication", nil, wamp.Dict{"until_publication": ids[2]}, []any{int64(0), int64(1), int64(2)}},
		{"combined", nil, wamp.Dict{"after_publication": ids[0], "until_time": at(4), "topic": "q.a", "reverse": true},
			[]any{int64(4), int64(2)}},
		{"empty range", nil, wamp.Dict{"after_publication": ids[3], "before_publication": ids[2]}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, _, err := metaGetEvents(rl, nil, append(wamp.List{sub}, tc.args...), tc.kwargs)
			if err != nil {
				t.Fatal(err)
			}
			var got []any
			for _, e := range res {
				got = append(got, e.(wamp.Dict)["args"].(wamp.List)[0])
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		args   wamp.List
		kwargs wamp.Dict
		uri    wamp.URI
	}{
		{"no arguments", wamp.List{}, nil, wamp.URIInvalidArgument},
		{"not an ID", wamp.List{"x"}, nil, wamp.URIInvalidArgument},
		{"unknown subscription", wamp.List{sub + 1}, nil, wamp.URINoSuchSubscription},
		{"zero limit", wamp.List{sub, int64(0)}, nil, wamp.URIInvalidArgument},
		{"limit not a number", wamp.List{sub}, wamp.Dict{"limit": "10"}, wamp.URIInvalidArgument},
		{"reverse not a bool", wamp.List{sub}, wamp.Dict{"reverse": "yes"}, wamp.URIInvalidArgument},
		{"bad time", wamp.List{sub}, wamp.Dict{"from_time": "yesterday"}, wamp.URIInvalidArgument},
		{"bad topic", wamp.List{sub}, wamp.Dict{"topic": int64(1)}, wamp.URIInvalidArgument},
		{"unknown publication", wamp.List{sub}, wamp.Dict{"after_publication": int64(1)}, wamp.URIInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := metaGetEvents(rl, nil, tc.args, tc.kwargs)
			var we *wamp.Error
			if !errors.As(err, &we) || we.URI != tc.uri {
				t.Fatalf("error %v, want %s", err, tc.uri)
			}
		})
	}
}

// TestGetEventsProcedure calls wamp.subscription.get_events over the
// wire.
func TestGetEventsProcedure(t *testing.T) {
	h := newHarness(t, Config{EventHistory: []EventHistory{{Topic: "news", Limit: 3}}})
	pub := h.join("local")
	for _, s := range []string{"a", "b", "c", "d"} {
		pub.publishAck("news", nil, s)
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p := h.join(kind)
			sub := p.subscribe("news")
			res := p.meta("wamp.subscription.get_events", wamp.List{sub}, wamp.Dict{"reverse": true, "limit": 2})
			var got []any
			for _, e := range res {
				d, _ := e.(wamp.Dict)
				args, _ := d["args"].(wamp.List)
				if len(args) != 1 || toID(t, d["subscription"]) != sub {
					t.Fatalf("event %v", e)
				}
				got = append(got, args[0])
			}
			if !reflect.DeepEqual(got, []any{"d", "c"}) {
				t.Fatalf("get_events = %v, want [d c]", got)
			}
			if res := p.meta("wamp.subscription.get_events", wamp.List{sub}, nil); len(res) != 3 {
				t.Fatalf("get_events without a limit: %d events, want the 3 kept", len(res))
			}
			p.metaFails(wamp.URINoSuchSubscription, "wamp.subscription.get_events", wamp.List{sub + 1}, nil)
		})
	}
}

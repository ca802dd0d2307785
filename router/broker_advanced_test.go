package router

import (
	"fmt"
	"slices"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// publishAck publishes with acknowledge and returns the publication ID.
func (p *peer) publishAck(topic wamp.URI, opts wamp.Dict, args ...any) wamp.ID {
	p.t.Helper()
	o := wamp.Dict{"acknowledge": true}
	for k, v := range opts {
		o[k] = v
	}
	req := p.req.Next()
	p.send(&wamp.Publish{Request: req, Options: o, Topic: topic, Payload: wamp.Payload{Args: args}})
	ack := expect[*wamp.Published](p)
	if ack.Request != req {
		p.t.Fatalf("PUBLISHED for request %d, want %d", ack.Request, req)
	}
	return ack.Publication
}

// expectEvent reads an EVENT and checks its subscription and first
// argument.
func (p *peer) expectEvent(sub wamp.ID, arg any) *wamp.Event {
	p.t.Helper()
	ev := expect[*wamp.Event](p)
	if ev.Subscription != sub || len(ev.Args) == 0 || ev.Args[0] != arg {
		p.t.Fatalf("EVENT subscription %d args %v, want %d [%v ...]", ev.Subscription, ev.Args, sub, arg)
	}
	return ev
}

func TestWelcomeAnnouncesBrokerFeatures(t *testing.T) {
	h := newHarness(t, Config{})
	p := h.connect("json")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}}}})
	w := expect[*wamp.Welcome](p)
	roles, _ := wamp.DictDict(w.Details, "roles")
	broker, _ := wamp.DictDict(roles, "broker")
	features, _ := wamp.DictDict(broker, "features")
	for _, f := range []string{"publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing",
		"pattern_based_subscription", "event_retention"} {
		if features[f] != true {
			t.Errorf("broker feature %s not announced: %v", f, features)
		}
	}
}

func TestPublisherIdentification(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			topic := wamp.URI("com.example.who." + kind)
			sub := h.join(kind)
			exact := sub.subscribe(topic)
			prefix := sub.subscribeWith("com.example.who", wamp.Dict{"match": "prefix"})
			pub := h.joinAuthid("cbor", "alice")

			pub.publishAck(topic, wamp.Dict{"disclose_me": true}, "disclosed")
			want := wamp.Dict{"publisher": pub.id, "publisher_authid": "alice", "publisher_authrole": "anonymous"}
			for range 2 {
				ev := expect[*wamp.Event](sub)
				d := ev.Details
				if ev.Subscription == prefix {
					if d["topic"] != string(topic) {
						t.Errorf("prefix subscription: details %v lack the topic", d)
					}
				} else if ev.Subscription != exact {
					t.Fatalf("EVENT for subscription %d", ev.Subscription)
				}
				if toID(t, d["publisher"]) != pub.id || d["publisher_authid"] != want["publisher_authid"] ||
					d["publisher_authrole"] != want["publisher_authrole"] {
					t.Errorf("subscription %d: details %v, want %v", ev.Subscription, d, want)
				}
			}
			for _, opts := range []wamp.Dict{nil, {"disclose_me": false}} {
				pub.publishAck(topic, opts, "anonymous")
				for range 2 {
					ev := expect[*wamp.Event](sub)
					for _, k := range []string{"publisher", "publisher_authid", "publisher_authrole"} {
						if _, ok := ev.Details[k]; ok {
							t.Errorf("options %v: details %v disclose the publisher", opts, ev.Details)
						}
					}
				}
			}
		})
	}
}

func TestRouterEventsDiscloseNoPublisher(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.join("json")
	watcher.subscribe("wamp.session.on_join")
	// The router's own events have no publisher, even when asked.
	h.r.realm("realm1").broker.publishEvent(nil, "wamp.session.on_join", wamp.Dict{"disclose_me": true}, wamp.Payload{Args: wamp.List{"x"}})
	ev := expect[*wamp.Event](watcher)
	if len(ev.Details) != 0 {
		t.Fatalf("router event details %v, want none", ev.Details)
	}
	h.join("msgpack")
	if ev := expect[*wamp.Event](watcher); len(ev.Details) != 0 {
		t.Fatalf("on_join details %v, want none", ev.Details)
	}
}

// TestSubscriberBlackWhiteListing publishes with each list alone and
// combined, and checks exactly the right subscribers get the event. A
// marker event published after each case with no options must be the
// next message of every subscriber that was left out.
func TestSubscriberBlackWhiteListing(t *testing.T) {
	h := newHarness(t, Config{})
	// Publishers and the sessions whose authrole the test sets are
	// in-process, so that the race detector sees the writes ordered
	// before the reads.
	pub := h.joinAuthid("local", "publisher")
	a := h.joinAuthid("json", "alice")
	b := h.joinAuthid("msgpack", "bob")
	c := h.joinAuthid("local", "carol")
	d := h.joinAuthid("local", "alice")
	h.setAuthrole(c, "admin")
	h.setAuthrole(d, "admin")
	const topic = "com.example.bw"
	subs := map[string]*peer{"a": a, "b": b, "c": c, "d": d, "pub": pub}
	subIDs := map[string]wamp.ID{}
	for name, p := range subs {
		subIDs[name] = p.subscribe(topic)
	}
	ids := func(names ...string) wamp.List {
		l := wamp.List{}
		for _, n := range names {
			l = append(l, subs[n].id)
		}
		return l
	}
	strs := func(s ...string) wamp.List {
		l := wamp.List{}
		for _, v := range s {
			l = append(l, v)
		}
		return l
	}
	for _, tc := range []struct {
		name string
		opts wamp.Dict
		want []string
	}{
		{"none", nil, []string{"a", "b", "c", "d"}},
		{"exclude", wamp.Dict{"exclude": ids("a", "c")}, []string{"b", "d"}},
		{"eligible", wamp.Dict{"eligible": ids("a", "c")}, []string{"a", "c"}},
		{"eligible empty", wamp.Dict{"eligible": wamp.List{}}, nil},
		{"exclude_authid", wamp.Dict{"exclude_authid": strs("alice")}, []string{"b", "c"}},
		{"eligible_authid", wamp.Dict{"eligible_authid": strs("alice", "nobody")}, []string{"a", "d"}},
		{"exclude_authrole", wamp.Dict{"exclude_authrole": strs("admin")}, []string{"a", "b"}},
		{"eligible_authrole", wamp.Dict{"eligible_authrole": strs("admin")}, []string{"c", "d"}},
		{"eligible and exclude", wamp.Dict{"eligible": ids("a", "b", "c"), "exclude": ids("b")}, []string{"a", "c"}},
		{"eligible_authid and exclude_authrole", wamp.Dict{"eligible_authid": strs("alice", "bob"),
			"exclude_authrole": strs("admin")}, []string{"a", "b"}},
		{"eligible_authrole and exclude_authid", wamp.Dict{"eligible_authrole": strs("anonymous", "admin"),
			"exclude_authid": strs("carol")}, []string{"a", "b", "d"}},
		{"eligible and eligible_authrole", wamp.Dict{"eligible": ids("a", "b", "c"),
			"eligible_authrole": strs("admin")}, []string{"c"}},
		{"all six", wamp.Dict{"eligible": ids("a", "b", "c", "d"), "exclude": ids("b"),
			"eligible_authid": strs("alice", "bob", "carol"), "exclude_authid": strs("carol"),
			"eligible_authrole": strs("anonymous", "admin"), "exclude_authrole": strs("nobody")}, []string{"a", "d"}},
		{"exclude_me false with eligible", wamp.Dict{"exclude_me": false, "eligible": ids("pub", "b")}, []string{"pub", "b"}},
		{"exclude_me default with eligible", wamp.Dict{"eligible": ids("pub", "b")}, []string{"b"}},
		{"exclude_me false with exclude_authid", wamp.Dict{"exclude_me": false, "exclude_authid": strs("alice")},
			[]string{"pub", "b", "c"}},
		{"null is absent", wamp.Dict{"eligible": nil, "exclude": nil}, []string{"a", "b", "c", "d"}},
		{"typed Go slices", wamp.Dict{"eligible": []wamp.ID{a.id, d.id}, "exclude_authid": []string{"bob"}}, []string{"a", "d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Unacknowledged: the publisher is a subscriber too, and
			// its events would come before a PUBLISHED.
			pub.send(&wamp.Publish{Request: pub.req.Next(), Options: tc.opts, Topic: topic, Payload: wamp.Payload{Args: wamp.List{tc.name}}})
			pub.send(&wamp.Publish{Request: pub.req.Next(), Options: wamp.Dict{"exclude_me": false}, Topic: topic,
				Payload: wamp.Payload{Args: wamp.List{"marker"}}})
			for name, p := range subs {
				if slices.Contains(tc.want, name) {
					p.expectEvent(subIDs[name], tc.name)
				}
				p.expectEvent(subIDs[name], "marker")
			}
		})
	}
}

func TestBadPublishOptions(t *testing.T) {
	h := newHarness(t, Config{})
	sub := h.join("json")
	subID := sub.subscribe("t")
	for _, tc := range []struct {
		name string
		opts wamp.Dict
	}{
		{"exclude not a list", wamp.Dict{"exclude": int64(5)}},
		{"exclude strings", wamp.Dict{"exclude": wamp.List{"alice"}}},
		{"exclude fraction", wamp.Dict{"exclude": wamp.List{1.5}}},
		{"exclude negative", wamp.Dict{"exclude": wamp.List{int64(-1)}}},
		{"eligible a dict", wamp.Dict{"eligible": wamp.Dict{}}},
		{"eligible too large", wamp.Dict{"eligible": wamp.List{uint64(wamp.MaxID * 2)}}},
		{"exclude_authid ints", wamp.Dict{"exclude_authid": wamp.List{int64(1)}}},
		{"eligible_authid a string", wamp.Dict{"eligible_authid": "alice"}},
		{"exclude_authrole nested", wamp.Dict{"exclude_authrole": wamp.List{wamp.List{"admin"}}}},
		{"eligible_authrole a bool", wamp.Dict{"eligible_authrole": true}},
		{"disclose_me a string", wamp.Dict{"disclose_me": "yes"}},
		{"retain an int", wamp.Dict{"retain": int64(1)}},
		{"exclude_me a string", wamp.Dict{"exclude_me": "no"}},
	} {
		for _, kind := range kinds {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				pub := h.join(kind)
				req := pub.req.Next()
				opts := wamp.Dict{"acknowledge": true}
				for k, v := range tc.opts {
					opts[k] = v
				}
				pub.send(&wamp.Publish{Request: req, Options: opts, Topic: "t", Payload: wamp.Payload{Args: wamp.List{"bad"}}})
				e := pub.expectError(wamp.TypePublish, req, wamp.URIInvalidArgument)
				if len(e.Args) == 0 {
					t.Errorf("ERROR has no message")
				}
				// Nothing was published, and the session goes on.
				pub.publishAck("t", nil, "good")
				sub.expectEvent(subID, "good")
			})
		}
	}
	// An event of the router's own with bad options is dropped.
	if id := h.r.realm("realm1").broker.publishEvent(nil, "t", wamp.Dict{"exclude": "x"}, wamp.Payload{}); id != 0 {
		t.Errorf("publishEvent with bad options returned publication %d", id)
	}
	if err := checkPublishOptions(wamp.Dict{"eligible_authrole": wamp.List{"a"}, "retain": true}); err != nil {
		t.Errorf("checkPublishOptions on good options: %v", err)
	}
	if err := checkPublishOptions(wamp.Dict{"eligible_authrole": "a"}); err == nil {
		t.Errorf("checkPublishOptions on a bad list: no error")
	}
	sub.quiet()

	// SUBSCRIBE.Options.get_retained must be a bool too.
	req := sub.req.Next()
	sub.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": "yes"}, Topic: "t"})
	sub.expectError(wamp.TypeSubscribe, req, wamp.URIInvalidArgument)
}

// TestPatternSubscriptionsAllGetOne: every subscription an event matches
// gets it once, whatever the precedence rules of calls would say.
func TestPatternSubscriptionsAllGetOne(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			base := "com.pat." + kind
			topic := wamp.URI(base + ".x.update")
			both := h.join(kind)
			exact := both.subscribe(topic)
			prefix := both.subscribeWith(wamp.URI(base), wamp.Dict{"match": "prefix"})
			onlyWild := h.join(kind)
			wild := onlyWild.subscribeWith(wamp.URI(base+"..update"), wamp.Dict{"match": "wildcard"})
			wild2 := onlyWild.subscribeWith(wamp.URI(base+".x."), wamp.Dict{"match": "wildcard"})
			if len(map[wamp.ID]bool{exact: true, prefix: true, wild: true, wild2: true}) != 4 {
				t.Fatalf("subscription IDs not distinct: %d %d %d %d", exact, prefix, wild, wild2)
			}
			pubID := h.join("json").publishAck(topic, nil, "e")
			got := map[wamp.ID]wamp.Dict{}
			for _, p := range []*peer{both, both, onlyWild, onlyWild} {
				ev := expect[*wamp.Event](p)
				if ev.Publication != pubID {
					t.Fatalf("publication %d, want %d", ev.Publication, pubID)
				}
				if _, dup := got[ev.Subscription]; dup {
					t.Fatalf("two events for subscription %d", ev.Subscription)
				}
				got[ev.Subscription] = ev.Details
			}
			if len(got[exact]) != 0 {
				t.Errorf("exact subscription details %v, want none", got[exact])
			}
			for _, id := range []wamp.ID{prefix, wild, wild2} {
				if got[id]["topic"] != string(topic) {
					t.Errorf("pattern subscription %d details %v, want topic %s", id, got[id], topic)
				}
			}
			both.quiet()
			onlyWild.quiet()
		})
	}
}

func TestBlackWhiteListOptionsAreRead(t *testing.T) {
	// The parsed audience of each option, checked directly.
	s := func(id wamp.ID, authid, authrole string) *session {
		return &session{id: id, authid: authid, authrole: authrole}
	}
	alice, bob := s(1, "alice", "user"), s(2, "bob", "admin")
	for _, tc := range []struct {
		opts       wamp.Dict
		alice, bob bool
	}{
		{wamp.Dict{"exclude": wamp.List{int64(1)}}, false, true},
		{wamp.Dict{"eligible": wamp.List{float64(2)}}, false, true},
		{wamp.Dict{"exclude_authid": wamp.List{"bob"}}, true, false},
		{wamp.Dict{"eligible_authid": wamp.List{"bob"}}, false, true},
		{wamp.Dict{"exclude_authrole": wamp.List{"user"}}, false, true},
		{wamp.Dict{"eligible_authrole": wamp.List{"user"}}, true, false},
	} {
		p, err := newPublication(nil, "t", tc.opts, wamp.Payload{})
		if err != nil {
			t.Fatalf("%v: %v", tc.opts, err)
		}
		if got := [2]bool{p.audience.allows(alice), p.audience.allows(bob)}; got != [2]bool{tc.alice, tc.bob} {
			t.Errorf("%v: alice, bob allowed = %v, want %v %v", tc.opts, got, tc.alice, tc.bob)
		}
	}
	// Long lists are hashed rather than scanned: the same answers.
	long := wamp.List{}
	for i := range 3 * optionSetMapFrom {
		long = append(long, int64(100+i))
	}
	long = append(long, int64(2))
	longNames := wamp.List{}
	for i := range 3 * optionSetMapFrom {
		longNames = append(longNames, fmt.Sprint("user", i))
	}
	longNames = append(longNames, "alice")
	for _, tc := range []struct {
		opts       wamp.Dict
		alice, bob bool
	}{
		{wamp.Dict{"eligible": long}, false, true},
		{wamp.Dict{"exclude": long}, true, false},
		{wamp.Dict{"eligible_authid": longNames}, true, false},
		{wamp.Dict{"exclude_authid": longNames}, false, true},
	} {
		p, err := newPublication(nil, "t", tc.opts, wamp.Payload{})
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]bool{p.audience.allows(alice), p.audience.allows(bob)}; got != [2]bool{tc.alice, tc.bob} {
			t.Errorf("long list: alice, bob allowed = %v, want %v %v", got, tc.alice, tc.bob)
		}
	}

	p, err := newPublication(nil, "t", wamp.Dict{"acknowledge": true, "exclude_me": false}, wamp.Payload{})
	if err != nil || p.audience != nil {
		t.Fatalf("no lists: audience %v, err %v; want none", p.audience, err)
	}
	if p.excludeMe || p.topic != "t" {
		t.Fatalf("publication %+v", p)
	}
}

func TestClientsCannotPublishMetaEvents(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.join("json")
	watcher.subscribe("wamp.session.on_join")
	forger := h.join("json")
	expect[*wamp.Event](watcher) // the forger's real on_join
	for _, topic := range []wamp.URI{"wamp.session.on_join", "wamp"} {
		req := forger.req.Next()
		forger.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: topic})
		forger.expectError(wamp.TypePublish, req, wamp.URIInvalidURI)
	}
	watcher.quiet()
}

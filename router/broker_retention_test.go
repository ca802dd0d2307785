package router

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/wamp"
)

// subscribeRetained subscribes with get_retained and returns the
// subscription ID; the retained events follow.
func (p *peer) subscribeRetained(topic wamp.URI, opts wamp.Dict) wamp.ID {
	p.t.Helper()
	o := wamp.Dict{"get_retained": true}
	for k, v := range opts {
		o[k] = v
	}
	return p.subscribeWith(topic, o)
}

// expectRetained reads a retained EVENT and checks it.
func (p *peer) expectRetained(sub, pub wamp.ID, arg any) *wamp.Event {
	p.t.Helper()
	ev := p.expectEvent(sub, arg)
	if ev.Publication != pub || ev.Details["retained"] != true {
		p.t.Fatalf("retained EVENT publication %d details %v, want publication %d and retained", ev.Publication, ev.Details, pub)
	}
	return ev
}

func TestRetainedEvent(t *testing.T) {
	h := newHarness(t, Config{Realms: []string{"realm1", "other"}})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			topic := wamp.URI("sensor.temp." + kind)
			pub := h.join("json")
			// Retained even though nobody is subscribed.
			pub.publishAck(topic, wamp.Dict{"retain": true}, "first")
			last := pub.publishAck(topic, wamp.Dict{"retain": true}, int64(21), "celsius")
			pub.publishAck(topic, nil, "not retained")

			late := h.join(kind)
			sub := late.subscribeRetained(topic, nil)
			ev := late.expectRetained(sub, last, int64(21))
			if ev.Args[1] != "celsius" {
				t.Errorf("payload %v", ev.Args)
			}
			for _, k := range []string{"topic", "publisher"} {
				if _, ok := ev.Details[k]; ok {
					t.Errorf("details %v: %s on an exact, undisclosed retained event", ev.Details, k)
				}
			}
			// Then live events, without the retained flag.
			pub.publishAck(topic, nil, "live")
			if ev := late.expectEvent(sub, "live"); ev.Details["retained"] != nil {
				t.Errorf("live event details %v", ev.Details)
			}

			// Without get_retained, or with it false: no retained event.
			for _, opts := range []wamp.Dict{nil, {"get_retained": false}} {
				other := h.join(kind)
				id := other.subscribeWith(topic, opts)
				pub.publishAck(topic, nil, "next")
				other.expectEvent(id, "next")
			}
			late.expectEvent(sub, "next")
			late.expectEvent(sub, "next")

			// Subscribing again to the same subscription with get_retained
			// sends it again.
			if again := late.subscribeRetained(topic, nil); again != sub {
				t.Fatalf("second subscription %d, want %d", again, sub)
			}
			late.expectRetained(sub, last, int64(21))

			// Retained events are per realm.
			o := h.connect(kind)
			o.send(&wamp.Hello{Realm: "other", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}}}})
			expect[*wamp.Welcome](o)
			o.subscribeRetained(topic, nil)
			o.quiet()
		})
	}
	if got := testutil.ToFloat64(h.r.metrics.retainedTopics); got != float64(len(kinds)) {
		t.Errorf("retained topics gauge = %v, want %d", got, len(kinds))
	}
}

func TestRetainedEventDisclosesPublisher(t *testing.T) {
	h := newHarness(t, Config{})
	pub := h.joinAuthid("msgpack", "sensor-7")
	id := pub.publishAck("sensor.hum", wamp.Dict{"retain": true, "disclose_me": true}, 40.5)
	pub.leaveCleanly() // the publisher need not be around any more
	p := h.join("cbor")
	sub := p.subscribeRetained("sensor.hum", nil)
	ev := p.expectRetained(sub, id, 40.5)
	if toID(t, ev.Details["publisher"]) != pub.id || ev.Details["publisher_authid"] != "sensor-7" ||
		ev.Details["publisher_authrole"] != "anonymous" {
		t.Fatalf("details %v", ev.Details)
	}
}

// TestRetainedEventsOfPatternSubscriptions: a pattern subscription gets
// the retained event of every topic it matches, oldest first, with the
// topic.
func TestRetainedEventsOfPatternSubscriptions(t *testing.T) {
	h := newHarness(t, Config{})
	pub := h.join("json")
	ids := map[wamp.URI]wamp.ID{}
	for _, topic := range []wamp.URI{"site.a.temp", "site.a.hum", "site.b.temp", "other.temp", "site.a"} {
		ids[topic] = pub.publishAck(topic, wamp.Dict{"retain": true}, string(topic))
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			for _, tc := range []struct {
				topic  wamp.URI
				match  string
				topics []wamp.URI
			}{
				{"site.a.t", "prefix", []wamp.URI{"site.a.temp"}},
				{"site.a", "prefix", []wamp.URI{"site.a.temp", "site.a.hum", "site.a"}},
				{"site..temp", "wildcard", []wamp.URI{"site.a.temp", "site.b.temp"}},
				{".temp", "wildcard", []wamp.URI{"other.temp"}},
				{"..hum", "wildcard", []wamp.URI{"site.a.hum"}},
				{"...", "wildcard", nil},
				{"site.a", "exact", []wamp.URI{"site.a"}},
				{"site.c", "prefix", nil},
			} {
				p := h.join(kind)
				sub := p.subscribeRetained(tc.topic, wamp.Dict{"match": tc.match})
				for _, topic := range tc.topics {
					ev := p.expectRetained(sub, ids[topic], string(topic))
					if tc.match != "exact" && ev.Details["topic"] != string(topic) {
						t.Errorf("%s %s: details %v, want topic %s", tc.match, tc.topic, ev.Details, topic)
					}
				}
				p.quiet()
			}
		})
	}
}

// TestRetainedEventHonoursLists: a retained event goes only to whom it
// would have gone when published, and a subscriber outside the latest
// event's lists gets the latest it may see.
func TestRetainedEventHonoursLists(t *testing.T) {
	h := newHarness(t, Config{})
	pub := h.joinAuthid("local", "pub")
	const topic = "status"
	open := pub.publishAck(topic, wamp.Dict{"retain": true}, "open")
	pub.publishAck(topic, wamp.Dict{"retain": true, "eligible_authid": wamp.List{"alice"}}, "for alice")
	notBob := pub.publishAck(topic, wamp.Dict{"retain": true, "exclude_authid": wamp.List{"bob"}}, "not bob")

	alice := h.joinAuthid("json", "alice")
	bob := h.joinAuthid("msgpack", "bob")
	carol := h.joinAuthid("local", "carol")
	alice.expectRetained(alice.subscribeRetained(topic, nil), notBob, "not bob")
	carol.expectRetained(carol.subscribeRetained(topic, nil), notBob, "not bob")
	bob.expectRetained(bob.subscribeRetained(topic, nil), open, "open")

	// An event with no lists replaces them all.
	everyone := pub.publishAck(topic, wamp.Dict{"retain": true}, "everyone")
	for _, p := range []*peer{alice, bob, carol} {
		expect[*wamp.Event](p) // live
		p.expectRetained(p.subscribeRetained(topic, nil), everyone, "everyone")
	}

	// Nothing for a subscriber no retained event admits.
	secret := pub.publishAck("secret", wamp.Dict{"retain": true, "eligible_authid": wamp.List{"alice"}}, "s")
	bob.subscribeRetained("secret", nil)
	bob.quiet()
	alice.expectRetained(alice.subscribeRetained("secret", nil), secret, "s")

	// Session lists count too.
	dave, erin := h.join("cbor"), h.join("json")
	id := pub.publishAck("excluding.dave", wamp.Dict{"retain": true, "exclude": wamp.List{dave.id}}, "e")
	dave.subscribeRetained("excluding.dave", nil)
	dave.quiet()
	erin.expectRetained(erin.subscribeRetained("excluding.dave", nil), id, "e")

	// Restricted events pile up only to a bound: the oldest go first.
	pub.publishAck("bounded", wamp.Dict{"retain": true}, "base")
	ids := map[string]wamp.ID{}
	for i := range retainedPerTopic {
		who := string(rune('a' + i))
		ids[who] = pub.publishAck("bounded", wamp.Dict{"retain": true, "eligible_authid": wamp.List{who}}, who)
	}
	zed := h.joinAuthid("json", "zed")
	zed.subscribeRetained("bounded", nil)
	zed.quiet() // "base" was pushed out
	first := h.joinAuthid("json", "a")
	first.expectRetained(first.subscribeRetained("bounded", nil), ids["a"], "a")
}

package client

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// The tests of this file run the Advanced Profile's pub/sub features end
// to end against a real router; TestPublishOptionsWire checks what the
// client sends, against the fake router.

func TestPublishOptionsWire(t *testing.T) {
	s, r := join(t, nil)
	_, err := s.Publish(testContext(t), "test.topic", nil, nil, &PublishOptions{
		Acknowledge: true, DiscloseMe: true, Retain: true,
		Exclude: []wamp.ID{1, 2}, ExcludeAuthID: []string{"bob"}, ExcludeAuthRole: []string{"guest"},
		Eligible: []wamp.ID{3}, EligibleAuthID: []string{"alice", "carol"}, EligibleAuthRole: []string{"user"},
		Extra: wamp.Dict{"x": "y"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := r.received(wamp.TypePublish)[0].(*wamp.Publish).Options
	want := wamp.Dict{
		"acknowledge": true, "disclose_me": true, "retain": true,
		"exclude": wamp.List{int64(1), int64(2)}, "exclude_authid": wamp.List{"bob"}, "exclude_authrole": wamp.List{"guest"},
		"eligible": wamp.List{int64(3)}, "eligible_authid": wamp.List{"alice", "carol"}, "eligible_authrole": wamp.List{"user"},
		"x": "y",
	}
	if len(got) != len(want) {
		t.Errorf("PUBLISH options = %v, want %v", got, want)
	}
	for k, w := range want {
		if l, ok := w.(wamp.List); ok {
			if g, _ := got[k].(wamp.List); !slices.Equal(g, l) {
				t.Errorf("option %s = %#v, want %#v", k, got[k], w)
			}
		} else if got[k] != w {
			t.Errorf("option %s = %#v, want %#v", k, got[k], w)
		}
	}

	if _, err := s.Subscribe(testContext(t), "test.topic", func(context.Context, *Event) {}, &SubscribeOptions{GetRetained: true}); err != nil {
		t.Fatal(err)
	}
	sub := r.received(wamp.TypeSubscribe)[0].(*wamp.Subscribe)
	if sub.Options["get_retained"] != true {
		t.Errorf("SUBSCRIBE options = %v, want get_retained", sub.Options)
	}
}

// events records the events of one handler; flush tells when every event
// published before has been handled.
type events struct {
	collector[*Event]
}

func (e *events) handler(_ context.Context, ev *Event) { e.add(ev) }

// args returns the first argument of each event, as strings.
func (e *events) args() []string {
	var out []string
	for _, ev := range e.all() {
		s, _ := ev.ArgString(0)
		out = append(out, s)
	}
	return out
}

var flushes atomic.Int64

// flush returns once sub's handlers have handled the events pub published
// before: sub's events are dispatched in order, and a marker event pub
// publishes now comes after them.
func flush(t *testing.T, pub, sub *Session) {
	t.Helper()
	ctx := testContext(t)
	topic := wamp.URI("test.flush." + strconv.FormatInt(flushes.Add(1), 10))
	done := make(chan struct{})
	marker, err := sub.Subscribe(ctx, topic, func(context.Context, *Event) { close(done) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, topic, nil, nil, &PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	wait(t, "the marker event", done)
	if err := marker.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPublisherIdentification(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		sub, pub := rr.join(t, ""), rr.join(t, "alice")
		ctx := testContext(t)
		var got events
		if _, err := sub.Subscribe(ctx, "test.pubid", got.handler, nil); err != nil {
			t.Fatal(err)
		}
		for _, disclose := range []bool{true, false} {
			if _, err := pub.Publish(ctx, "test.pubid", nil, nil, &PublishOptions{DiscloseMe: disclose, Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
		}
		flush(t, pub, sub)
		evs := got.all()
		if len(evs) != 2 {
			t.Fatalf("got %d events, want 2", len(evs))
		}
		authrole, _ := wamp.DictString(pub.Details(), "authrole")
		if e := evs[0]; e.Publisher() != pub.ID() || e.PublisherAuthID() != "alice" || e.PublisherAuthRole() != authrole {
			t.Errorf("disclosed publisher = %d %q %q, want %d alice %q", e.Publisher(), e.PublisherAuthID(), e.PublisherAuthRole(), pub.ID(), authrole)
		}
		if e := evs[1]; e.Publisher() != 0 || e.PublisherAuthID() != "" || e.PublisherAuthRole() != "" {
			t.Errorf("undisclosed publisher = %d %q %q, want none", e.Publisher(), e.PublisherAuthID(), e.PublisherAuthRole())
		}
	})
}

func TestSubscriberBlackWhiteListing(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		ctx := testContext(t)
		pub := rr.join(t, "publisher")
		names := []string{"alice", "bob", "carol"}
		subs := map[string]*Session{}
		got := map[string]*events{}
		for _, name := range names {
			subs[name] = rr.join(t, name)
			got[name] = &events{}
			if _, err := subs[name].Subscribe(ctx, "test.bw", got[name].handler, nil); err != nil {
				t.Fatal(err)
			}
		}
		a, b, c := subs["alice"].ID(), subs["bob"].ID(), subs["carol"].ID()
		role, _ := wamp.DictString(subs["alice"].Details(), "authrole")
		tests := []struct {
			name string
			opts PublishOptions
			want []string
		}{
			{"no lists", PublishOptions{}, names},
			{"exclude", PublishOptions{Exclude: []wamp.ID{b}}, []string{"alice", "carol"}},
			{"exclude_authid", PublishOptions{ExcludeAuthID: []string{"alice", "carol"}}, []string{"bob"}},
			{"exclude_authrole", PublishOptions{ExcludeAuthRole: []string{role}}, nil},
			{"eligible", PublishOptions{Eligible: []wamp.ID{a, c}}, []string{"alice", "carol"}},
			{"eligible_authid", PublishOptions{EligibleAuthID: []string{"bob"}}, []string{"bob"}},
			{"eligible_authrole", PublishOptions{EligibleAuthRole: []string{role}}, names},
			{"eligible_authrole other", PublishOptions{EligibleAuthRole: []string{"nobody"}}, nil},
			{"eligible and exclude_authid", PublishOptions{Eligible: []wamp.ID{a, b}, ExcludeAuthID: []string{"bob"}}, []string{"alice"}},
			{"eligible_authid and exclude", PublishOptions{EligibleAuthID: []string{"alice", "bob", "carol"}, Exclude: []wamp.ID{a}}, []string{"bob", "carol"}},
		}
		for _, tt := range tests {
			opts := tt.opts
			opts.Acknowledge = true
			if _, err := pub.Publish(ctx, "test.bw", wamp.List{tt.name}, nil, &opts); err != nil {
				t.Fatalf("%s: Publish: %v", tt.name, err)
			}
		}
		for _, name := range names {
			flush(t, pub, subs[name])
		}
		for _, tt := range tests {
			var receivers []string
			for _, name := range names {
				if slices.Contains(got[name].args(), tt.name) {
					receivers = append(receivers, name)
				}
			}
			if !slices.Equal(receivers, tt.want) {
				t.Errorf("%s: received by %v, want %v", tt.name, receivers, tt.want)
			}
		}
	})
}

func TestEventRetention(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		ctx := testContext(t)
		pub, s := rr.join(t, ""), rr.join(t, "")
		for _, v := range []string{"v1", "v2"} {
			if _, err := pub.Publish(ctx, "test.retained", wamp.List{v}, nil, &PublishOptions{Retain: true, Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := pub.Publish(ctx, "test.retained", wamp.List{"not retained"}, nil, &PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}

		// The router sends retained events after SUBSCRIBED, with no
		// order promised against live events: wait for them before
		// publishing more.
		var plain, first, second events
		if _, err := s.Subscribe(ctx, "test.retained", plain.handler, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Subscribe(ctx, "test.retained", first.handler, &SubscribeOptions{GetRetained: true}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the retained event", func() bool { return first.len() > 0 })
		flush(t, pub, s)
		if got := first.args(); !slices.Equal(got, []string{"v2"}) {
			t.Fatalf("GetRetained subscription got %v, want the latest retained event [v2]", got)
		}
		if e := first.all()[0]; !e.Retained() || e.Topic() != "test.retained" {
			t.Errorf("retained event: Retained() = %v, Topic() = %q", e.Retained(), e.Topic())
		}
		// The router's subscription is shared: the second GetRetained
		// subscription gets the retained event, the others not again.
		if _, err := s.Subscribe(ctx, "test.retained", second.handler, &SubscribeOptions{GetRetained: true}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the retained event", func() bool { return second.len() > 0 })
		if _, err := pub.Publish(ctx, "test.retained", wamp.List{"v3"}, nil, &PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		flush(t, pub, s)
		for _, tt := range []struct {
			name string
			got  *events
			want []string
		}{
			{"plain", &plain, []string{"v3"}},
			{"first", &first, []string{"v2", "v3"}},
			{"second", &second, []string{"v2", "v3"}},
		} {
			if got := tt.got.args(); !slices.Equal(got, tt.want) {
				t.Errorf("%s subscription got %v, want %v", tt.name, got, tt.want)
			}
			if evs := tt.got.all(); len(evs) > 0 && evs[len(evs)-1].Retained() {
				t.Errorf("%s subscription: live event has Retained() true", tt.name)
			}
		}

		// A pattern subscription gets the retained event of each topic.
		if _, err := pub.Publish(ctx, "test.retained.sub", wamp.List{"w1"}, nil, &PublishOptions{Retain: true, Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		other := rr.join(t, "")
		var pattern events
		if _, err := other.Subscribe(ctx, "test.retained", pattern.handler, &SubscribeOptions{Match: wamp.MatchPrefix, GetRetained: true}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "2 retained events", func() bool { return pattern.len() >= 2 })
		flush(t, pub, other)
		topics := map[string]wamp.URI{}
		for _, e := range pattern.all() {
			if !e.Retained() {
				t.Errorf("event %v not retained", e.Args)
			}
			s, _ := e.ArgString(0)
			topics[s] = e.Topic()
		}
		if pattern.len() != 2 || topics["v2"] != "test.retained" || topics["w1"] != "test.retained.sub" {
			t.Errorf("prefix subscription got retained events %v, want v2 on test.retained and w1 on test.retained.sub", topics)
		}
	})
}

func TestPatternSubscription(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		ctx := testContext(t)
		pub, s := rr.join(t, ""), rr.join(t, "")
		var exact, prefix, wildcard events
		for _, sub := range []struct {
			topic wamp.URI
			match wamp.MatchPolicy
			got   *events
		}{
			{"test.ps.leaf", wamp.MatchExact, &exact},
			{"test.ps", wamp.MatchPrefix, &prefix},
			{"test..leaf", wamp.MatchWildcard, &wildcard},
		} {
			if _, err := s.Subscribe(ctx, sub.topic, sub.got.handler, &SubscribeOptions{Match: sub.match}); err != nil {
				t.Fatalf("Subscribe %s %s: %v", sub.match, sub.topic, err)
			}
		}
		for _, topic := range []wamp.URI{"test.ps.leaf", "test.ps.other", "test.x.leaf", "test.x.y"} {
			if _, err := pub.Publish(ctx, topic, wamp.List{string(topic)}, nil, &PublishOptions{Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
		}
		flush(t, pub, s)
		for _, tt := range []struct {
			name string
			got  *events
			want []string
		}{
			{"exact", &exact, []string{"test.ps.leaf"}},
			{"prefix", &prefix, []string{"test.ps.leaf", "test.ps.other"}},
			{"wildcard", &wildcard, []string{"test.ps.leaf", "test.x.leaf"}},
		} {
			var topics []string
			for _, e := range tt.got.all() {
				topics = append(topics, string(e.Topic()))
				if published, _ := e.ArgString(0); published != string(e.Topic()) {
					t.Errorf("%s: event published to %s has Topic() %s", tt.name, published, e.Topic())
				}
			}
			if !slices.Equal(topics, tt.want) {
				t.Errorf("%s subscription got %v, want %v", tt.name, topics, tt.want)
			}
		}
	})
}

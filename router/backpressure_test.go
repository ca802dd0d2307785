package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// TestFastPublisherIsSlowedNotItsSubscribersCut: one publisher sending as
// fast as it can to subscribers slower than it (each takes a little time
// per event) over real WebSocket connections, with small outbound queues:
// the router holds the publisher back, every subscriber stays connected
// and gets every event in order.
func TestFastPublisherIsSlowedNotItsSubscribersCut(t *testing.T) {
	const events, subscribers = 6000, 8
	h := newHarness(t, Config{Transport: transport.Config{OutboundQueue: 256}})
	// A stall of up to a second rather than 10 ms: a subscriber the test
	// machine starves of CPU for a while must not be cut as slow, which
	// the 10 ms policy allows once it is behind by half its queue.
	h.r.stallMax.Store(int64(time.Second))
	payload := strings.Repeat("p", 1024) // fills socket buffers, so that queues grow

	type result struct {
		got int
		err error
	}
	results := make(chan result, subscribers)
	ready := make(chan struct{}, subscribers)
	for range subscribers {
		go func() {
			p, err := transport.Dial(context.Background(), h.url, transport.Config{Serializers: []codec.Codec{codec.JSON}})
			if err != nil {
				results <- result{err: err}
				return
			}
			defer p.Close()
			p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}}}})
			p.Read() // WELCOME
			p.Send(&wamp.Subscribe{Request: 1, Topic: "fast"})
			p.Read() // SUBSCRIBED
			ready <- struct{}{}
			n := 0
			for n < events {
				m, err := p.Read()
				if err != nil {
					results <- result{got: n, err: err}
					return
				}
				ev, ok := m.(*wamp.Event)
				if !ok {
					continue
				}
				args, _, err := codec.Values(&ev.Payload)
				if err != nil || len(args) == 0 || args[0] != int64(n) {
					results <- result{got: n, err: err}
					return
				}
				n++
				// A consumer slower than the publisher: it spends a
				// little time on each event.
				time.Sleep(20 * time.Microsecond)
			}
			results <- result{got: n}
		}()
	}
	for range subscribers {
		select {
		case <-ready:
		case r := <-results:
			t.Fatalf("subscriber failed to start: %v", r.err)
		}
	}
	pub := h.join("msgpack")
	for i := range events {
		opts := wamp.Dict{}
		if i%500 == 499 { // bounds the publisher's own queue, not the router's
			opts["acknowledge"] = true
		}
		pub.send(&wamp.Publish{Request: wamp.ID(i + 1), Topic: "fast", Options: opts, Payload: wamp.Payload{Args: wamp.List{i, payload}}})
		if i%500 == 499 {
			expect[*wamp.Published](pub)
		}
	}
	for range subscribers {
		select {
		case r := <-results:
			if r.err != nil || r.got != events {
				t.Errorf("subscriber got %d of %d events in order, then %v", r.got, events, r.err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("subscribers did not get every event")
		}
	}
	if n := testutil.ToFloat64(h.r.metrics.publisherStalls); n == 0 {
		t.Error("the publisher was never held back: the test did not exercise backpressure")
	}
	if n := testutil.ToFloat64(h.r.metrics.slowConsumers); n != 0 {
		t.Errorf("%v subscribers cut as slow consumers", n)
	}
}

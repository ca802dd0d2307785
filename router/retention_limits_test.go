package router

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/wamp"
)

// TestRetainedEventsAreBounded: a session parking big retained events
// (the attack: 200 of 1 MiB each; here 60 of 256 KiB) is refused past the realm's byte and
// topic limits, acknowledged publishes get the error, unacknowledged ones
// are still delivered but not retained, the refusals are counted and
// logged a few times only, and others go on.
func TestRetainedEventsAreBounded(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, Config{Logger: logs.logger(), Limits: Limits{MaxRetainedTopics: 50, MaxRetainedBytes: 3 << 18}})
	attacker := h.join("json")
	bystander := h.join("msgpack")
	big := strings.Repeat("x", 1<<18)
	start := time.Now()
	kept := 0
	refused := 0
	for i := range 60 {
		req := attacker.req.Next()
		attacker.send(&wamp.Publish{Request: req, Topic: wamp.URI(fmt.Sprintf("park.%d", i)),
			Options: wamp.Dict{"acknowledge": true, "retain": true}, Payload: wamp.Payload{Args: wamp.List{big}}})
		switch m := attacker.next().(type) {
		case *wamp.Published:
			kept++
		case *wamp.ErrorMessage:
			if m.Error != URIRetainLimitExceeded || m.Request != req || !strings.Contains(fmt.Sprint(m.Args), "max_retained_bytes") {
				t.Fatalf("refusal %+v", m)
			}
			refused++
		default:
			t.Fatalf("got %#v", m)
		}
	}
	if kept != 2 || refused != 58 {
		t.Fatalf("%d retained, %d refused; want 2 (768 KiB of 256 KiB events) and 58", kept, refused)
	}
	h.r.mu.Lock()
	rl := h.r.realms["realm1"]
	h.r.mu.Unlock()
	retained := func() (topics int, bytes int64) {
		rl.broker.retainMu.RLock()
		defer rl.broker.retainMu.RUnlock()
		return len(rl.broker.retained), rl.broker.retainedBytes
	}
	if _, b := retained(); b > 3<<18 {
		t.Fatalf("%d bytes retained, over the 768 KiB limit", b)
	}
	if n := testutil.ToFloat64(h.r.metrics.limitsExceeded.WithLabelValues(limitRetained)); n != 58 {
		t.Fatalf("refusals counted: %v", n)
	}
	// One line a second at most, each saying how many it stands for.
	lines := strings.Count(logs.String(), "limit exceeded: max_retained")
	if most := int(time.Since(start)/time.Second) + 1; lines < 1 || lines > most {
		t.Fatalf("%d log lines for 58 refusals in %v: want at most %d", lines, time.Since(start), most)
	}

	// Without acknowledge, the event is delivered, not retained.
	sub := bystander.subscribe("park.more")
	attacker.send(&wamp.Publish{Request: attacker.req.Next(), Topic: "park.more",
		Options: wamp.Dict{"retain": true}, Payload: wamp.Payload{Args: wamp.List{big}}})
	bystander.expectEvent(sub, big)
	late := h.join("json")
	late.send(&wamp.Subscribe{Request: 1, Topic: "park.more", Options: wamp.Dict{"get_retained": true}})
	expect[*wamp.Subscribed](late)
	late.quiet()

	// Replacing a topic's retained event by a smaller one is allowed.
	attacker.publishAck("park.0", wamp.Dict{"retain": true}, "small")
	attacker.publishAck("park.fresh", wamp.Dict{"retain": true}, "fits now")

	// Topic count: small events, up to 50 topics.
	for i := range 60 {
		req := attacker.req.Next()
		attacker.send(&wamp.Publish{Request: req, Topic: wamp.URI(fmt.Sprintf("tiny.%d", i)),
			Options: wamp.Dict{"acknowledge": true, "retain": true}, Payload: wamp.Payload{Args: wamp.List{i}}})
		m := attacker.next()
		if e, ok := m.(*wamp.ErrorMessage); ok {
			if !strings.Contains(fmt.Sprint(e.Args), "max_retained_topics") {
				t.Fatalf("refusal %+v", e)
			}
			if got, _ := retained(); got != 50 {
				t.Fatalf("refused at %d topics, want 50", got)
			}
			break
		}
		if i == 59 {
			t.Fatal("60 more topics retained: no topic limit")
		}
	}
	stillWorks(bystander, late, "after.the.attack")
}

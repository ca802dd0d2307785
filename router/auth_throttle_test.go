package router

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// fakeThrottleClock is the throttle's clock and sleep in tests: sleeping
// records the delay and moves the clock on.
type fakeThrottleClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeThrottleClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeThrottleClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeThrottleClock) sleep(d time.Duration, _ <-chan struct{}) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return true
}

func (c *fakeThrottleClock) taken() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sleeps
	c.sleeps = nil
	return s
}

func newFakeThrottle() (*throttle, *fakeThrottleClock) {
	c := &fakeThrottleClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	return &throttle{now: c.now, sleep: c.sleep}, c
}

func TestThrottleDelays(t *testing.T) {
	th, clock := newFakeThrottle()
	const host = "192.0.2.1"
	attempt := func() time.Duration {
		t.Helper()
		if err := th.wait(host, nil); err != nil {
			t.Fatalf("attempt refused: %v", err)
		}
		s := clock.taken()
		th.failed(host)
		clock.advance(time.Second) // the client tries again a second later
		if len(s) == 0 {
			return 0
		}
		return s[0]
	}
	want := []time.Duration{0, 0, 0, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := attempt(); got != w {
			t.Errorf("attempt %d waited %v, want %v", i+1, got, w)
		}
	}
	// Another host is not slowed down.
	if d, ok := th.delay("192.0.2.2"); d != 0 || !ok {
		t.Errorf("another host: delay %v, %v", d, ok)
	}
	// A minute without failures, and the host is forgiven.
	clock.advance(time.Minute + time.Second)
	if got := attempt(); got != 0 {
		t.Errorf("after a quiet minute: waited %v", got)
	}
}

func TestThrottleQueuesParallelAttempts(t *testing.T) {
	th, _ := newFakeThrottle()
	const host = "192.0.2.1"
	for range 3 {
		th.failed(host)
	}
	// Attempts that start together wait their turn: one per delay, and
	// past the queue's bound they are refused at once.
	var got []time.Duration
	for {
		d, ok := th.delay(host)
		if !ok {
			break
		}
		got = append(got, d)
		if len(got) > 100 {
			t.Fatal("attempts never refused")
		}
	}
	if len(got) != 40 || got[0] != 500*time.Millisecond || got[1] != time.Second || got[39] != 20*time.Second {
		t.Errorf("parallel attempts waited %v", got)
	}
	if err := th.wait(host, nil); err == nil || err.reason != wamp.URIAuthenticationFailed || err.counts {
		t.Errorf("refused attempt: %+v", err)
	}
}

func TestThrottleMemoryBounded(t *testing.T) {
	th, clock := newFakeThrottle()
	th.hosts = 100
	for i := range 1000 {
		th.failed(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		clock.advance(time.Millisecond)
	}
	if n := len(th.record); n > 100 {
		t.Errorf("%d hosts remembered, at most 100 allowed", n)
	}
}

func TestThrottleKey(t *testing.T) {
	for addr, want := range map[transport.Info]string{
		{Transport: "websocket", RemoteAddr: "192.0.2.1:4242"}:           "192.0.2.1",
		{Transport: "websocket", RemoteAddr: "[::ffff:192.0.2.1]:4242"}:  "192.0.2.1",
		{Transport: "rawsocket", RemoteAddr: "[2001:db8:1:2:3::4]:4242"}: "2001:db8:1:2::/64",
		{Transport: "rawsocket", RemoteAddr: "unix:/run/junction.sock"}:  "unix:/run/junction.sock",
		{Transport: "local", RemoteAddr: "in-process"}:                   "",
	} {
		if got := throttleKey(addr); got != want {
			t.Errorf("throttleKey(%v) = %q, want %q", addr, got, want)
		}
	}
}

// TestThrottleHandshake checks that failed authentications over the
// network slow down the next ones from the same address, and only those
// that need credentials.
func TestThrottleHandshake(t *testing.T) {
	h := newAuthHarness(t, nil)
	clock := &fakeThrottleClock{t: time.Now()}
	h.r.auth.throttle.now, h.r.auth.throttle.sleep = clock.now, clock.sleep
	fail := func() {
		t.Helper()
		p := h.hello("json", wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "wrong", Extra: wamp.Dict{}})
		p.expectAbort(wamp.URIAuthenticationFailed)
	}
	for range 3 {
		fail()
	}
	if s := clock.taken(); len(s) != 0 {
		t.Fatalf("first failures slept %v", s)
	}
	// Anonymous sessions, and in-process ones, are not slowed down.
	if w := expect[*wamp.Welcome](h.hello("json", nil)); w.Details["authrole"] != "guest" {
		t.Fatalf("anonymous WELCOME %v", w.Details)
	}
	p := h.hello("local", wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "secret-ticket", Extra: wamp.Dict{}})
	p.welcomed("joe", "user", "ticket", "static")
	if s := clock.taken(); len(s) != 0 {
		t.Fatalf("anonymous or in-process sessions slept %v", s)
	}
	fail()
	fail()
	if s := clock.taken(); len(s) != 2 || s[0] != 500*time.Millisecond || s[1] < time.Second {
		t.Fatalf("later failures slept %v", s)
	}
}

// TestThrottleIsPerAuthidBehindOneAddress: a user mistyping a ticket from
// an address (a NAT) is slowed down; another user from the same address
// is not, until the address as a whole fails sprayThreshold times. Every
// refusal reads the same.
func TestThrottleIsPerAuthidBehindOneAddress(t *testing.T) {
	h := newAuthHarness(t, nil)
	clock := &fakeThrottleClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, th := range []*throttle{&h.r.auth.throttle, &h.r.auth.spray} {
		th.now, th.sleep = clock.now, clock.sleep
	}
	try := func(authid, ticket string) (time.Duration, *wamp.Abort, bool) {
		t.Helper()
		p := h.hello("json", wamp.Dict{"authmethods": methods("ticket"), "authid": authid})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: ticket, Extra: wamp.Dict{}})
		var waited time.Duration
		for _, d := range clock.taken() {
			waited += d
		}
		switch m := p.next().(type) {
		case *wamp.Welcome:
			return waited, nil, true
		case *wamp.Abort:
			return waited, m, false
		default:
			t.Fatalf("got %#v", m)
		}
		return 0, nil, false
	}
	var refusal string
	for i := range 5 {
		waited, a, ok := try("mallory", "guess")
		if ok || a.Reason != wamp.URIAuthenticationFailed {
			t.Fatalf("attempt %d: %v %+v", i, ok, a)
		}
		if i >= 3 && waited == 0 {
			t.Fatalf("attempt %d by the same authid was not slowed down", i+1)
		}
		refusal = fmt.Sprint(a.Details["message"])
		clock.advance(time.Second)
	}
	// joe, behind the same address, is not slowed by mallory's failures.
	if waited, _, ok := try("joe", "secret-ticket"); !ok || waited != 0 {
		t.Fatalf("joe: welcomed %v after waiting %v", ok, waited)
	}
	// Spraying many authids from the address is slowed down past the
	// address-wide threshold, and refused with the same words.
	var slowed bool
	for i := range sprayThreshold {
		waited, a, _ := try(fmt.Sprintf("user%d", i), "guess")
		if fmt.Sprint(a.Details["message"]) != refusal {
			t.Fatalf("refusal %q, want the same as any other: %q", a.Details["message"], refusal)
		}
		slowed = slowed || waited > 0
		clock.advance(time.Second)
	}
	if !slowed {
		t.Fatalf("%d failures with different authids from one address were never slowed down", sprayThreshold)
	}
}

package router

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// logBuffer collects a router's logs for tests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// logged waits a little for a log line containing every one of want: the
// line may be written just after the client sees the router's answer.
func (b *logBuffer) logged(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.SplitSeq(b.String(), "\n") {
			all := true
			for _, w := range want {
				all = all && strings.Contains(line, w)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", want, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) limitHits(limit string) float64 {
	return testutil.ToFloat64(h.r.metrics.limitsExceeded.WithLabelValues(limit))
}

// joinRealm connects and sends HELLO for realm, returning the peer and
// the router's answer, WELCOME or ABORT.
func (h *harness) joinRealm(kind string, realm wamp.URI) (*peer, wamp.Message) {
	h.t.Helper()
	p := h.connect(kind)
	p.send(&wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}, "publisher": wamp.Dict{},
		"caller": wamp.Dict{}, "callee": wamp.Dict{}}}})
	m := p.next()
	if w, ok := m.(*wamp.Welcome); ok {
		p.id = w.Session
	}
	return p, m
}

// expectAbort checks that m is an ABORT with reason uri.
func expectAbort(t *testing.T, m wamp.Message, uri wamp.URI) {
	t.Helper()
	a, ok := m.(*wamp.Abort)
	if !ok || a.Reason != uri {
		t.Fatalf("got %s %#v, want ABORT %s", m.Type(), m, uri)
	}
	if msg, _ := wamp.DictString(a.Details, "message"); msg == "" {
		t.Fatalf("ABORT %s without a message", uri)
	}
}

// stillWorks checks that a and b route to each other.
func stillWorks(a, b *peer, topic wamp.URI) {
	b.t.Helper()
	sub := b.subscribe(topic)
	a.publishAck(topic, nil, "ping")
	b.expectEvent(sub, "ping")
}

func TestLimitsDefaults(t *testing.T) {
	for _, tc := range []struct {
		in, want Limits
	}{
		{Limits{}, Limits{MaxRetainedTopics: 10000, MaxRetainedBytes: 64 << 20, MaxSessions: 100000, MaxSessionsPerRealm: 100000, MaxSubscriptionsPerSession: 10000, MaxRegistrationsPerSession: 10000}},
		{Limits{MaxSessions: 50}, Limits{MaxRetainedTopics: 10000, MaxRetainedBytes: 64 << 20, MaxSessions: 50, MaxSessionsPerRealm: 50, MaxSubscriptionsPerSession: 10000, MaxRegistrationsPerSession: 10000}},
		{Limits{MaxSessions: -1, MaxSubscriptionsPerSession: -1}, Limits{MaxRetainedTopics: 10000, MaxRetainedBytes: 64 << 20, MaxSessions: -1, MaxSessionsPerRealm: -1, MaxSubscriptionsPerSession: -1, MaxRegistrationsPerSession: 10000}},
		{Limits{MessageRate: 2.5}, Limits{MaxRetainedTopics: 10000, MaxRetainedBytes: 64 << 20, MaxSessions: 100000, MaxSessionsPerRealm: 100000, MaxSubscriptionsPerSession: 10000, MaxRegistrationsPerSession: 10000, MessageRate: 2.5, MessageBurst: 3}},
		{Limits{MessageRate: 0.1}, Limits{MaxRetainedTopics: 10000, MaxRetainedBytes: 64 << 20, MaxSessions: 100000, MaxSessionsPerRealm: 100000, MaxSubscriptionsPerSession: 10000, MaxRegistrationsPerSession: 10000, MessageRate: 0.1, MessageBurst: 1}},
		{Limits{HelloTimeout: time.Second}, Limits{MaxRetainedTopics: 10000, MaxRetainedBytes: 64 << 20, MaxSessions: 100000, MaxSessionsPerRealm: 100000, MaxSubscriptionsPerSession: 10000, MaxRegistrationsPerSession: 10000, HelloTimeout: time.Second}},
	} {
		if got := tc.in.withDefaults(); got != tc.want {
			t.Errorf("%+v.withDefaults() = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		l    Limits
		want string // "" for valid
	}{
		{Limits{}, ""},
		{Limits{MessageRate: 1000, MessageBurst: 50}, ""},
		{Limits{MessageRate: -1}, ""},
		{Limits{MessageRate: math.NaN()}, "message_rate NaN is not a number"},
		{Limits{MessageRate: math.Inf(1)}, "message_rate +Inf is not a number"},
		{Limits{MessageRate: 10, MessageBurst: -1}, "message_burst -1"},
		{Limits{MessageRate: 1e-6}, "below one message a day"},
		{Limits{MessageRate: 1e10}, "over a message a nanosecond"},
		{Limits{MessageRate: 0.001, MessageBurst: math.MaxInt / 2}, "message_burst"},
	} {
		_, err := New(Config{Limits: tc.l})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.l, err)
		case tc.want != "" && (!errors.Is(err, ErrInvalidLimits) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: %v, want ErrInvalidLimits with %q", tc.l, err, tc.want)
		}
	}
}

// TestMessageRateBucket drives the bucket with a made-up clock.
func TestMessageRateBucket(t *testing.T) {
	r := newMessageRate(Limits{MessageRate: 10, MessageBurst: 3}.withDefaults()) // one message per 100ms, bursts of 3
	ms := int64(time.Millisecond)
	var tat int64
	step := func(now int64, want bool) {
		t.Helper()
		var ok bool
		tat, ok = r.allow(tat, now)
		if ok != want {
			t.Fatalf("message at %dms allowed=%v, want %v", now/ms, ok, want)
		}
	}
	start := 5000 * ms
	step(start, true) // a full bucket: three at once
	step(start, true)
	step(start, true)
	step(start, false)
	step(start+99*ms, false) // the first token comes back after 100ms
	step(start+100*ms, true)
	step(start+150*ms, false)
	step(start+200*ms, true)
	// Idle for long: the bucket refills to 3, not more.
	later := start + 10_000*ms
	step(later, true)
	step(later, true)
	step(later, true)
	step(later, false)
	// A steady 10 a second goes through for ever.
	for i := range int64(100) {
		step(later+100*ms*(i+1), true)
	}
	// A rate under 1 a second: one message, then one every 4s.
	r = newMessageRate(Limits{MessageRate: 0.25}.withDefaults())
	tat = 0
	step(start, true)
	step(start+3999*ms, false)
	step(start+4000*ms, true)
}

func TestMaxSessions(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, Config{Realms: []string{"realm1", "realm2"}, Limits: Limits{MaxSessions: 3}, Logger: logs.logger()})
	a := h.join("json")
	b, _ := h.joinRealm("msgpack", "realm2")
	c := h.join("local")
	for _, kind := range []string{"json", "cbor", "local"} {
		_, m := h.joinRealm(kind, "realm2")
		expectAbort(t, m, URITooManySessions)
	}
	logs.logged(t, "limit exceeded: max_sessions", "realm=realm2")
	if got := h.limitHits(limitSessions); got != 3 {
		t.Fatalf("max_sessions hits = %v, want 3", got)
	}
	if n := h.r.SessionCount(); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
	// The sessions in place are untouched.
	stillWorks(a, c, "limits.sessions")
	b.publishAck("limits.sessions", nil, "other realm")
	c.quiet()
	// A session that leaves makes room.
	a.leaveCleanly()
	d, m := h.joinRealm("cbor", "realm2")
	if _, ok := m.(*wamp.Welcome); !ok {
		t.Fatalf("after a session left: %s %#v", m.Type(), m)
	}
	stillWorks(b, d, "limits.sessions.2")
}

func TestMaxSessionsPerRealm(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, Config{Realms: []string{"realm1", "realm2"}, Limits: Limits{MaxSessions: 10, MaxSessionsPerRealm: 2}, Logger: logs.logger()})
	a, b := h.join("json"), h.join("local")
	_, m := h.joinRealm("cbor", "realm1")
	expectAbort(t, m, URITooManySessions)
	logs.logged(t, "limit exceeded: max_sessions_per_realm", "realm=realm1")
	// Other realms have room of their own.
	c, m := h.joinRealm("msgpack", "realm2")
	if _, ok := m.(*wamp.Welcome); !ok {
		t.Fatalf("realm2: %s %#v", m.Type(), m)
	}
	d, _ := h.joinRealm("json", "realm2")
	stillWorks(a, b, "limits.realm")
	stillWorks(c, d, "limits.realm")
	if got, gotTotal := h.limitHits(limitRealmSessions), h.limitHits(limitSessions); got != 1 || gotTotal != 0 {
		t.Fatalf("hits: per realm %v, total %v; want 1, 0", got, gotTotal)
	}
	b.leaveCleanly()
	if _, m := h.joinRealm("cbor", "realm1"); m.Type() != wamp.TypeWelcome {
		t.Fatalf("after a session left: %s %#v", m.Type(), m)
	}
}

func TestMaxSubscriptionsPerSession(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, Config{Limits: Limits{MaxSubscriptionsPerSession: 2}, Logger: logs.logger()})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p, other := h.join(kind), h.join("json")
			first := p.subscribe("limits.a")
			p.subscribeWith("limits.", wamp.Dict{"match": "prefix"})
			req := p.req.Next()
			p.send(&wamp.Subscribe{Request: req, Topic: "limits.c"})
			e := p.expectError(wamp.TypeSubscribe, req, URITooManySubscriptions)
			if len(e.Args) == 0 || !strings.Contains(e.Args[0].(string), "at most 2 subscriptions") {
				t.Fatalf("error args %v", e.Args)
			}
			// Subscribing again to what it holds adds nothing: allowed.
			if again := p.subscribe("limits.a"); again != first {
				t.Fatalf("subscribing again: %d, want %d", again, first)
			}
			// The session lives on, and its subscriptions work.
			other.publishAck("limits.a", nil, "x")
			p.expectEvent(first, "x")
			expect[*wamp.Event](p) // through the prefix subscription
			// The limit is per session.
			other.subscribe("limits.c")
			other.subscribe("limits.d")
			// Unsubscribing makes room.
			p.send(&wamp.Unsubscribe{Request: p.req.Next(), Subscription: first})
			expect[*wamp.Unsubscribed](p)
			p.subscribe("limits.c")
		})
	}
	logs.logged(t, "limit exceeded: max_subscriptions_per_session", "topic=limits.c", "max=2")
	if got := h.limitHits(limitSubscriptions); got != float64(len(kinds)) {
		t.Fatalf("hits = %v, want %d", got, len(kinds))
	}
}

func TestMaxRegistrationsPerSession(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, Config{Limits: Limits{MaxRegistrationsPerSession: 1}, Logger: logs.logger()})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p, other := h.join(kind), h.join("json")
			proc := wamp.URI("limits.one." + kind)
			reg := p.register(proc)
			req := p.req.Next()
			p.send(&wamp.Register{Request: req, Procedure: "limits.two." + wamp.URI(kind)})
			p.expectError(wamp.TypeRegister, req, URITooManyRegistrations)
			// The session lives on: its procedure is called.
			call := other.call(proc, nil, "hi")
			inv := expect[*wamp.Invocation](p)
			p.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: wamp.List{"back"}}})
			if res := expect[*wamp.Result](other); res.Request != call {
				t.Fatalf("RESULT for %d, want %d", res.Request, call)
			}
			other.register("limits.two." + wamp.URI(kind))
			p.send(&wamp.Unregister{Request: p.req.Next(), Registration: reg})
			expect[*wamp.Unregistered](p)
			p.register("limits.three." + wamp.URI(kind))
		})
	}
	logs.logged(t, "limit exceeded: max_registrations_per_session", "max=1")
	if got := h.limitHits(limitRegistrations); got != float64(len(kinds)) {
		t.Fatalf("hits = %v, want %d", got, len(kinds))
	}
}

// TestMessageRate: a session over the rate is ended with an ABORT once
// its burst is spent; others, below it, go on. The rate is so low that
// no token comes back while the test runs.
func TestMessageRate(t *testing.T) {
	var logs logBuffer
	h := newHarness(t, Config{Limits: Limits{MessageRate: 0.001, MessageBurst: 5}, Logger: logs.logger()})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			flood, calm := h.join(kind), h.join("json")
			sub := calm.subscribe("limits.rate") // calm's 1st message
			for i := range 5 {
				msg := fmt.Sprint("flood ", i)
				flood.publishAck("limits.rate", nil, msg)
				calm.expectEvent(sub, msg)
			}
			flood.send(&wamp.Publish{Request: flood.req.Next(), Topic: "limits.rate", Payload: wamp.Payload{Args: wamp.List{"too many"}},
				Options: wamp.Dict{"acknowledge": true}})
			expectAbort(t, flood.next(), URIRateLimitExceeded)
			flood.ended()
			calm.quiet() // the message over the rate was not routed
			// calm has sent 1 message: 4 more are within its burst.
			other := h.join("msgpack")
			for i := range 3 {
				msg := fmt.Sprint("other ", i)
				other.publishAck("limits.rate", nil, msg)
				calm.expectEvent(sub, msg)
			}
			calm.publishAck("limits.rate", nil, "calm")
		})
	}
	logs.logged(t, "limit exceeded: message_rate", "message_rate=0.001", "message_burst=5")
	if got := h.limitHits(limitMessageRate); got != float64(len(kinds)) {
		t.Fatalf("hits = %v, want %d", got, len(kinds))
	}
}

// TestMaxMessageSize sends a message over Transport.MaxMessageSize on a
// joined session over WebSocket and over RawSocket (TCP and Unix): that
// connection alone is closed, logged and counted; a session on the same
// transport goes on.
func TestMaxMessageSize(t *testing.T) {
	var logs logBuffer
	r, urls := rawSocketRouter(t, Config{Transport: transport.Config{MaxMessageSize: 4096}, Logger: logs.logger()})
	hello := `[1,"realm1",{"roles":{"publisher":{},"subscriber":{}}}]`
	for i, network := range []string{"websocket", "tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			s := rsSession(t, urls[network], codec.JSON)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := make(chan string, 1)
			if _, err := s.Subscribe(ctx, "limits.size", func(_ context.Context, e *client.Event) {
				m, _ := e.Arg(0).(string)
				got <- m
			}, nil); err != nil {
				t.Fatal(err)
			}
			var send func([]byte)
			var closed func() bool
			if network == "websocket" {
				conn, br := rawWS(t, urls[network])
				writeJSON(t, conn, hello)
				if m := readJSON(t, conn, br); !strings.HasPrefix(m, "[2,") {
					t.Fatalf("WELCOME expected, got %s", m)
				}
				send = func(b []byte) { ws.WriteFrame(conn, ws.MaskFrame(ws.NewTextFrame(b))) }
				closed = func() bool {
					// The router answers with close code 1009.
					conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					h, err := ws.ReadHeader(br)
					if err != nil || h.OpCode != ws.OpClose {
						return false
					}
					body := make([]byte, h.Length)
					io.ReadFull(br, body)
					return len(body) >= 2 && binary.BigEndian.Uint16(body) == uint16(ws.StatusMessageTooBig)
				}
			} else {
				conn := rawRS(t, urls[network])
				rsWrite(t, conn, []byte(hello))
				if m := rsRead(t, conn); !strings.HasPrefix(m, "[2,") {
					t.Fatalf("WELCOME expected, got %s", m)
				}
				send = func(b []byte) { rsWrite(t, conn, b) }
				closed = func() bool {
					// Closed by the router: EOF, or a reset as what it
					// did not read is dropped; not a timeout.
					conn.SetReadDeadline(time.Now().Add(5 * time.Second))
					_, err := io.Copy(io.Discard, conn)
					var ne net.Error
					return !errors.As(err, &ne) || !ne.Timeout()
				}
			}
			send([]byte(`[16,1,{},"limits.size",["` + strings.Repeat("x", 4096) + `"]]`))
			if !closed() {
				t.Fatal("connection not closed after an oversized message")
			}
			exclude := false
			if _, err := s.Publish(ctx, "limits.size", wamp.List{"still here"}, nil, &client.PublishOptions{Acknowledge: true, ExcludeMe: &exclude}); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-got:
				if m != "still here" {
					t.Fatalf("event %q", m)
				}
			case <-ctx.Done():
				t.Fatal("no event")
			}
			// The router counts and logs the limit as it drops the
			// connection, maybe just after the client saw it closed; the
			// subtests share the log and the metric, so wait for this
			// one's count. Lines are at most one a second per limit: the
			// first is written, later ones within the second only counted.
			deadline := time.Now().Add(5 * time.Second)
			for {
				hits := testutil.ToFloat64(r.metrics.limitsExceeded.WithLabelValues(limitMaxMessageSize))
				lines := strings.Count(logs.String(), "limit exceeded: max_message_size")
				if hits == float64(i+1) && lines >= 1 && lines <= i+1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("max_message_size hits = %v, log lines %d; want %d hits, 1 to %d lines", hits, lines, i+1, i+1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// rawRS opens a RawSocket connection asking for JSON and 16 MiB.
func rawRS(t *testing.T, url string) net.Conn {
	t.Helper()
	network, address := "tcp", strings.TrimPrefix(url, "tcp://")
	if a, ok := strings.CutPrefix(url, "unix://"); ok {
		network, address = "unix", a
	}
	conn, err := net.Dial(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte{0x7f, 0xf1, 0, 0})
	reply := make([]byte, 4)
	if _, err := io.ReadFull(conn, reply); err != nil || reply[1]&0x0f != 1 {
		t.Fatalf("handshake reply % x, %v", reply, err)
	}
	return conn
}

func rsWrite(t *testing.T, conn net.Conn, msg []byte) {
	t.Helper()
	hdr := []byte{0, byte(len(msg) >> 16), byte(len(msg) >> 8), byte(len(msg))}
	conn.Write(append(hdr, msg...))
}

func rsRead(t *testing.T, conn net.Conn) string {
	t.Helper()
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, int(hdr[1])<<16|int(hdr[2])<<8|int(hdr[3]))
		if _, err := io.ReadFull(conn, body); err != nil {
			t.Fatal(err)
		}
		if hdr[0]&0x07 == 0 { // a message, not a ping or pong
			return string(body)
		}
	}
}

// BenchmarkMessageRate measures the rate limit check of the read loop,
// with a limit (a rate no message reaches) and without.
func BenchmarkMessageRate(b *testing.B) {
	for _, tc := range []struct {
		name string
		l    Limits
	}{
		{"limited", Limits{MessageRate: 1e9, MessageBurst: 1000}},
		{"unlimited", Limits{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r, err := New(Config{Limits: tc.l, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			s := &session{router: r}
			b.ReportAllocs()
			for b.Loop() {
				if !s.withinRate() {
					b.Fatal("over the rate")
				}
			}
		})
	}
}

func TestMessageRateAllocatesNothing(t *testing.T) {
	r, err := New(Config{Limits: Limits{MessageRate: 1e9, MessageBurst: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{router: r}
	if n := testing.AllocsPerRun(1000, func() { s.withinRate() }); n != 0 {
		t.Fatalf("%v allocations per check", n)
	}
}

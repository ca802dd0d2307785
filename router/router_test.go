package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// harness is a router behind a loopback WebSocket server.
type harness struct {
	t   *testing.T
	r   *Router
	url string
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
		srv.Close()
	})
	return &harness{t: t, r: r, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
}

// kinds are the ways a peer reaches the router: each serializer over
// WebSocket, and the in-process pipe.
var kinds = []string{"json", "msgpack", "cbor", "local"}

// peer is a raw WAMP peer driven message by message.
type peer struct {
	t    *testing.T
	p    transport.Peer
	in   chan wamp.Message
	errc chan error
	id   wamp.ID
	req  wamp.Sequence
}

func (h *harness) connect(kind string) *peer {
	h.t.Helper()
	var p transport.Peer
	var err error
	if kind == "local" {
		p, err = h.r.LocalPeer()
	} else {
		c, _ := codec.ByName(kind)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err = transport.Dial(ctx, h.url, transport.Config{Serializers: []codec.Codec{c}})
	}
	if err != nil {
		h.t.Fatalf("connect %s: %v", kind, err)
	}
	pp := &peer{t: h.t, p: p, in: make(chan wamp.Message, 1024), errc: make(chan error, 1)}
	go func() {
		for {
			m, err := p.Read()
			if err != nil {
				pp.errc <- err
				close(pp.in)
				return
			}
			if _, ok := wamp.PayloadOf(m); ok {
				// In-process messages are shared with other sessions:
				// resolve a copy.
				c := reflect.New(reflect.TypeOf(m).Elem())
				c.Elem().Set(reflect.ValueOf(m).Elem())
				m = c.Interface().(wamp.Message)
				pl, _ := wamp.PayloadOf(m)
				if err := codec.Resolve(pl); err != nil {
					pp.errc <- err
				}
			}
			pp.in <- m
		}
	}()
	h.t.Cleanup(func() { p.Close() })
	return pp
}

// join connects and opens a session on realm1.
func (h *harness) join(kind string) *peer {
	h.t.Helper()
	p := h.connect(kind)
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}, "publisher": wamp.Dict{}, "caller": wamp.Dict{}, "callee": wamp.Dict{}}}})
	p.id = expect[*wamp.Welcome](p).Session
	return p
}

func (p *peer) send(m wamp.Message) {
	p.t.Helper()
	if err := p.p.Send(m); err != nil {
		p.t.Fatalf("send %s: %v", m.Type(), err)
	}
}

func (p *peer) next() wamp.Message {
	p.t.Helper()
	select {
	case m, ok := <-p.in:
		if !ok {
			p.t.Fatalf("connection ended: %v", <-p.errc)
		}
		return m
	case <-time.After(5 * time.Second):
		p.t.Fatal("timed out waiting for a message")
	}
	return nil
}

func expect[T wamp.Message](p *peer) T {
	p.t.Helper()
	m := p.next()
	v, ok := m.(T)
	if !ok {
		p.t.Fatalf("got %s %#v, want %T", m.Type(), m, *new(T))
	}
	return v
}

// quiet checks that nothing arrives for a short while.
func (p *peer) quiet() {
	p.t.Helper()
	select {
	case m, ok := <-p.in:
		if ok {
			p.t.Fatalf("unexpected %s %#v", m.Type(), m)
		}
	case <-time.After(50 * time.Millisecond):
	}
}

// ended waits for the connection to close.
func (p *peer) ended() {
	p.t.Helper()
	for {
		select {
		case _, ok := <-p.in:
			if !ok {
				return
			}
		case <-time.After(5 * time.Second):
			p.t.Fatal("connection still open")
		}
	}
}

func (p *peer) subscribe(topic wamp.URI) wamp.ID {
	p.t.Helper()
	req := p.req.Next()
	p.send(&wamp.Subscribe{Request: req, Topic: topic})
	m := expect[*wamp.Subscribed](p)
	if m.Request != req {
		p.t.Fatalf("SUBSCRIBED for request %d, want %d", m.Request, req)
	}
	return m.Subscription
}

func (p *peer) register(proc wamp.URI) wamp.ID {
	p.t.Helper()
	req := p.req.Next()
	p.send(&wamp.Register{Request: req, Procedure: proc})
	return expect[*wamp.Registered](p).Registration
}

func TestWelcomeAnnouncesRoles(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		p := h.connect(kind)
		p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
		w := expect[*wamp.Welcome](p)
		if w.Session == 0 || w.Session > wamp.MaxID {
			t.Errorf("%s: session ID %d out of range", kind, w.Session)
		}
		roles, _ := wamp.DictDict(w.Details, "roles")
		broker, _ := wamp.DictDict(roles, "broker")
		dealer, _ := wamp.DictDict(roles, "dealer")
		if broker == nil || dealer == nil || len(roles) != 2 {
			t.Errorf("%s: roles = %v, want exactly broker and dealer", kind, roles)
		}
		if w.Details["authrole"] != "anonymous" || w.Details["authmethod"] != "anonymous" {
			t.Errorf("%s: auth details = %v", kind, w.Details)
		}
	}
}

func TestHandshakeFailures(t *testing.T) {
	h := newHarness(t, Config{Realms: []string{"realm1", "other"}})
	roles := wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}
	for _, tc := range []struct {
		name   string
		first  wamp.Message
		reason wamp.URI
		text   string
	}{
		{"unknown realm", &wamp.Hello{Realm: "nope", Details: roles}, wamp.URINoSuchRealm, `no realm "nope"`},
		{"no roles", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}, wamp.URIProtocolViolation, "roles is required"},
		{"not hello", &wamp.Subscribe{Request: 1, Topic: "t"}, wamp.URIProtocolViolation, "expected HELLO, got SUBSCRIBE"},
	} {
		for _, kind := range kinds {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				p := h.connect(kind)
				p.send(tc.first)
				a := expect[*wamp.Abort](p)
				if a.Reason != tc.reason || !strings.Contains(fmt.Sprint(a.Details["message"]), tc.text) {
					t.Fatalf("ABORT %s %v, want %s containing %q", a.Reason, a.Details, tc.reason, tc.text)
				}
				p.ended()
			})
		}
	}
	// The second realm works.
	p := h.connect("json")
	p.send(&wamp.Hello{Realm: "other", Details: roles})
	expect[*wamp.Welcome](p)
}

func TestPubSubAcrossSerializers(t *testing.T) {
	h := newHarness(t, Config{})
	args := wamp.List{"hello", int64(42), 1.5, true, nil, []byte{0xff, 0}, wamp.List{"nested"}}
	kwargs := wamp.Dict{"who": "junction", "n": int64(-3)}
	subs := map[string]*peer{}
	var subID wamp.ID
	for _, kind := range kinds {
		subs[kind] = h.join(kind)
		id := subs[kind].subscribe("com.example.topic")
		if subID != 0 && id != subID {
			t.Fatalf("%s got subscription %d, others %d: one topic, one subscription ID", kind, id, subID)
		}
		subID = id
	}
	for _, from := range kinds {
		pub := subs[from]
		req := pub.req.Next()
		pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.topic",
			Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
		ack := expect[*wamp.Published](pub)
		if ack.Request != req || ack.Publication == 0 {
			t.Fatalf("PUBLISHED %+v", ack)
		}
		for _, to := range kinds {
			if to == from {
				continue // exclude_me defaults to true
			}
			ev := expect[*wamp.Event](subs[to])
			if ev.Subscription != subID || ev.Publication != ack.Publication {
				t.Errorf("%s->%s: EVENT ids %d/%d, want %d/%d", from, to, ev.Subscription, ev.Publication, subID, ack.Publication)
			}
			if !reflect.DeepEqual(ev.Args, args) || !reflect.DeepEqual(ev.Kwargs, kwargs) {
				t.Errorf("%s->%s: payload %#v %#v", from, to, ev.Args, ev.Kwargs)
			}
		}
	}
	for _, kind := range kinds {
		subs[kind].quiet()
	}
}

func TestPublishExcludeMeFalse(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		p := h.join(kind)
		sub := p.subscribe("t")
		p.send(&wamp.Publish{Request: p.req.Next(), Options: wamp.Dict{"exclude_me": false}, Topic: "t", Payload: wamp.Payload{Args: wamp.List{"me"}}})
		ev := expect[*wamp.Event](p)
		if ev.Subscription != sub || ev.Args[0] != "me" {
			t.Fatalf("%s: %#v", kind, ev)
		}
		// Without acknowledge nothing else comes back.
		p.quiet()
	}
}

func TestUnsubscribe(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.join("json"), h.join("msgpack")
	sa, sb := a.subscribe("t"), b.subscribe("t")
	a.send(&wamp.Unsubscribe{Request: 50, Subscription: sa})
	if m := expect[*wamp.Unsubscribed](a); m.Request != 50 {
		t.Fatalf("UNSUBSCRIBED %+v", m)
	}
	a.send(&wamp.Unsubscribe{Request: 51, Subscription: sa})
	if e := expect[*wamp.ErrorMessage](a); e.Error != wamp.URINoSuchSubscription || e.Request != 51 || e.RequestType != wamp.TypeUnsubscribe {
		t.Fatalf("second UNSUBSCRIBE: %+v", e)
	}
	c := h.join("cbor")
	c.send(&wamp.Publish{Request: 1, Topic: "t"})
	if ev := expect[*wamp.Event](b); ev.Subscription != sb {
		t.Fatalf("%+v", ev)
	}
	a.quiet()
	// When the last subscriber leaves, the subscription goes; a new one
	// gets a new ID.
	b.send(&wamp.Unsubscribe{Request: 2, Subscription: sb})
	expect[*wamp.Unsubscribed](b)
	if again := a.subscribe("t"); again == sb {
		t.Fatalf("subscription ID %d reused after the subscription was deleted", again)
	}
}

func TestRPC(t *testing.T) {
	h := newHarness(t, Config{})
	for _, calleeKind := range kinds {
		for _, callerKind := range kinds {
			t.Run(calleeKind+"->"+callerKind, func(t *testing.T) {
				callee, caller := h.join(calleeKind), h.join(callerKind)
				proc := wamp.URI("com.example.add." + calleeKind + "." + callerKind)
				regID := callee.register(proc)

				caller.send(&wamp.Call{Request: 7, Procedure: proc, Payload: wamp.Payload{Args: wamp.List{int64(2), int64(3)}, Kwargs: wamp.Dict{"op": "add"}}})
				inv := expect[*wamp.Invocation](callee)
				if inv.Registration != regID || !reflect.DeepEqual(inv.Args, wamp.List{int64(2), int64(3)}) || inv.Kwargs["op"] != "add" {
					t.Fatalf("INVOCATION %#v", inv)
				}
				callee.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: wamp.List{int64(5)}, Kwargs: wamp.Dict{"exact": true}}})
				res := expect[*wamp.Result](caller)
				if res.Request != 7 || !reflect.DeepEqual(res.Args, wamp.List{int64(5)}) || res.Kwargs["exact"] != true {
					t.Fatalf("RESULT %#v", res)
				}

				// An application error travels back with URI, args, kwargs.
				caller.send(&wamp.Call{Request: 8, Procedure: proc})
				inv = expect[*wamp.Invocation](callee)
				callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Error: "com.example.error.overflow",
					Payload: wamp.Payload{Args: wamp.List{"too big"}, Kwargs: wamp.Dict{"limit": int64(10)}}})
				e := expect[*wamp.ErrorMessage](caller)
				if e.RequestType != wamp.TypeCall || e.Request != 8 || e.Error != "com.example.error.overflow" ||
					e.Args[0] != "too big" || e.Kwargs["limit"] != int64(10) {
					t.Fatalf("ERROR %#v", e)
				}
			})
		}
	}
}

func TestRPCErrors(t *testing.T) {
	h := newHarness(t, Config{})
	callee, caller := h.join("json"), h.join("cbor")
	caller.send(&wamp.Call{Request: 1, Procedure: "nobody.home"})
	if e := expect[*wamp.ErrorMessage](caller); e.Error != wamp.URINoSuchProcedure || e.Request != 1 {
		t.Fatalf("%+v", e)
	}
	reg := callee.register("p")
	caller.send(&wamp.Register{Request: 2, Procedure: "p"})
	if e := expect[*wamp.ErrorMessage](caller); e.Error != wamp.URIProcedureAlreadyExists || e.RequestType != wamp.TypeRegister {
		t.Fatalf("%+v", e)
	}
	caller.send(&wamp.Unregister{Request: 3, Registration: reg})
	if e := expect[*wamp.ErrorMessage](caller); e.Error != wamp.URINoSuchRegistration {
		t.Fatalf("unregistering another session's registration: %+v", e)
	}
	callee.send(&wamp.Unregister{Request: 4, Registration: reg})
	expect[*wamp.Unregistered](callee)
	caller.send(&wamp.Call{Request: 5, Procedure: "p"})
	if e := expect[*wamp.ErrorMessage](caller); e.Error != wamp.URINoSuchProcedure {
		t.Fatalf("after unregister: %+v", e)
	}
	// A stray YIELD is ignored.
	callee.send(&wamp.Yield{Request: 999})
	callee.quiet()
}

func TestCalleeLeavesMidCall(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		callee, caller := h.join(kind), h.join("json")
		callee.register("slow." + wamp.URI(kind))
		caller.send(&wamp.Call{Request: 1, Procedure: "slow." + wamp.URI(kind)})
		expect[*wamp.Invocation](callee)
		callee.p.Close()
		e := expect[*wamp.ErrorMessage](caller)
		if e.Error != wamp.URICanceled || e.Request != 1 {
			t.Fatalf("%s: %+v", kind, e)
		}
		// The procedure is free again.
		h.join("msgpack").register("slow." + wamp.URI(kind))
	}
}

func TestProtocolViolationAbortsOnlyThatSession(t *testing.T) {
	h := newHarness(t, Config{})
	bystander := h.join("json")
	bystander.subscribe("still.here")
	for _, tc := range []struct {
		name string
		m    wamp.Message
		text string
	}{
		{"router message", &wamp.Welcome{Session: 1}, "a client may not send WELCOME"},
		{"second hello", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}, "may not send HELLO"},
		{"error for a call", &wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: 1, Error: "x"}, "ERROR may only answer an INVOCATION"},
	} {
		for _, kind := range kinds {
			p := h.join(kind)
			p.send(tc.m)
			a := expect[*wamp.Abort](p)
			if a.Reason != wamp.URIProtocolViolation || !strings.Contains(fmt.Sprint(a.Details["message"]), tc.text) {
				t.Errorf("%s/%s: ABORT %s %v", tc.name, kind, a.Reason, a.Details)
			}
			p.ended()
		}
	}
	// Garbage on the wire.
	raw, err := transport.Dial(context.Background(), h.url, transport.Config{Serializers: []codec.Codec{codec.JSON}})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
	if _, err := raw.Read(); err != nil {
		t.Fatal(err)
	}
	// A message with an ID out of range is malformed.
	raw.Send(&wamp.Publish{Request: wamp.MaxID + 1, Topic: "t"})
	m, err := raw.Read()
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := m.(*wamp.Abort); !ok || a.Reason != wamp.URIProtocolViolation || !strings.Contains(fmt.Sprint(a.Details["message"]), "want an ID") {
		t.Fatalf("got %#v", m)
	}
	if got := testutil.ToFloat64(h.r.metrics.protocolViolations); got != 13 {
		t.Errorf("protocol violations counted: %v, want 13", got)
	}
	pub := h.join("cbor")
	pub.send(&wamp.Publish{Request: 1, Topic: "still.here"})
	expect[*wamp.Event](bystander)
}

func TestInvalidURIGetsError(t *testing.T) {
	h := newHarness(t, Config{})
	p := h.join("json")
	raw := p.p
	// The codec refuses to encode nothing; send a hand-made frame through
	// a message whose URI the router will reject.
	raw.Send(&wamp.Subscribe{Request: 9, Topic: "bad uri"})
	e := expect[*wamp.ErrorMessage](p)
	if e.Error != wamp.URIInvalidURI || e.Request != 9 || e.RequestType != wamp.TypeSubscribe {
		t.Fatalf("%+v", e)
	}
	p.subscribe("good.uri") // the session goes on
}

func TestStrictURIs(t *testing.T) {
	h := newHarness(t, Config{StrictURIs: true})
	p := h.join("json")
	p.send(&wamp.Call{Request: 3, Procedure: "Com.Example"})
	if e := expect[*wamp.ErrorMessage](p); e.Error != wamp.URIInvalidURI {
		t.Fatalf("%+v", e)
	}
}

func TestGoodbyeFromClient(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		p := h.join(kind)
		p.send(&wamp.Goodbye{Reason: wamp.URICloseNormal})
		if g := expect[*wamp.Goodbye](p); g.Reason != wamp.URICloseGoodbyeAndOut {
			t.Fatalf("%s: %+v", kind, g)
		}
		p.ended()
	}
}

func TestStopSaysGoodbye(t *testing.T) {
	h := newHarness(t, Config{})
	var peers []*peer
	for _, kind := range kinds {
		peers = append(peers, h.join(kind))
	}
	stopped := make(chan error)
	go func() { stopped <- h.r.Stop(context.Background()) }()
	for _, p := range peers {
		if g := expect[*wamp.Goodbye](p); g.Reason != wamp.URICloseSystemShutdown {
			t.Fatalf("%+v", g)
		}
		p.send(&wamp.Goodbye{Reason: wamp.URICloseGoodbyeAndOut})
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Stop did not return once every session answered")
	}
	if _, err := h.r.LocalPeer(); !errors.Is(err, ErrStopped) {
		t.Fatalf("LocalPeer after Stop: %v", err)
	}
}

func TestSlowConsumerIsDisconnected(t *testing.T) {
	h := newHarness(t, Config{Transport: transport.Config{OutboundQueue: 8}})
	slow := h.connect("local")
	slow.p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}}}})
	// Stop draining the slow peer: take its reader's channel away by
	// reading only the WELCOME and SUBSCRIBED, then not at all.
	expect[*wamp.Welcome](slow)
	slow.subscribe("firehose")
	fast := h.join("json")
	fast.subscribe("firehose")
	pub := h.join("msgpack")

	// The test peer's reader buffers up to 1024 messages; past those and
	// the 8 the router may queue, the slow session must be cut.
	const n = 1200
	for i := range n {
		pub.send(&wamp.Publish{Request: pub.req.Next(), Topic: "firehose", Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
		ev := expect[*wamp.Event](fast)
		if ev.Args[0] != int64(i) {
			t.Fatalf("fast subscriber got %v, want %d", ev.Args[0], i)
		}
	}
	pub.send(&wamp.Publish{Request: pub.req.Next(), Options: wamp.Dict{"acknowledge": true}, Topic: "firehose"})
	expect[*wamp.Published](pub)
	if got := testutil.ToFloat64(h.r.metrics.slowConsumers); got != 1 {
		t.Fatalf("slow consumers = %v, want 1", got)
	}
	select {
	case <-slow.p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow consumer still connected")
	}
}

func TestMessageSizeLimit(t *testing.T) {
	h := newHarness(t, Config{Transport: transport.Config{MaxMessageSize: 1024}})
	big, small := h.join("json"), h.join("msgpack")
	small.subscribe("t")
	big.send(&wamp.Publish{Request: 1, Topic: "t", Payload: wamp.Payload{Args: wamp.List{strings.Repeat("x", 2048)}}})
	big.ended()
	small.quiet()
	h.join("cbor").send(&wamp.Publish{Request: 1, Topic: "t", Payload: wamp.Payload{Args: wamp.List{"fits"}}})
	expect[*wamp.Event](small)
}

func TestNoSubprotocol(t *testing.T) {
	h := newHarness(t, Config{Transport: transport.Config{Serializers: []codec.Codec{codec.CBOR}}})
	_, err := transport.Dial(context.Background(), h.url, transport.Config{Serializers: []codec.Codec{codec.JSON}})
	if err == nil {
		t.Fatal("dial with no shared serializer succeeded")
	}
	h.join("cbor")
}

// TestSlowWebSocketSubscriber: a subscriber whose socket stops being read
// fills the kernel buffers, then its queue, and is cut off; the publisher
// and a healthy subscriber carry on without waiting for it.
func TestSlowWebSocketSubscriber(t *testing.T) {
	h := newHarness(t, Config{Transport: transport.Config{OutboundQueue: 64}})
	// A raw WebSocket client that joins and subscribes, then never reads.
	conn, br := rawWS(t, h.url)
	writeJSON(t, conn, `[1,"realm1",{"roles":{"subscriber":{}}}]`)
	readJSON(t, conn, br) // WELCOME
	writeJSON(t, conn, `[32,1,{},"firehose"]`)
	readJSON(t, conn, br) // SUBSCRIBED

	fast := h.join("json")
	fast.subscribe("firehose")
	pub := h.join("msgpack")
	blob := strings.Repeat("x", 16<<10)
	start := time.Now()
	const n = 1000 // 16 MiB in all: far more than loopback socket buffers hold
	for i := range n {
		pub.send(&wamp.Publish{Request: pub.req.Next(), Options: wamp.Dict{"acknowledge": true}, Topic: "firehose",
			Payload: wamp.Payload{Args: wamp.List{int64(i), blob}}})
		expect[*wamp.Published](pub)
		if ev := expect[*wamp.Event](fast); ev.Args[0] != int64(i) {
			t.Fatalf("healthy subscriber got event %v, want %d", ev.Args[0], i)
		}
	}
	if got := testutil.ToFloat64(h.r.metrics.slowConsumers); got != 1 {
		t.Fatalf("slow consumers = %v, want 1", got)
	}
	t.Logf("%d acknowledged publishes and deliveries in %v with a stalled subscriber", n, time.Since(start))
	// The stalled connection was closed by the router.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("stalled connection not closed cleanly: %v", err)
	}
}

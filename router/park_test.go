package router

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// TestQuietSessionsPark: with a short ParkAfter the router's quiet
// sessions give up their goroutines, and everything a session does still
// works: events and invocations reach parked sessions, a parked callee's
// YIELD and a parked caller's CALL resume them, a parked session can be
// killed, and Stop ends parked sessions.
func TestQuietSessionsPark(t *testing.T) {
	h := newHarness(t, Config{Transport: transport.Config{ParkAfter: 20 * time.Millisecond}, GoodbyeTimeout: 500 * time.Millisecond})
	const n = 30
	var subs []*peer
	for range n {
		p := h.join("json")
		p.subscribe("com.example.topic")
		subs = append(subs, p)
	}
	callee := h.join("msgpack")
	callee.register("com.example.echo")
	caller := h.join("cbor")
	// Each session had a reading goroutine; parked, they have none.
	deadline := time.Now().Add(5 * time.Second)
	for n := sessionReaders(); n > 0; n = sessionReaders() {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still have a reading goroutine: they did not park", n)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The parked caller's CALL resumes it; the parked callee gets the
	// INVOCATION, and its YIELD resumes it.
	caller.send(&wamp.Call{Request: 1, Procedure: "com.example.echo", Payload: wamp.Payload{Args: wamp.List{"hi"}}})
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: inv.Args}})
	if res := expect[*wamp.Result](caller); res.Request != 1 || len(res.Args) != 1 || res.Args[0] != "hi" {
		t.Fatalf("RESULT %+v", res)
	}

	// Events reach parked subscribers.
	caller.send(&wamp.Publish{Request: 2, Topic: "com.example.topic", Payload: wamp.Payload{Args: wamp.List{"ev"}}})
	for _, p := range subs {
		if ev := expect[*wamp.Event](p); len(ev.Args) != 1 || ev.Args[0] != "ev" {
			t.Fatalf("EVENT %+v", ev)
		}
	}

	// A parked session killed through the meta API is ended, and the
	// router forgets it.
	victim := subs[0]
	caller.meta("wamp.session.kill", wamp.List{victim.id}, nil)
	expect[*wamp.Goodbye](victim)
	victim.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseGoodbyeAndOut})
	victim.ended()
	deadline = time.Now().Add(5 * time.Second)
	for {
		if _, err := h.r.Session("realm1", victim.id); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("killed session still listed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Stop says GOODBYE to parked sessions; those that answer resume
	// and end, the one that does not is closed after GoodbyeTimeout.
	stopped := make(chan error, 1)
	go func() { stopped <- h.r.Stop(context.Background()) }()
	for _, p := range subs[1:] {
		expect[*wamp.Goodbye](p)
		p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseGoodbyeAndOut})
	}
	expect[*wamp.Goodbye](callee)
	callee.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseGoodbyeAndOut})
	expect[*wamp.Goodbye](caller) // and it never answers
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return with parked sessions")
	}
	for _, p := range append(subs[1:], callee, caller) {
		p.ended()
	}
}

// sessionReaders counts the goroutines in a session's reading loop.
func sessionReaders() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "router.(*session).loop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestAdoptedRawSocketSessionsPark: sessions a RawSocket server hands to
// AdoptFrom park too, and the server's serve calls return meanwhile.
func TestAdoptedRawSocketSessionsPark(t *testing.T) {
	h := newHarness(t, Config{Transport: transport.Config{ParkAfter: 20 * time.Millisecond}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- transport.ServeRawSocket(ctx, ln, transport.Config{ParkAfter: 20 * time.Millisecond}, func(p transport.Peer) {
			h.r.AdoptFrom(p, Listener{Name: "raw"})
		})
	}()
	var peers []transport.Peer
	for range 5 {
		p, err := transport.Dial(ctx, "tcp://"+ln.Addr().String(), transport.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if err := p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}}); err != nil {
			t.Fatal(err)
		}
		if m, err := p.Read(); err != nil {
			t.Fatal(err)
		} else if _, ok := m.(*wamp.Welcome); !ok {
			t.Fatalf("got %#v, want WELCOME", m)
		}
		peers = append(peers, p)
	}
	deadline := time.Now().Add(5 * time.Second)
	for n := sessionReaders(); n > 0; n = sessionReaders() {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still have a reading goroutine: they did not park", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A parked session answers a call to the meta API.
	for i, p := range peers {
		if err := p.Send(&wamp.Call{Request: wamp.ID(i + 1), Procedure: "wamp.session.count"}); err != nil {
			t.Fatal(err)
		}
		m, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		if res, ok := m.(*wamp.Result); !ok || res.Request != wamp.ID(i+1) {
			t.Fatalf("got %#v, want RESULT %d", m, i+1)
		}
	}
	// The server returns although the sessions go on: they are the
	// router's, which ends them when it stops.
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeRawSocket did not return")
	}
}

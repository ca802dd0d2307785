package router

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// cutter is a TCP proxy whose connections the test can cut, as a network
// failure would.
type cutter struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// TestClientReconnectRestoresState cuts a Go client's connection to the
// router: it reconnects by itself, and its subscription and registration
// work again without the application doing anything.
func TestClientReconnectRestoresState(t *testing.T) {
	h := newHarness(t, Config{})
	target := strings.TrimSuffix(strings.TrimPrefix(h.url, "ws://"), "/ws")
	proxy := newCutter(t, target)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	reconnected := make(chan struct{}, 4)
	s, err := client.Dial(ctx, "ws://"+proxy.ln.Addr().String()+"/ws", client.Config{
		Reconnect: &client.ReconnectConfig{MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		OnConnect: func(*client.Session) { reconnected <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	<-reconnected
	events := make(chan any, 16)
	if _, err := s.Subscribe(ctx, "news", func(_ context.Context, e *client.Event) { events <- e.Arg(0) }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(ctx, "echo", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: inv.Values}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	firstID := s.ID()

	proxy.cut()
	select {
	case <-reconnected:
	case <-ctx.Done():
		t.Fatal("client did not reconnect")
	}
	if s.ID() == firstID {
		t.Fatal("same session ID after reconnecting")
	}

	// Another session, straight to the router, sees the restored state.
	other := h.connect("json")
	other.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}, "publisher": wamp.Dict{}}}})
	expect[*wamp.Welcome](other)
	other.send(&wamp.Call{Request: 1, Procedure: "echo", Payload: wamp.Payload{Args: wamp.List{"still here"}}})
	if r := expect[*wamp.Result](other); r.Args[0] != "still here" {
		t.Fatalf("call after reconnect: %#v", r)
	}
	other.send(&wamp.Publish{Request: 2, Topic: "news", Payload: wamp.Payload{Args: wamp.List{"after the cut"}}})
	select {
	case got := <-events:
		if got != "after the cut" {
			t.Fatalf("event %v", got)
		}
	case <-ctx.Done():
		t.Fatal("subscription not restored")
	}
}

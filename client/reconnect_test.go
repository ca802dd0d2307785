package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// routerDialer dials a fresh fake router each time.
type routerDialer struct {
	t       *testing.T
	mu      sync.Mutex
	routers []*fakeRouter
	fail    atomic.Bool
}

func (d *routerDialer) dial(context.Context) (transport.Peer, error) {
	if d.fail.Load() {
		return nil, errors.New("connection refused")
	}
	peer, r := newRouter(d.t, nil)
	d.mu.Lock()
	d.routers = append(d.routers, r)
	d.mu.Unlock()
	return peer, nil
}

func (d *routerDialer) router(i int) *fakeRouter {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i >= len(d.routers) {
		return nil
	}
	return d.routers[i]
}

func TestReconnectRestores(t *testing.T) {
	d := &routerDialer{t: t}
	var connects, disconnects atomic.Int32
	cfg := Config{
		Reconnect:    &ReconnectConfig{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		OnConnect:    func(*Session) { connects.Add(1) },
		OnDisconnect: func(*Session, error) { disconnects.Add(1) },
	}
	ctx := testContext(t)
	s, err := dialSession(ctx, d.dial, cfg)
	if err != nil {
		t.Fatalf("dialSession: %v", err)
	}
	defer closeSession(t, s)

	events := make(chan string, 10)
	sub, err := s.Subscribe(ctx, "test.topic", func(_ context.Context, e *Event) {
		v, _ := e.ArgString(0)
		events <- v
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := s.Register(ctx, "test.echo", func(_ context.Context, inv *Invocation) (*Result, error) {
		return &Result{Values: inv.Values}, nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	firstID := s.ID()

	d.router(0).drop()
	eventually(t, "reconnect", func() bool { return connects.Load() == 2 })
	if disconnects.Load() != 1 {
		t.Errorf("OnDisconnect called %d times, want 1", disconnects.Load())
	}
	r := d.router(1)
	if len(r.received(wamp.TypeSubscribe)) != 1 || len(r.received(wamp.TypeRegister)) != 1 {
		t.Fatalf("new router got %d SUBSCRIBE and %d REGISTER, want 1 each",
			len(r.received(wamp.TypeSubscribe)), len(r.received(wamp.TypeRegister)))
	}
	if s.ID() == firstID || sub.ID() == 0 || reg.ID() == 0 {
		t.Errorf("after reconnect: session %d (was %d), subscription %d, registration %d", s.ID(), firstID, sub.ID(), reg.ID())
	}

	if _, err := s.Publish(ctx, "test.topic", wamp.List{"after"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-events:
		if v != "after" {
			t.Errorf("event = %q", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event after reconnect")
	}
	res, err := s.Call(ctx, "test.echo", wamp.List{"hi"}, nil, nil)
	if err != nil {
		t.Fatalf("Call after reconnect: %v", err)
	}
	if v, _ := res.ArgString(0); v != "hi" {
		t.Errorf("result = %v", res.Args)
	}

	// Unsubscribed objects are not restored.
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	d.router(1).drop()
	eventually(t, "second reconnect", func() bool { return connects.Load() == 3 })
	r = d.router(2)
	if len(r.received(wamp.TypeSubscribe)) != 0 || len(r.received(wamp.TypeRegister)) != 1 {
		t.Errorf("third router got %d SUBSCRIBE and %d REGISTER, want 0 and 1",
			len(r.received(wamp.TypeSubscribe)), len(r.received(wamp.TypeRegister)))
	}
}

func TestReconnectPendingAndWaiting(t *testing.T) {
	d := &routerDialer{t: t}
	cfg := Config{Reconnect: &ReconnectConfig{MinDelay: 50 * time.Millisecond, MaxDelay: 50 * time.Millisecond}}
	ctx := testContext(t)
	s, err := dialSession(ctx, d.dial, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeSession(t, s)

	errc := make(chan error, 1)
	go func() {
		_, err := s.Call(ctx, "test.hang", nil, nil, nil)
		errc <- err
	}()
	eventually(t, "CALL", func() bool { return len(d.router(0).received(wamp.TypeCall)) == 1 })
	d.router(0).drop()
	if err := <-errc; !errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrSessionClosed) {
		t.Fatalf("pending Call: %v, want ErrConnectionLost only", err)
	}
	// Made while disconnected, this waits for the new connection.
	if _, err := s.Publish(ctx, "test.topic", nil, nil, &PublishOptions{Acknowledge: true}); err != nil {
		t.Fatalf("Publish while reconnecting: %v", err)
	}
	if d.router(1) == nil || len(d.router(1).received(wamp.TypePublish)) != 1 {
		t.Error("PUBLISH did not reach the new router")
	}
}

func TestReconnectGivesUp(t *testing.T) {
	d := &routerDialer{t: t}
	cfg := Config{Reconnect: &ReconnectConfig{MinDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxAttempts: 3}}
	s, err := dialSession(testContext(t), d.dial, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.fail.Store(true)
	d.router(0).drop()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session did not end")
	}
	if !errors.Is(s.Err(), ErrReconnectFailed) {
		t.Errorf("Err() = %v, want ErrReconnectFailed", s.Err())
	}
	closeSession(t, s)
}

func TestReconnectCloseWhileWaiting(t *testing.T) {
	d := &routerDialer{t: t}
	cfg := Config{Reconnect: &ReconnectConfig{MinDelay: time.Hour}}
	s, err := dialSession(testContext(t), d.dial, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.router(0).drop()
	eventually(t, "disconnect", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.conn == nil
	})
	closeSession(t, s)
	if !errors.Is(s.Err(), ErrSessionClosed) {
		t.Errorf("Err() = %v, want ErrSessionClosed", s.Err())
	}
}

func TestJitter(t *testing.T) {
	for range 100 {
		if d := jitter(100 * time.Millisecond); d < 50*time.Millisecond || d > 100*time.Millisecond {
			t.Fatalf("jitter(100ms) = %v", d)
		}
	}
}

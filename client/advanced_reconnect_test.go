package client

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// TestReconnectRestoresAdvancedOptions cuts the connection of a session
// using advanced options: once it has reconnected by itself, its
// registration and subscription work with the same options (match
// policy, shared invocation policy, disclose_caller, get_retained).
func TestReconnectRestoresAdvancedOptions(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		ctx := testContext(t)
		var mu sync.Mutex
		var peers []transport.Peer
		dial := func(ctx context.Context) (transport.Peer, error) {
			p, err := rr.dial(ctx)
			if err == nil {
				mu.Lock()
				peers = append(peers, p)
				mu.Unlock()
			}
			return p, err
		}
		connected := make(chan struct{}, 4)
		s, err := dialSession(ctx, dial, Config{
			Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
			Reconnect: &ReconnectConfig{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond},
			OnConnect: func(*Session) { connected <- struct{}{} },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeSession(t, s) })
		waitValue(t, "the first join", connected)

		_, err = s.Register(ctx, "test.rc", func(_ context.Context, inv *Invocation) (*Result, error) {
			return &Result{Values: Values{Args: wamp.List{string(inv.Procedure()), int64(inv.Caller())}}}, nil
		}, &RegisterOptions{Match: wamp.MatchPrefix, Invoke: "roundrobin", DiscloseCaller: true})
		if err != nil {
			t.Fatal(err)
		}
		// Retained before the subscription, so that no live event races
		// with the retained one.
		other := rr.join(t, "")
		if _, err := other.Publish(ctx, "test.rc.news", wamp.List{"v1"}, nil, &PublishOptions{Retain: true, Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		var got events
		if _, err := s.Subscribe(ctx, "test.rc", got.handler, &SubscribeOptions{Match: wamp.MatchPrefix, GetRetained: true}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the retained event", func() bool { return got.len() == 1 })
		mu.Lock()
		peers[0].Close()
		mu.Unlock()
		waitValue(t, "the reconnection", connected)
		// The router has forgotten the old session: its registration
		// would share the restored one.
		eventually(t, "the old session to leave", func() bool { return rr.r.SessionCount() == 2 })

		// get_retained and the prefix match were sent again.
		eventually(t, "the retained event again", func() bool { return got.len() >= 2 })
		flush(t, other, s)
		for i, e := range got.all() {
			if i > 1 || !e.Retained() || e.Topic() != "test.rc.news" || e.Arg(0) != "v1" {
				t.Errorf("event %d: %v (Retained() %v, Topic() %s), want only the retained v1 on test.rc.news, once per join",
					i, e.Args, e.Retained(), e.Topic())
			}
		}
		// The prefix match and disclose_caller were sent again.
		res, err := other.Call(ctx, "test.rc.add", nil, nil, nil)
		if err != nil {
			t.Fatalf("Call after the reconnection: %v", err)
		}
		if p, _ := res.ArgString(0); p != "test.rc.add" {
			t.Errorf("Procedure() = %q, want test.rc.add", p)
		}
		if id, _ := res.ArgInt(1); wamp.ID(id) != other.ID() {
			t.Errorf("Caller() = %d, want %d", id, other.ID())
		}
		// So was the shared invocation policy: another callee may join.
		if _, err := other.Register(ctx, "test.rc", func(context.Context, *Invocation) (*Result, error) { return nil, nil },
			&RegisterOptions{Match: wamp.MatchPrefix, Invoke: "roundrobin"}); err != nil {
			t.Errorf("second roundrobin Register: %v", err)
		}
	})
}

// TestReconnectFailsStream: a stream started on a connection that is lost
// fails with ErrConnectionLost.
func TestReconnectFailsStream(t *testing.T) {
	rr := newRealRouter(t, "local")
	ctx := testContext(t)
	var mu sync.Mutex
	var peers []transport.Peer
	dial := func(ctx context.Context) (transport.Peer, error) {
		p, err := rr.dial(ctx)
		if err == nil {
			mu.Lock()
			peers = append(peers, p)
			mu.Unlock()
		}
		return p, err
	}
	s, err := dialSession(ctx, dial, Config{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Reconnect: &ReconnectConfig{MinDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeSession(t, s) })
	callee := rr.join(t, "")
	started := make(chan struct{})
	if _, err := callee.Register(ctx, "test.sink", func(ctx context.Context, inv *Invocation) (*Result, error) {
		close(started)
		for {
			if _, err := inv.Next(ctx); err != nil {
				return nil, err
			}
		}
	}, nil); err != nil {
		t.Fatal(err)
	}
	stream, err := s.CallStream(ctx, "test.sink", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(wamp.List{"a"}, nil); err != nil {
		t.Fatal(err)
	}
	wait(t, "the invocation", started)
	mu.Lock()
	peers[0].Close()
	mu.Unlock()
	if _, err := stream.Finish(nil, nil); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Finish: %v, want ErrConnectionLost", err)
	}
}

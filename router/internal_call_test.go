package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// goClient joins realm with a Go client over kind ("local" or a
// serializer's name, over WebSocket), with extra HELLO details.
func (h *harness) goClient(kind string, realm wamp.URI, details wamp.Dict) *client.Session {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg := client.Config{Realm: realm, HelloDetails: details, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var s *client.Session
	var err error
	if kind == "local" {
		var p transport.Peer
		if p, err = h.r.LocalPeer(); err != nil {
			h.t.Fatal(err)
		}
		s, err = client.Join(ctx, p, cfg)
	} else {
		c, _ := codec.ByName(kind)
		cfg.Transport.Serializers = []codec.Codec{c}
		s, err = client.Dial(ctx, h.url, cfg)
	}
	if err != nil {
		h.t.Fatalf("join %s over %s: %v", realm, kind, err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func mustRegister(t *testing.T, s *client.Session, proc wamp.URI, h client.InvocationHandler, opts *client.RegisterOptions) *client.Registration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	reg, err := s.Register(ctx, proc, h, opts)
	if err != nil {
		t.Fatalf("register %s: %v", proc, err)
	}
	return reg
}

func TestCallInternal(t *testing.T) {
	h := newHarness(t, Config{})
	d := h.r.realm("realm1").dealer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			callee := h.goClient(kind, "realm1", nil)
			proc := wamp.URI("com.example.add." + kind)
			reg := mustRegister(t, callee, proc, func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
				a, _ := inv.ArgInt(0)
				b, _ := inv.ArgInt(1)
				return &client.Result{Values: client.Values{Args: wamp.List{a + b}, Kwargs: wamp.Dict{"by": "callee"}}}, nil
			}, nil)
			args, kwargs, err := d.callInternal(ctx, proc, wamp.List{int64(2), int64(3)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := wamp.AsInt64(args[0]); len(args) != 1 || n != 5 || kwargs["by"] != "callee" {
				t.Errorf("got %v %v, want [5] {by: callee}", args, kwargs)
			}

			oops := wamp.URI("com.example.oops." + kind)
			mustRegister(t, callee, oops, func(context.Context, *client.Invocation) (*client.Result, error) {
				return nil, wamp.NewError("com.example.error.oops", "bad", int64(7))
			}, nil)
			_, _, err = d.callInternal(ctx, oops, nil, nil)
			var we *wamp.Error
			if !errors.As(err, &we) || we.URI != "com.example.error.oops" || len(we.Args) != 2 || we.Args[0] != "bad" {
				t.Errorf("callee error: got %#v", err)
			}
			if err := reg.Unregister(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("no callee", func(t *testing.T) {
		_, _, err := d.callInternal(ctx, "com.example.nobody", nil, nil)
		if !errors.Is(err, wamp.ErrNoSuchProcedure) {
			t.Errorf("got %v, want no_such_procedure", err)
		}
	})

	t.Run("pattern registration", func(t *testing.T) {
		callee := h.goClient("json", "realm1", nil)
		mustRegister(t, callee, "com.example.pat.", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
			return &client.Result{Values: client.Values{Args: wamp.List{string(inv.Procedure())}}}, nil
		}, &client.RegisterOptions{Match: wamp.MatchPrefix})
		args, _, err := d.callInternal(ctx, "com.example.pat.x", nil, nil)
		if err != nil || len(args) != 1 || args[0] != "com.example.pat.x" {
			t.Errorf("got %v, %v; want the concrete procedure", args, err)
		}
	})

	t.Run("timeout interrupts the callee", func(t *testing.T) {
		callee := h.goClient("local", "realm1", nil)
		interrupted := make(chan error, 1)
		mustRegister(t, callee, "com.example.slow", func(ctx context.Context, _ *client.Invocation) (*client.Result, error) {
			<-ctx.Done()
			interrupted <- context.Cause(ctx)
			return nil, ctx.Err()
		}, nil)
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, _, err := d.callInternal(short, "com.example.slow", nil, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's deadline", err)
		}
		select {
		case cause := <-interrupted:
			if !errors.Is(cause, wamp.ErrCanceled) {
				t.Errorf("callee interrupted with %v", cause)
			}
		case <-ctx.Done():
			t.Fatal("the callee was not interrupted")
		}
		if n := pendingCalls(d); n != 0 {
			t.Errorf("%d calls still pending", n)
		}
	})

	t.Run("callee leaves", func(t *testing.T) {
		callee := h.goClient("local", "realm1", nil)
		started := make(chan struct{})
		mustRegister(t, callee, "com.example.leaving", func(ctx context.Context, _ *client.Invocation) (*client.Result, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}, nil)
		go func() {
			<-started
			callee.Close(ctx)
		}()
		_, _, err := d.callInternal(ctx, "com.example.leaving", nil, nil)
		if !errors.Is(err, wamp.ErrCanceled) {
			t.Errorf("got %v, want canceled", err)
		}
	})

	t.Run("the waiting session is the callee", func(t *testing.T) {
		p := h.join("json")
		p.register("com.example.self")
		s := h.r.realm("realm1").session(p.id)
		_, _, err := d.invokeInternal(ctx, s, "com.example.self", nil, nil)
		if !errors.Is(err, &wamp.Error{URI: wamp.URINoAvailableCallee}) {
			t.Errorf("got %v, want no_available_callee", err)
		}
		p.quiet()
	})
}

func pendingCalls(d *dealer) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

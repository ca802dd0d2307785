package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

func TestCallRoundTrip(t *testing.T) {
	s, _ := join(t, nil)
	ctx := testContext(t)
	reg, err := s.Register(ctx, "test.echo", func(_ context.Context, inv *Invocation) (*Result, error) {
		return &Result{Values: inv.Values}, nil
	}, nil)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if reg.ID() == 0 {
		t.Error("Registration.ID() = 0")
	}
	res, err := s.Call(ctx, "test.echo", wamp.List{int64(7), "two", 2.5}, wamp.Dict{"flag": true}, nil)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if n, err := res.ArgInt(0); err != nil || n != 7 {
		t.Errorf("ArgInt(0) = %d, %v", n, err)
	}
	if str, err := res.ArgString(1); err != nil || str != "two" {
		t.Errorf("ArgString(1) = %q, %v", str, err)
	}
	if f, err := res.ArgFloat(2); err != nil || f != 2.5 {
		t.Errorf("ArgFloat(2) = %v, %v", f, err)
	}
	if b, err := res.KwargBool("flag"); err != nil || !b {
		t.Errorf("KwargBool = %v, %v", b, err)
	}

	if _, err := s.Register(ctx, "test.echo", func(context.Context, *Invocation) (*Result, error) { return nil, nil }, nil); !errors.Is(err, wamp.ErrProcedureAlreadyExists) {
		t.Errorf("second Register: %v, want wamp.ErrProcedureAlreadyExists", err)
	}
	if err := reg.Unregister(ctx); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	if _, err := s.Call(ctx, "test.echo", nil, nil, nil); !errors.Is(err, wamp.ErrNoSuchProcedure) {
		t.Errorf("Call after Unregister: %v, want wamp.ErrNoSuchProcedure", err)
	}
}

func TestCallEmptyResult(t *testing.T) {
	s, _ := join(t, nil)
	ctx := testContext(t)
	if _, err := s.Register(ctx, "test.nil", func(context.Context, *Invocation) (*Result, error) { return nil, nil }, nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.Call(ctx, "test.nil", nil, nil, nil)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if res.Arg(0) != nil || len(res.Args) != 0 || len(res.Kwargs) != 0 {
		t.Errorf("result = %+v, want empty", res)
	}
}

func TestCallErrors(t *testing.T) {
	appErr := &wamp.Error{URI: "com.example.oops", Args: wamp.List{"bad input"}, Kwargs: wamp.Dict{"code": int64(42)}}
	tests := []struct {
		name    string
		handler InvocationHandler
		want    error
		check   func(t *testing.T, we *wamp.Error)
	}{
		{
			name:    "application error",
			handler: func(context.Context, *Invocation) (*Result, error) { return nil, fmtWrap(appErr) },
			want:    &wamp.Error{URI: "com.example.oops"},
			check: func(t *testing.T, we *wamp.Error) {
				v := Values{we.Args, we.Kwargs}
				if s, _ := v.ArgString(0); s != "bad input" {
					t.Errorf("args = %v", we.Args)
				}
				if n, _ := v.KwargInt("code"); n != 42 {
					t.Errorf("kwargs = %v", we.Kwargs)
				}
			},
		},
		{
			name: "wamp sentinel",
			handler: func(context.Context, *Invocation) (*Result, error) {
				return nil, wamp.NewError(wamp.URIInvalidArgument, "no")
			},
			want: wamp.ErrInvalidArgument,
		},
		{
			name:    "plain error",
			handler: func(context.Context, *Invocation) (*Result, error) { return nil, errors.New("boom") },
			want:    ErrRuntime,
			check: func(t *testing.T, we *wamp.Error) {
				if len(we.Args) != 1 || we.Args[0] != "boom" {
					t.Errorf("args = %v, want [boom]", we.Args)
				}
			},
		},
		{
			name:    "panic",
			handler: func(context.Context, *Invocation) (*Result, error) { panic("oh no") },
			want:    ErrRuntime,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := join(t, nil)
			ctx := testContext(t)
			if _, err := s.Register(ctx, "test.fail", tt.handler, nil); err != nil {
				t.Fatal(err)
			}
			_, err := s.Call(ctx, "test.fail", nil, nil, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Call: %v, want %v", err, tt.want)
			}
			var we *wamp.Error
			if !errors.As(err, &we) {
				t.Fatalf("Call error %T is not a *wamp.Error", err)
			}
			if tt.check != nil {
				tt.check(t, we)
			}
		})
	}
}

// fmtWrap hides err in a chain, as handlers often do.
func fmtWrap(err error) error { return errors.Join(errors.New("context"), err) }

func TestCallCancel(t *testing.T) {
	for _, tt := range []struct {
		name       string
		features   wamp.Dict
		wantCancel int
	}{
		{"without call_canceling", nil, 0},
		{"with call_canceling", wamp.Dict{"call_canceling": true}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, r := join(t, tt.features)
			ctx, cancel := context.WithCancel(testContext(t))
			errc := make(chan error, 1)
			go func() {
				_, err := s.Call(ctx, "test.hang", nil, nil, nil)
				errc <- err
			}()
			eventually(t, "CALL", func() bool { return len(r.received(wamp.TypeCall)) == 1 })
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Call: %v, want context.Canceled", err)
				}
			case <-time.After(time.Second):
				t.Fatal("Call did not return after cancel")
			}
			if tt.wantCancel > 0 {
				eventually(t, "CANCEL", func() bool { return len(r.received(wamp.TypeCancel)) == tt.wantCancel })
			} else {
				// A round trip: anything sent before it has arrived.
				if _, err := s.Publish(testContext(t), "x", nil, nil, &PublishOptions{Acknowledge: true}); err != nil {
					t.Fatal(err)
				}
				if n := len(r.received(wamp.TypeCancel)); n != 0 {
					t.Errorf("router got %d CANCEL without announcing call_canceling", n)
				}
			}
		})
	}
}

// TestCallTimeoutClientSide: a router without call_timeout leaves the
// timeout to the client.
func TestCallTimeoutClientSide(t *testing.T) {
	s, r := join(t, nil)
	_, err := s.Call(testContext(t), "test.hang", nil, nil, &CallOptions{Timeout: 20 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, wamp.ErrTimeout) {
		t.Fatalf("Call: %v, want context.DeadlineExceeded and wamp.ErrTimeout", err)
	}
	call := r.received(wamp.TypeCall)[0].(*wamp.Call)
	if ms, _ := wamp.DictInt(call.Options, "timeout"); ms != 20 {
		t.Errorf("CALL options = %v, want timeout 20", call.Options)
	}
}

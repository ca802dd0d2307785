package client

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// The tests of this file run the Advanced Profile's RPC features end to
// end against a real router; TestHelloFeatures and the tests named
// ...Wire check what the client sends, against the fake router.

func TestHelloFeatures(t *testing.T) {
	_, r := join(t, nil)
	hello := r.received(wamp.TypeHello)[0].(*wamp.Hello)
	roles, _ := wamp.DictDict(hello.Details, "roles")
	want := map[string][]string{
		"caller": {"call_canceling", "call_timeout", "caller_identification",
			"progressive_call_invocations", "progressive_call_results"},
		"callee": {"call_canceling", "caller_identification", "pattern_based_registration",
			"progressive_call_invocations", "progressive_call_results", "shared_registration"},
		"publisher":  {"publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing"},
		"subscriber": {"event_retention", "pattern_based_subscription", "publisher_identification"},
	}
	if len(roles) != len(want) {
		t.Errorf("HELLO roles = %v, want %d roles", roles, len(want))
	}
	for role, names := range want {
		r, _ := wamp.DictDict(roles, role)
		f, _ := wamp.DictDict(r, "features")
		var got []string
		for name, on := range f {
			if on != true {
				t.Errorf("%s.%s = %v, want true", role, name, on)
			}
			got = append(got, name)
		}
		slices.Sort(got)
		if !slices.Equal(got, names) {
			t.Errorf("%s features = %v, want %v", role, got, names)
		}
	}
}

func TestCallOptionsWire(t *testing.T) {
	s, r := join(t, nil)
	ctx := testContext(t)
	if _, err := s.Register(ctx, "test.echo", func(context.Context, *Invocation) (*Result, error) { return nil, nil },
		&RegisterOptions{DiscloseCaller: true, Invoke: "roundrobin", Match: wamp.MatchPrefix}); err != nil {
		t.Fatal(err)
	}
	// What is checked is the CALL on the wire: the call itself may well
	// time out on a busy machine, its 2 ms being real.
	if _, err := s.Call(ctx, "test.echo", nil, nil, &CallOptions{
		Progress: func(*Result) {}, DiscloseMe: true, Timeout: 1500 * time.Microsecond,
	}); err != nil && !errors.Is(err, wamp.ErrTimeout) {
		t.Fatal(err)
	}
	reg := r.received(wamp.TypeRegister)[0].(*wamp.Register)
	want := wamp.Dict{"disclose_caller": true, "invoke": "roundrobin", "match": "prefix"}
	if !equalDicts(reg.Options, want) {
		t.Errorf("REGISTER options = %v, want %v", reg.Options, want)
	}
	call := r.received(wamp.TypeCall)[0].(*wamp.Call)
	want = wamp.Dict{"receive_progress": true, "disclose_me": true, "timeout": int64(2)}
	if !equalDicts(call.Options, want) {
		t.Errorf("CALL options = %v, want %v (timeout rounded up)", call.Options, want)
	}
	if _, err := s.Call(ctx, "test.echo", nil, nil, &CallOptions{CancelMode: "later"}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Call with a bad CancelMode: %v, want ErrInvalidOptions", err)
	}
}

// TestCancelModeWire checks the CANCEL sent, by mode, when ctx ends and
// when the client's timeout expires.
func TestCancelModeWire(t *testing.T) {
	for _, tt := range []struct {
		mode CancelMode
		want string
	}{
		{"", "killnowait"},
		{CancelKillNoWait, "killnowait"},
		{CancelKill, "kill"},
		{CancelSkip, "skip"},
	} {
		t.Run("mode="+tt.want, func(t *testing.T) {
			s, r := join(t, wamp.Dict{"call_canceling": true})
			ctx, cancel := context.WithCancel(testContext(t))
			errc := make(chan error, 1)
			go func() {
				_, err := s.Call(ctx, "test.hang", nil, nil, &CallOptions{CancelMode: tt.mode})
				errc <- err
			}()
			eventually(t, "CALL", func() bool { return len(r.received(wamp.TypeCall)) == 1 })
			cancel()
			if err := waitValue(t, "Call", errc); !errors.Is(err, context.Canceled) {
				t.Fatalf("Call: %v, want context.Canceled", err)
			}
			_, err := s.Call(testContext(t), "test.hang", nil, nil, &CallOptions{CancelMode: tt.mode, Timeout: 10 * time.Millisecond})
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, wamp.ErrTimeout) {
				t.Fatalf("Call with Timeout: %v, want context.DeadlineExceeded and wamp.ErrTimeout", err)
			}
			eventually(t, "2 CANCEL", func() bool { return len(r.received(wamp.TypeCancel)) == 2 })
			calls := r.received(wamp.TypeCall)
			for i, m := range r.received(wamp.TypeCancel) {
				c := m.(*wamp.Cancel)
				if c.Request != calls[i].(*wamp.Call).Request || c.Options["mode"] != tt.want {
					t.Errorf("CANCEL %d = %+v, want request %d, mode %s", i, c, calls[i].(*wamp.Call).Request, tt.want)
				}
			}
		})
	}
}

// TestCallTimeoutRouterEnforced: when the router announces call_timeout,
// the client leaves the timeout to it (and gives up itself a grace
// period later only).
func TestCallTimeoutRouterEnforced(t *testing.T) {
	s, _ := join(t, wamp.Dict{"call_timeout": true})
	start := time.Now()
	_, err := s.Call(testContext(t), "test.hang", nil, nil, &CallOptions{Timeout: 20 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, wamp.ErrTimeout) {
		t.Fatalf("Call: %v, want the client's timeout at last", err)
	}
	if d := time.Since(start); d < timeoutGrace {
		t.Errorf("Call gave up after %v, before the router's timeout plus %v", d, timeoutGrace)
	}
}

func TestProgressiveCallResults(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		const n = 5
		invs := make(chan *Invocation, 4)
		_, err := callee.Register(ctx, "test.count", func(ctx context.Context, inv *Invocation) (*Result, error) {
			invs <- inv
			if !inv.WantsProgress() {
				if err := inv.Progress(ctx, wamp.List{"x"}, nil); !errors.Is(err, ErrNoProgress) {
					return nil, wamp.NewError("test.unexpected", "Progress without receive_progress: "+errString(err))
				}
				return &Result{Values: Values{Args: wamp.List{"only"}}}, nil
			}
			for i := range n {
				if err := inv.Progress(ctx, wamp.List{int64(i)}, wamp.Dict{"i": int64(i)}); err != nil {
					return nil, err
				}
			}
			if inv.Arg(0) == "fail" {
				return nil, wamp.NewError("test.failed", "after progress")
			}
			return &Result{Values: Values{Args: wamp.List{"done"}}}, nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("in order before the final result", func(t *testing.T) {
			var got []int64
			res, err := caller.Call(ctx, "test.count", nil, nil, &CallOptions{Progress: func(r *Result) {
				if !r.Progressive() {
					t.Errorf("progressive result %v without progress detail", r.Details)
				}
				i, err := r.ArgInt(0)
				if err != nil {
					t.Error(err)
				}
				if k, _ := r.KwargInt("i"); k != i {
					t.Errorf("kwargs = %v, want i=%d", r.Kwargs, i)
				}
				got = append(got, i)
			}})
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if s, _ := res.ArgString(0); s != "done" || res.Progressive() {
				t.Errorf("final result = %+v, want done", res)
			}
			if !slices.Equal(got, []int64{0, 1, 2, 3, 4}) {
				t.Errorf("progressive results when Call returned = %v, want 0..4", got)
			}
			inv := <-invs
			if err := inv.Progress(ctx, nil, nil); !errors.Is(err, ErrInvocationDone) {
				t.Errorf("Progress after the answer: %v, want ErrInvocationDone", err)
			}
		})

		t.Run("then an error", func(t *testing.T) {
			var got int
			_, err := caller.Call(ctx, "test.count", wamp.List{"fail"}, nil, &CallOptions{Progress: func(*Result) { got++ }})
			if !errors.Is(err, &wamp.Error{URI: "test.failed"}) {
				t.Fatalf("Call: %v, want test.failed", err)
			}
			if got != n {
				t.Errorf("%d progressive results before the error, want %d", got, n)
			}
			<-invs
		})

		t.Run("not asked for", func(t *testing.T) {
			res, err := caller.Call(ctx, "test.count", nil, nil, nil)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			if s, _ := res.ArgString(0); s != "only" {
				t.Errorf("result = %v, want only", res.Args)
			}
			<-invs
		})
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestCallCancelModes cancels a call's ctx in each mode and checks what
// the caller, the router and the callee do: the caller's Call returns at
// once; the router answers at once (skip, killnowait) or once the
// interrupted callee has (kill); the callee is interrupted except in
// skip mode, and answers wamp.error.canceled when it then stops.
func TestCallCancelModes(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		for _, mode := range []CancelMode{CancelSkip, CancelKill, CancelKillNoWait} {
			t.Run(string(mode), func(t *testing.T) {
				callee := rr.join(t, "")
				caller, rec := rr.joinRecorded(t, "")
				ctx := testContext(t)
				started, returned := make(chan struct{}), make(chan struct{})
				release := make(chan struct{})
				interrupted := make(chan error, 1)
				// Names of their own: the previous mode's callee may not be
				// gone from the router yet.
				slow, after := wamp.URI("test.slow."+mode), wamp.URI("test.after."+mode)
				_, err := callee.Register(ctx, slow, func(ctx context.Context, _ *Invocation) (*Result, error) {
					defer close(returned)
					close(started)
					select {
					case <-ctx.Done():
						interrupted <- context.Cause(ctx)
						<-release
						return nil, errors.New("handler stopped")
					case <-release:
						return &Result{Values: Values{Args: wamp.List{"late"}}}, nil
					}
				}, nil)
				if err != nil {
					t.Fatal(err)
				}

				callCtx, cancel := context.WithCancel(ctx)
				errc := make(chan error, 1)
				go func() {
					_, err := caller.Call(callCtx, slow, nil, nil, &CallOptions{CancelMode: mode})
					errc <- err
				}()
				wait(t, "the invocation", started)
				cancel()
				select {
				case err := <-errc:
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("Call: %v, want context.Canceled", err)
					}
				case <-time.After(time.Second):
					t.Fatal("Call did not return at once after its ctx ended")
				}

				routerError := func() *wamp.ErrorMessage {
					t.Helper()
					eventually(t, "the router's ERROR", func() bool { return len(rec.errors(wamp.TypeCall)) > 0 })
					e := rec.errors(wamp.TypeCall)[0]
					if e.Error != wamp.URICanceled {
						t.Errorf("caller got ERROR %s, want %s", e.Error, wamp.URICanceled)
					}
					return e
				}
				switch mode {
				case CancelSkip:
					routerError()
					syncSession(t, callee) // an INTERRUPT would have come before
					select {
					case cause := <-interrupted:
						t.Fatalf("callee interrupted in skip mode: %v", cause)
					default:
					}
					close(release)
					wait(t, "the handler", returned)
				case CancelKillNoWait:
					routerError() // while the callee still runs
					cause := waitValue(t, "the interrupt", interrupted)
					if !errors.Is(cause, wamp.ErrCanceled) {
						t.Errorf("handler ctx cause = %v, want wamp.ErrCanceled", cause)
					}
					close(release)
					wait(t, "the handler", returned)
				case CancelKill:
					cause := waitValue(t, "the interrupt", interrupted)
					if !errors.Is(cause, wamp.ErrCanceled) {
						t.Errorf("handler ctx cause = %v, want wamp.ErrCanceled", cause)
					}
					syncSession(t, caller)
					if n := len(rec.errors(wamp.TypeCall)); n != 0 {
						t.Fatalf("caller got %d ERROR before the callee answered", n)
					}
					close(release)
					wait(t, "the handler", returned)
					e := routerError() // the callee's answer, passed on
					if args, _, _ := codec.Values(&e.Payload); len(args) == 0 || args[0] != "handler stopped" {
						t.Errorf("caller got ERROR args %v, want the callee's [handler stopped]", args)
					}
				}
				syncSession(t, callee)
				syncSession(t, caller)
				if n := len(rec.errors(wamp.TypeCall)); n != 1 {
					t.Errorf("caller got %d ERROR, want 1", n)
				}
				if n := rec.count(wamp.TypeResult); n != 0 {
					t.Errorf("caller got %d RESULT after canceling", n)
				}
				// The session carries on.
				if _, err := callee.Register(ctx, after, func(context.Context, *Invocation) (*Result, error) { return nil, nil }, nil); err != nil {
					t.Fatal(err)
				}
				if _, err := caller.Call(ctx, after, nil, nil, nil); err != nil {
					t.Fatalf("Call after cancel: %v", err)
				}
			})
		}
	})
}

// TestCallTimeoutByRouter lets the router time a call out: the caller
// gets wamp.error.timeout from it, and the callee is interrupted.
func TestCallTimeoutByRouter(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		interrupted := make(chan error, 1)
		_, err := callee.Register(ctx, "test.slow", func(ctx context.Context, _ *Invocation) (*Result, error) {
			<-ctx.Done()
			interrupted <- context.Cause(ctx)
			return nil, ctx.Err()
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		const timeout = 100 * time.Millisecond
		start := time.Now()
		_, err = caller.Call(ctx, "test.slow", nil, nil, &CallOptions{Timeout: timeout})
		elapsed := time.Since(start)
		var we *wamp.Error
		if !errors.Is(err, wamp.ErrTimeout) || !errors.As(err, &we) {
			t.Fatalf("Call: %v, want a *wamp.Error wamp.error.timeout", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Call: %v: the client timed out, not the router", err)
		}
		if elapsed < timeout-time.Millisecond || elapsed > timeout+timeoutGrace {
			t.Errorf("Call returned after %v, want about %v", elapsed, timeout)
		}
		if cause := waitValue(t, "the interrupt", interrupted); !errors.Is(cause, wamp.ErrCanceled) {
			t.Errorf("handler ctx cause = %v, want wamp.ErrCanceled", cause)
		}
	})
}

// TestProgressiveCallResultsCancel cancels a call while its callee floods
// it with progressive results, more than the session queues: Call
// returns, and the session's reading carries on.
func TestProgressiveCallResultsCancel(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		stopped := make(chan struct{})
		_, err := callee.Register(ctx, "test.flood", func(ctx context.Context, inv *Invocation) (*Result, error) {
			defer close(stopped)
			for i := 0; ; i++ {
				if err := inv.Progress(ctx, wamp.List{int64(i)}, nil); err != nil {
					return nil, err
				}
				if i%progressQueue == 0 {
					// Let the router keep up.
					time.Sleep(time.Millisecond)
				}
			}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		callCtx, cancel := context.WithCancel(ctx)
		var got int
		_, err = caller.Call(callCtx, "test.flood", nil, nil, &CallOptions{Progress: func(*Result) {
			got++
			if got == 1 {
				// Results pile up meanwhile.
				time.Sleep(50 * time.Millisecond)
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Call: %v, want context.Canceled", err)
		}
		wait(t, "the callee to be interrupted", stopped)
		syncSession(t, caller)
	})
}

// TestCallTimeoutProgressive: with progressive results, the timeout runs
// from one result to the next, not over the whole call.
func TestCallTimeoutProgressive(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		const timeout, gap, results = 200 * time.Millisecond, 50 * time.Millisecond, 8
		_, err := callee.Register(ctx, "test.ticks", func(ctx context.Context, inv *Invocation) (*Result, error) {
			for i := range results {
				time.Sleep(gap)
				if err := inv.Progress(ctx, wamp.List{int64(i)}, nil); err != nil {
					return nil, err
				}
			}
			time.Sleep(gap)
			return &Result{Values: Values{Args: wamp.List{"done"}}}, nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		res, err := caller.Call(ctx, "test.ticks", nil, nil, &CallOptions{Timeout: timeout, Progress: func(*Result) { got++ }})
		if err != nil {
			t.Fatalf("Call of %v with results every %v and a timeout of %v: %v", gap*(results+1), gap, timeout, err)
		}
		if got != results || res.Arg(0) != "done" {
			t.Errorf("got %d progressive results and %v, want %d and done", got, res.Args, results)
		}
	})
}

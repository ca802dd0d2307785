package client

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// The tests of this file run progressive call invocations (CallStream)
// end to end against a real router, except TestCallStreamUnsupportedWire.

func TestCallStream(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		_, err := callee.Register(ctx, "test.concat", func(ctx context.Context, inv *Invocation) (*Result, error) {
			parts := []string{inv.Arg(0).(string)}
			for {
				v, err := inv.Next(ctx)
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, err
				}
				s, err := v.ArgString(0)
				if err != nil {
					return nil, wamp.NewError(wamp.URIInvalidArgument, err.Error())
				}
				parts = append(parts, s)
				if inv.WantsProgress() {
					if err := inv.Progress(ctx, wamp.List{int64(len(parts))}, nil); err != nil {
						return nil, err
					}
				}
			}
			if _, err := inv.Next(ctx); err != io.EOF {
				return nil, wamp.NewError("test.unexpected", "Next after EOF: "+errString(err))
			}
			return &Result{Values: Values{Args: wamp.List{strings.Join(parts, ",")}}}, nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("chunks", func(t *testing.T) {
			stream, err := caller.CallStream(ctx, "test.concat", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, chunk := range []string{"a", "b", "c"} {
				if err := stream.Send(wamp.List{chunk}, nil); err != nil {
					t.Fatalf("Send(%s): %v", chunk, err)
				}
			}
			res, err := stream.Finish(wamp.List{"d"}, nil)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if s, _ := res.ArgString(0); s != "a,b,c,d" {
				t.Errorf("result = %v, want a,b,c,d", res.Args)
			}
			if err := stream.Send(wamp.List{"e"}, nil); !errors.Is(err, ErrStreamClosed) {
				t.Errorf("Send after Finish: %v, want ErrStreamClosed", err)
			}
			if again, err := stream.Finish(nil, nil); err != nil || again != res {
				t.Errorf("second Finish = %v, %v; want the same result", again, err)
			}
		})

		t.Run("with progressive results", func(t *testing.T) {
			var got collector[int64]
			stream, err := caller.CallStream(ctx, "test.concat", &CallOptions{Progress: func(r *Result) {
				n, _ := r.ArgInt(0)
				got.add(n)
			}})
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(wamp.List{"a"}, nil); err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(wamp.List{"b"}, nil); err != nil {
				t.Fatal(err)
			}
			// Results stream back while the call is still being sent.
			eventually(t, "a progressive result", func() bool { return got.len() == 1 })
			if err := stream.Send(wamp.List{"c"}, nil); err != nil {
				t.Fatal(err)
			}
			res, err := stream.Finish(wamp.List{"d"}, nil)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if s, _ := res.ArgString(0); s != "a,b,c,d" {
				t.Errorf("result = %v, want a,b,c,d", res.Args)
			}
			if !slices.Equal(got.all(), []int64{2, 3, 4}) {
				t.Errorf("progressive results = %v, want [2 3 4]", got.all())
			}
		})

		t.Run("finish only", func(t *testing.T) {
			stream, err := caller.CallStream(ctx, "test.concat", nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := stream.Finish(wamp.List{"all"}, nil)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if s, _ := res.ArgString(0); s != "all" {
				t.Errorf("result = %v, want all", res.Args)
			}
		})

		t.Run("error ends the stream", func(t *testing.T) {
			stream, err := caller.CallStream(ctx, "test.concat", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(wamp.List{"a"}, nil); err != nil {
				t.Fatal(err)
			}
			if err := stream.Send(wamp.List{42}, nil); err != nil {
				t.Fatal(err)
			}
			_, err = stream.Finish(wamp.List{"z"}, nil)
			if !errors.Is(err, wamp.ErrInvalidArgument) {
				t.Fatalf("Finish: %v, want wamp.ErrInvalidArgument", err)
			}
			if err := stream.Send(nil, nil); !errors.Is(err, ErrStreamClosed) {
				t.Errorf("Send after the error: %v, want ErrStreamClosed", err)
			}
		})
	})
}

// TestCallStreamCancel ends a stream's ctx while the callee waits for the
// next chunk: the callee is interrupted and the stream fails.
func TestCallStreamCancel(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		chunks := make(chan string, 8)
		stopped := make(chan error, 1)
		_, err := callee.Register(ctx, "test.sink", func(ctx context.Context, inv *Invocation) (*Result, error) {
			chunks <- inv.Arg(0).(string)
			for {
				v, err := inv.Next(ctx)
				if err != nil {
					stopped <- err
					return nil, err
				}
				chunks <- v.Arg(0).(string)
			}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		streamCtx, cancel := context.WithCancel(ctx)
		stream, err := caller.CallStream(streamCtx, "test.sink", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"a", "b"} {
			if err := stream.Send(wamp.List{c}, nil); err != nil {
				t.Fatal(err)
			}
			if got := waitValue(t, "a chunk", chunks); got != c {
				t.Fatalf("callee got %q, want %q", got, c)
			}
		}
		cancel()
		if err := waitValue(t, "the callee to stop", stopped); !errors.Is(err, wamp.ErrCanceled) {
			t.Errorf("Next: %v, want the interrupt's wamp.ErrCanceled", err)
		}
		if _, err := stream.Finish(nil, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Finish: %v, want context.Canceled", err)
		}
		if err := stream.Send(nil, nil); !errors.Is(err, ErrStreamClosed) {
			t.Errorf("Send after Finish: %v, want ErrStreamClosed", err)
		}
	})
}

// TestCallStreamUnsupportedWire: without the router's
// progressive_call_invocations nothing is sent.
func TestCallStreamUnsupportedWire(t *testing.T) {
	s, r := join(t, nil)
	stream, err := s.CallStream(testContext(t), "test.echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = stream.Send(wamp.List{"a"}, nil)
	if !errors.Is(err, &wamp.Error{URI: wamp.URIFeatureNotSupported}) {
		t.Fatalf("Send: %v, want wamp.error.feature_not_supported", err)
	}
	if _, err2 := stream.Finish(nil, nil); !errors.Is(err2, err) {
		t.Errorf("Finish: %v, want the stream's error %v", err2, err)
	}
	if n := len(r.received(wamp.TypeCall)); n != 0 {
		t.Errorf("router got %d CALL", n)
	}
}

// TestCallStreamEarlyAnswer: a callee may answer before the last chunk.
// The stream then ends, and a chunk that crossed the answer, which the
// router takes for a new call, is canceled rather than left hanging.
func TestCallStreamEarlyAnswer(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		var strays, ended atomic.Int32
		_, err := callee.Register(ctx, "test.early", func(ctx context.Context, inv *Invocation) (*Result, error) {
			if inv.Arg(0) == "first" {
				return &Result{Values: Values{Args: wamp.List{"enough"}}}, nil
			}
			// A chunk taken for a new call.
			strays.Add(1)
			defer ended.Add(1)
			for {
				if _, err := inv.Next(ctx); err != nil {
					return nil, err
				}
			}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		stream, err := caller.CallStream(ctx, "test.early", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(wamp.List{"first"}, nil); err != nil {
			t.Fatal(err)
		}
		for {
			err := stream.Send(wamp.List{"more"}, nil)
			if errors.Is(err, ErrStreamClosed) {
				break
			}
			if err != nil {
				t.Fatalf("Send: %v, want nil until ErrStreamClosed", err)
			}
			time.Sleep(100 * time.Microsecond) // a pace the connection keeps up with
		}
		res, err := stream.Finish(wamp.List{"last"}, nil)
		if err != nil || res.Arg(0) != "enough" {
			t.Fatalf("Finish = %v, %v; want the early result", res, err)
		}
		eventually(t, "stray calls to end", func() bool { return ended.Load() == strays.Load() })
		t.Logf("%d chunks crossed the answer", strays.Load())
	})
}

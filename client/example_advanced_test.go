package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// exampleRouter starts an in-process router and joins two sessions to it;
// stop closes them and the router.
func exampleRouter() (callee, caller *client.Session, stop func()) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := router.New(router.Config{Logger: quiet})
	if err != nil {
		panic(err)
	}
	join := func() *client.Session {
		peer, err := r.LocalPeer()
		if err != nil {
			panic(err)
		}
		s, err := client.Join(context.Background(), peer, client.Config{Logger: quiet})
		if err != nil {
			panic(err)
		}
		return s
	}
	callee, caller = join(), join()
	return callee, caller, func() {
		ctx := context.Background()
		caller.Close(ctx)
		callee.Close(ctx)
		r.Stop(ctx)
	}
}

// A callee sends progressive results with Invocation.Progress; the caller
// receives them, in order, through CallOptions.Progress before Call
// returns the final result.
func ExampleSession_Call_progress() {
	callee, caller, stop := exampleRouter()
	defer stop()
	ctx := context.Background()

	callee.Register(ctx, "com.example.download", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		for pct := 25; pct < 100; pct += 25 {
			// Progress fails with client.ErrNoProgress if the caller did
			// not ask for progressive results; they are optional.
			if err := inv.Progress(ctx, wamp.List{pct}, nil); err != nil && !errors.Is(err, client.ErrNoProgress) {
				return nil, err
			}
		}
		return &client.Result{Values: client.Values{Args: wamp.List{"file.bin"}}}, nil
	}, nil)

	res, err := caller.Call(ctx, "com.example.download", nil, nil, &client.CallOptions{
		Progress: func(r *client.Result) {
			pct, _ := r.ArgInt(0)
			fmt.Printf("%d%%\n", pct)
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("done:", res.Arg(0))
	// Output:
	// 25%
	// 50%
	// 75%
	// done: file.bin
}

// When the caller's ctx ends, Call returns at once and the router is told
// to cancel the call; in kill mode it interrupts the callee, whose handler
// sees its ctx end. A Timeout the router enforces comes back as
// wamp.ErrTimeout.
func ExampleSession_Call_cancel() {
	callee, caller, stop := exampleRouter()
	defer stop()
	ctx := context.Background()

	started := make(chan struct{}, 1)
	interrupted := make(chan error, 1)
	callee.Register(ctx, "com.example.slow", func(ctx context.Context, _ *client.Invocation) (*client.Result, error) {
		started <- struct{}{}
		<-ctx.Done()
		interrupted <- context.Cause(ctx)
		return nil, ctx.Err() // answered as wamp.error.canceled
	}, nil)

	callCtx, cancel := context.WithCancel(ctx)
	go func() {
		<-started
		cancel()
	}()
	_, err := caller.Call(callCtx, "com.example.slow", nil, nil, &client.CallOptions{CancelMode: client.CancelKill})
	fmt.Println("caller:", err)
	fmt.Println("callee interrupted:", errors.Is(<-interrupted, wamp.ErrCanceled))

	_, err = caller.Call(ctx, "com.example.slow", nil, nil, &client.CallOptions{Timeout: 50 * time.Millisecond})
	fmt.Println("timed out:", errors.Is(err, wamp.ErrTimeout))
	<-interrupted
	// Output:
	// caller: context canceled
	// callee interrupted: true
	// timed out: true
}

// A caller sends its arguments in chunks with CallStream; the callee reads
// them with Invocation.Next until io.EOF.
func ExampleSession_CallStream() {
	callee, caller, stop := exampleRouter()
	defer stop()
	ctx := context.Background()

	callee.Register(ctx, "com.example.join", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		first, _ := inv.ArgString(0)
		words := []string{first}
		for {
			chunk, err := inv.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			w, _ := chunk.ArgString(0)
			words = append(words, w)
		}
		return &client.Result{Values: client.Values{Args: wamp.List{strings.Join(words, " ")}}}, nil
	}, nil)

	stream, err := caller.CallStream(ctx, "com.example.join", nil)
	if err != nil {
		panic(err)
	}
	for _, w := range []string{"chunks", "travel"} {
		if err := stream.Send(wamp.List{w}, nil); err != nil {
			panic(err)
		}
	}
	res, err := stream.Finish(wamp.List{"separately"}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Arg(0))
	// Output:
	// chunks travel separately
}

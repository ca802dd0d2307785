package router_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// An app that embeds the router joins it in-process: no socket, no
// serialization. The same router serves WebSocket clients at /ws.
func Example() {
	r, err := router.New(router.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	defer r.Stop(context.Background())
	_ = http.Handler(r) // mount it at /ws to serve WebSocket clients too

	ctx := context.Background()
	join := func() *client.Session {
		peer, err := r.LocalPeer()
		if err != nil {
			panic(err)
		}
		s, err := client.Join(ctx, peer, client.Config{Realm: "realm1"})
		if err != nil {
			panic(err)
		}
		return s
	}
	callee, caller := join(), join()
	defer callee.Close(ctx)
	defer caller.Close(ctx)

	callee.Register(ctx, "greet", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		name, err := inv.ArgString(0)
		if err != nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, err.Error())
		}
		return &client.Result{Values: client.Values{Args: wamp.List{"hello, " + name}}}, nil
	}, nil)
	res, err := caller.Call(ctx, "greet", wamp.List{"junction"}, nil, nil)
	fmt.Println(res.Arg(0), err)
	_, err = caller.Call(ctx, "greet", wamp.List{42}, nil, nil)
	fmt.Println(err)
	// Output:
	// hello, junction <nil>
	// wamp.error.invalid_argument: client: argument has the wrong type: argument 0 is int
}

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// runDemo starts a router and a client that shows pub/sub and RPC, printing
// each step, then keeps the router up for other clients until a signal
// (or exits at once with --once).
func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("junction demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f routerFlags
	f.register(fs)
	once := fs.Bool("once", false, "exit after the demo instead of serving until interrupted")
	f.logs.level = "warn"
	if err := parse(fs, args); err != nil {
		return err
	}
	f.parsed(fs)
	wait := notifySignals()
	s, err := startServer(&f, stderr)
	if err != nil {
		return err
	}
	defer s.stop()
	url := "ws://" + s.ln.Addr().String() + "/ws"
	fmt.Fprintf(stdout, "router: serving %s (realm %s)\n", url, s.router.Realms()[0])
	if err := demo(url, s.router.Realms()[0], stdout); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if *once {
		return nil
	}
	fmt.Fprintf(stdout, "demo done; the router keeps serving %s, Ctrl-C to stop\n", url)
	wait()
	return nil
}

// demo plays one publisher/subscriber and one caller/callee over real
// WebSocket sessions, the way any WAMP client would.
func demo(url, realm string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, err := client.Dial(ctx, url, client.Config{Realm: wamp.URI(realm)})
	if err != nil {
		return err
	}
	defer alice.Close(ctx)
	bob, err := client.Dial(ctx, url, client.Config{Realm: wamp.URI(realm)})
	if err != nil {
		return err
	}
	defer bob.Close(ctx)
	fmt.Fprintf(out, "alice: joined as session %d\nbob:   joined as session %d\n", alice.ID(), bob.ID())

	got := make(chan *client.Event, 3)
	if _, err := bob.Subscribe(ctx, "demo.news", func(_ context.Context, e *client.Event) { got <- e }, nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "bob:   subscribed to demo.news")
	for i, headline := range []string{"router up", "pub/sub works", "rpc next"} {
		id, err := alice.Publish(ctx, "demo.news", wamp.List{headline}, wamp.Dict{"n": i + 1}, &client.PublishOptions{Acknowledge: true})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "alice: published %q (publication %d)\n", headline, id)
		select {
		case e := <-got:
			fmt.Fprintf(out, "bob:   received %q, n=%v\n", e.Arg(0), e.Kwarg("n"))
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	if _, err := bob.Register(ctx, "demo.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, err := inv.ArgInt(0)
		if err != nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, err.Error())
		}
		b, err := inv.ArgInt(1)
		if err != nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, err.Error())
		}
		return &client.Result{Values: client.Values{Args: wamp.List{a + b}}}, nil
	}, nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "bob:   registered demo.add")
	res, err := alice.Call(ctx, "demo.add", wamp.List{2, 3}, nil, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "alice: demo.add(2, 3) = %v\n", res.Arg(0))
	_, err = alice.Call(ctx, "demo.add", wamp.List{"two", 3}, nil, nil)
	var werr *wamp.Error
	if !errors.As(err, &werr) {
		return fmt.Errorf("demo.add with a bad argument: got %v, want a WAMP error", err)
	}
	fmt.Fprintf(out, "alice: demo.add(\"two\", 3) failed: %v\n", werr)
	_, err = alice.Call(ctx, "demo.nothing", nil, nil, nil)
	if !errors.Is(err, wamp.ErrNoSuchProcedure) {
		return fmt.Errorf("calling nothing: got %v, want %v", err, wamp.ErrNoSuchProcedure)
	}
	fmt.Fprintf(out, "alice: demo.nothing() failed: %v\n", err)
	return nil
}

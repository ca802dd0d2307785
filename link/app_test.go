package link

import (
	"context"
	"testing"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// TestWithApp links an Application's embedded router (side a) with a
// plain router (side b): the app's events reach b, and the app calls a
// procedure of b.
func TestWithApp(t *testing.T) {
	app := junction.New("shop")
	app.Register("add", func(a, b int) int { return a + b }) // exported: shop.add
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Shutdown(context.Background()) })

	rtB := newRouter(t)
	log := newLogger(t)
	a := startLink(t, Config{Name: "a", Peer: "b", Local: app.Router(), Realm: wamp.URI(app.Settings().Realm),
		DataDir: t.TempDir(), Listen: "127.0.0.1:0", Token: "t0ken", Logger: log,
		ExportTopics: []string{"shop.order.placed"}, ImportProcedures: []string{"stock.count"},
		ExportProcedures: []string{"shop.add"}})
	b := startLink(t, Config{Name: "b", Peer: "a", Local: rtB, DataDir: t.TempDir(),
		Remote: "nats-leaf://" + a.LeafAddr(), Token: "t0ken", Logger: log,
		ImportTopics: []string{"shop.order.placed"}, ExportProcedures: []string{"stock.count"},
		ImportProcedures: []string{"shop.add"}})
	waitFor(t, "the leaf node connection", func() bool { return a.Up() && b.Up() })

	sB := join(t, rtB)
	orders := events(t, sB, "shop.order.placed", "")
	if _, err := sB.Register(ctx, "stock.count", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: wamp.List{len(inv.Args)}}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}

	if err := app.Publish(ctx, "shop.order.placed", 42, junction.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	if e := next(t, orders, "shop.order.placed on b"); e.Arg(0) != int64(42) && e.Arg(0) != 42 {
		t.Errorf("b got %v, want [42]", e.Args)
	}
	waitFor(t, "stock.count on a", func() bool {
		res, err := app.Call(ctx, "stock.count", "x", "y")
		return err == nil && res.Arg(0) != nil
	})
	res, err := app.Call(ctx, "stock.count", "x", "y", "z")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.ArgInt(0); n != 3 {
		t.Errorf("stock.count(x, y, z) = %v, want 3", res.Args)
	}
	waitFor(t, "shop.add on b", func() bool {
		_, err := sB.Call(ctx, "shop.add", wamp.List{1, 1}, nil, nil)
		return err == nil
	})
	if res, err := sB.Call(ctx, "shop.add", wamp.List{2, 40}, nil, nil); err != nil {
		t.Fatal(err)
	} else if n, _ := res.ArgInt(0); n != 42 {
		t.Errorf("shop.add(2, 40) from b = %v, want 42", res.Args)
	}
}

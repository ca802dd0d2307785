package link

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
	"github.com/nats-io/nats.go/jetstream"
)

// TestEventsCross publishes on a's realm and checks what reaches b's:
// an event of a topic a exports and b imports, with its arguments
// (binary included) and in order; nothing of a topic a does not export,
// nor of one a exports but b does not import.
func TestEventsCross(t *testing.T) {
	p := newPair(t,
		Config{ExportTopics: []string{"paste.created", "prefix:feed", "only.exported"}},
		Config{ImportTopics: []string{"paste.created", "prefix:feed", "secret.stuff"}})
	pubA, subB := join(t, p.rtA), join(t, p.rtB)
	all := make(chan *client.Event, 100)
	for _, prefix := range []wamp.URI{"paste", "feed", "secret", "only"} {
		subscribe(t, subB, prefix, wamp.MatchPrefix, all)
	}

	publish(t, pubA, "secret.stuff", wamp.List{"not exported"}, nil)
	publish(t, pubA, "only.exported", wamp.List{"not imported"}, nil)
	publish(t, pubA, "feedback", wamp.List{"not under feed by components"}, nil)
	publish(t, pubA, "paste.created", wamp.List{"id1", []byte{0, 1, 2}}, wamp.Dict{"size": 3})
	publish(t, pubA, "feed.item.new", wamp.List{"under feed"}, nil)
	publish(t, pubA, "paste.created", wamp.List{"id2"}, nil)

	e := next(t, all, "paste.created id1")
	if e.Topic() != "paste.created" || e.Arg(0) != "id1" || !bytes.Equal(asBytes(e.Arg(1)), []byte{0, 1, 2}) {
		t.Errorf("first event: topic %s args %#v, want paste.created [id1 [0 1 2]]", e.Topic(), e.Args)
	}
	if n, _ := e.KwargInt("size"); n != 3 {
		t.Errorf("first event kwargs %v, want size 3", e.Kwargs)
	}
	if e := next(t, all, "feed.item.new"); e.Topic() != "feed.item.new" {
		t.Errorf("second event: topic %s, want feed.item.new", e.Topic())
	}
	if e := next(t, all, "paste.created id2"); e.Arg(0) != "id2" {
		t.Errorf("third event: %s %v, want paste.created [id2]", e.Topic(), e.Args)
	}
	none(t, all, "after the exported ones")
}

func asBytes(v any) []byte {
	b, _ := v.([]byte)
	return b
}

// TestEventsBothWaysNoLoop links one topic both ways: an event crosses
// once and is not sent back.
func TestEventsBothWaysNoLoop(t *testing.T) {
	both := []string{"paste.created"}
	p := newPair(t,
		Config{ExportTopics: both, ImportTopics: both},
		Config{ExportTopics: both, ImportTopics: both})
	sA, sB := join(t, p.rtA), join(t, p.rtB)
	onA, onB := events(t, sA, "paste.created", ""), events(t, sB, "paste.created", "")

	publish(t, sA, "paste.created", wamp.List{"from a"}, nil)
	if e := next(t, onB, "from a on b"); e.Arg(0) != "from a" {
		t.Fatalf("b got %v, want [from a]", e.Args)
	}
	// Had b's link sent it back, it would reach a before this one.
	publish(t, sB, "paste.created", wamp.List{"from b"}, nil)
	if e := next(t, onA, "from b on a"); e.Arg(0) != "from b" {
		t.Fatalf("a got %v first, want [from b]: the event went back", e.Args)
	}
	publish(t, sA, "paste.created", wamp.List{"marker"}, nil)
	if e := next(t, onB, "marker on b"); e.Arg(0) != "marker" {
		t.Fatalf("b got %v, want [marker]: the event from b came back", e.Args)
	}
	none(t, onA, "on a")
	none(t, onB, "on b")
}

// TestProcedures calls procedures of a from b's realm: arguments,
// results and errors cross; a procedure a does not export is refused.
func TestProcedures(t *testing.T) {
	p := newPair(t,
		Config{ExportProcedures: []string{"math.add", "prefix:svc"}},
		Config{ImportProcedures: []string{"math.add", "prefix:svc", "math.secret"}})
	callee, caller := join(t, p.rtA), join(t, p.rtB)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	register := func(uri wamp.URI, h client.InvocationHandler) {
		if _, err := callee.Register(ctx, uri, h, nil); err != nil {
			t.Fatal(err)
		}
	}
	register("math.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, err := inv.ArgInt(0)
		if err != nil {
			return nil, err
		}
		b, err := inv.ArgInt(1)
		if err != nil {
			return nil, err
		}
		return &client.Result{Values: client.Values{Args: wamp.List{a + b}, Kwargs: wamp.Dict{"by": inv.Kwargs["by"]}}}, nil
	})
	register("svc.fail", func(context.Context, *client.Invocation) (*client.Result, error) {
		return nil, &wamp.Error{URI: "app.error.nope", Args: wamp.List{"no way"}, Kwargs: wamp.Dict{"code": 42}}
	})
	register("math.secret", func(context.Context, *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: wamp.List{"leaked"}}}, nil
	})
	// b's link registers its imports once it has joined, and a's link
	// answers for math.add once it has seen the callee's registration:
	// until both, the call gets no_such_procedure or link_down.
	waitFor(t, "math.add across the link", func() bool {
		_, err := caller.Call(ctx, "math.add", wamp.List{0, 0}, nil, nil)
		return err == nil
	})

	res, err := caller.Call(ctx, "math.add", wamp.List{2, 3}, wamp.Dict{"by": "b"}, nil)
	if err != nil {
		t.Fatalf("math.add: %v", err)
	}
	if n, _ := res.ArgInt(0); n != 5 || res.Kwargs["by"] != "b" {
		t.Errorf("math.add(2, 3) = %v %v, want [5] {by: b}", res.Args, res.Kwargs)
	}
	_, err = caller.Call(ctx, "svc.fail", nil, nil, nil)
	var we *wamp.Error
	if !errors.As(err, &we) || we.URI != "app.error.nope" || len(we.Args) != 1 || we.Args[0] != "no way" {
		t.Errorf("svc.fail: err %#v, want app.error.nope [no way]", err)
	} else if code, _ := wamp.AsInt64(we.Kwargs["code"]); code != 42 {
		t.Errorf("svc.fail: kwargs %v, want code 42", we.Kwargs)
	}
	_, err = caller.Call(ctx, "math.add", wamp.List{"two", 3}, nil, nil)
	if !errors.Is(err, wamp.ErrInvalidArgument) && !errors.Is(err, client.ErrRuntime) {
		t.Errorf("math.add(two, 3): err %v, want the callee's argument error", err)
	}
	_, err = caller.Call(ctx, "math.secret", nil, nil, nil)
	if !errors.Is(err, wamp.ErrNoSuchProcedure) {
		t.Errorf("math.secret (imported by b, not exported by a): err %v, want wamp.error.no_such_procedure", err)
	}
	_, err = caller.Call(ctx, "svc.missing", nil, nil, nil)
	if !errors.Is(err, wamp.ErrNoSuchProcedure) {
		t.Errorf("svc.missing (exported, not registered on a): err %v, want wamp.error.no_such_procedure", err)
	}
}

// TestLinkDown cuts the leaf node connection: calls fail at once with
// URILinkDown, events published meanwhile arrive once it is back, in
// order and once each.
func TestLinkDown(t *testing.T) {
	p := newPair(t,
		Config{ExportTopics: []string{"prefix:paste"}, ExportProcedures: []string{"math.add"}},
		Config{ImportTopics: []string{"prefix:paste"}, ImportProcedures: []string{"math.add"}})
	sA, sB := join(t, p.rtA), join(t, p.rtB)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := sA.Register(ctx, "math.add", func(context.Context, *client.Invocation) (*client.Result, error) {
		return &client.Result{}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	onB := events(t, sB, "paste", wamp.MatchPrefix)
	publish(t, sA, "paste.created", wamp.List{0}, nil)
	next(t, onB, "before the cut")

	p.proxy.setUp(false)
	waitFor(t, "the link to go down", func() bool { return !p.a.Up() && !p.b.Up() })
	const n = 20
	for i := 1; i <= n; i++ {
		publish(t, sA, "paste.created", wamp.List{i}, nil)
	}
	waitFor(t, "b's registration", func() bool {
		_, err := sB.Call(ctx, "math.add", nil, nil, nil)
		return !errors.Is(err, wamp.ErrNoSuchProcedure)
	})
	start := time.Now()
	_, err := sB.Call(ctx, "math.add", wamp.List{1, 2}, nil, nil)
	if !errors.Is(err, ErrLinkDown) {
		t.Errorf("call while the link is down: err %v, want %s", err, URILinkDown)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("call while the link is down took %v", d)
	}
	none(t, onB, "while the link is down")

	p.proxy.setUp(true)
	for i := 1; i <= n; i++ {
		e := next(t, onB, fmt.Sprint("number ", i, " after the link came back"))
		if got, _ := e.ArgInt(0); got != int64(i) {
			t.Fatalf("event %d after the link came back carries %v", i, e.Args)
		}
	}
	if _, err := sB.Call(ctx, "math.add", nil, nil, nil); err != nil {
		t.Errorf("call once the link is back: %v", err)
	}
	publish(t, sA, "paste.created", wamp.List{"marker"}, nil)
	if e := next(t, onB, "marker"); e.Arg(0) != "marker" {
		t.Errorf("after the backlog, b got %v, want [marker]: a duplicate", e.Args)
	}
}

// TestImporterRestart stops b's link, publishes on a, starts b's link
// again on the same data dir: the events arrive once. Then a's stream
// hands them all out again (b's consumer is deleted and made anew): b
// recognises them and publishes none twice.
func TestImporterRestart(t *testing.T) {
	p := newPair(t, Config{ExportTopics: []string{"paste.created"}}, Config{ImportTopics: []string{"paste.created"}})
	sA, sB := join(t, p.rtA), join(t, p.rtB)
	onB := events(t, sB, "paste.created", "")
	publish(t, sA, "paste.created", wamp.List{0}, nil)
	next(t, onB, "before the restart")

	stopLink(t, p.b)
	for i := 1; i <= 5; i++ {
		publish(t, sA, "paste.created", wamp.List{i}, nil)
	}
	p.b = startLink(t, p.cfgB)
	for i := 1; i <= 5; i++ {
		e := next(t, onB, fmt.Sprint("number ", i, " after the restart"))
		if got, _ := e.ArgInt(0); got != int64(i) {
			t.Fatalf("event %d after the restart carries %v", i, e.Args)
		}
	}

	// a loses b's consumer: b makes another from where it stands.
	js, err := jetstream.New(p.a.Conn())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st, err := js.Stream(ctx, streamName("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	names := st.ConsumerNames(ctx)
	var deleted int
	for name := range names.Name() {
		if err := st.DeleteConsumer(ctx, name); err != nil {
			t.Fatal(err)
		}
		deleted++
	}
	if err := names.Err(); err != nil || deleted == 0 {
		t.Fatalf("deleted %d consumers of b; err %v", deleted, err)
	}
	publish(t, sA, "paste.created", wamp.List{"marker"}, nil)
	if e := next(t, onB, "marker"); e.Arg(0) != "marker" {
		t.Fatalf("after the consumer was made anew, b got %v, want [marker]: a duplicate", e.Args)
	}
	none(t, onB, "after the marker")
}

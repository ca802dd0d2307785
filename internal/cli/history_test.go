package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

func TestEventHistoryFlag(t *testing.T) {
	var h historyFlag
	for _, v := range []string{"news=10", "prefix:chat.=5", "wildcard:game..score=1"} {
		if err := h.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	want := historyFlag{
		{Topic: "news", Match: wamp.MatchExact, Limit: 10},
		{Topic: "chat.", Match: wamp.MatchPrefix, Limit: 5},
		{Topic: "game..score", Match: wamp.MatchWildcard, Limit: 1},
	}
	if len(h) != len(want) {
		t.Fatalf("got %v", h)
	}
	for i := range want {
		if h[i] != want[i] {
			t.Errorf("rule %d = %+v, want %+v", i, h[i], want[i])
		}
	}
	for _, bad := range []string{"news", "news=0", "news=-1", "news=x", "=3", "game..score=2", "prefix:=2"} {
		var out bytes.Buffer
		if code := Main([]string{"router", "--event-history", bad}, &out, &out); code != 2 || !strings.Contains(out.String(), "event-history") {
			t.Errorf("--event-history %q: exit %d, output %q; want exit 2 naming the flag", bad, code, out.String())
		}
	}
}

// The flag reaches the router: events of a configured topic are kept and
// served by wamp.subscription.get_events.
func TestEventHistoryServed(t *testing.T) {
	var f routerFlags
	fs := newFlagSet("junction router")
	f.register(fs)
	if _, err := fs.parse([]string{"--listen", "127.0.0.1:0", "--event-history", "prefix:chat.=2", "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(&f, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "ws://"+srv.ln.Addr().String()+"/ws", client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	sub, err := s.Subscribe(ctx, "chat.room1", func(context.Context, *client.Event) {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two", "three"} {
		if _, err := s.Publish(ctx, "chat.room1", wamp.List{text}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Call(ctx, "wamp.subscription.get_events", wamp.List{sub.ID()}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Args { // one event per argument, oldest first
		d, _ := e.(wamp.Dict)
		args, _ := d["args"].(wamp.List)
		if len(args) == 1 {
			got = append(got, args[0].(string))
		}
	}
	if strings.Join(got, ",") != "two,three" {
		t.Fatalf("get_events = %v (%v), want the last two events", got, res.Args)
	}
}

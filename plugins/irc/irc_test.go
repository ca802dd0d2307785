package irc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/daemontest"
	"github.com/junction-run/junction/internal/plugintest"
	"github.com/junction-run/junction/wamp"
)

// startApp runs an app with the plugin, shut down at cleanup.
func startApp(t *testing.T, p *Plugin) *junction.Application {
	t.Helper()
	return plugintest.StartApp(t, "chat", p)
}

// testConfig is a bot on srv tuned for tests: quick retries and
// reconnections.
func testConfig(srv *ngircd) Config {
	return Config{
		Server:         srv.Addr,
		Nick:           "bot",
		Channels:       []string{"#junction"},
		ReconnectDelay: 200 * time.Millisecond,
		Timeout:        10 * time.Second,
		FloodInterval:  50 * time.Millisecond,
		SendBackoff:    100 * time.Millisecond,
		SendMaxBackoff: time.Second,
	}
}

// quiet is an app without HTTP or logs.
var quiet = junction.WithSettings(func(s *junction.Settings) { s.Listen = ""; s.LogLevel = "error" })

// waitFor waits until cond holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wampClient(t *testing.T, app *junction.Application) *client.Session {
	t.Helper()
	return plugintest.Client(t, app)
}

func TestIRCJoinsHandlesMatchingMessagesAndSends(t *testing.T) {
	srv := startNgircd(t)
	p := New(testConfig(srv))
	handled := make(chan *Msg, 10)
	p.Message(`^!echo (\w+)(?: (?P<rest>.*))?$`, func(ctx context.Context, m *Msg) error {
		handled <- m
		return m.Reply(ctx, "echo: "+m.Groups[1])
	})
	app := startApp(t, p)
	if !p.Joined("#junction") {
		t.Fatal("Start returned before the channel was joined")
	}

	wc := wampClient(t, app)
	events := make(chan *client.Event, 10)
	if _, err := wc.Subscribe(context.Background(), "irc.received", func(_ context.Context, e *client.Event) { events <- e }, nil); err != nil {
		t.Fatal(err)
	}

	alice := dialClient(t, srv.Addr, "alice")
	alice.join("#junction")
	alice.send("PRIVMSG #junction :just chatting")
	alice.send("PRIVMSG #junction :!echo hello big world")

	// Every message reaches irc.received; the matching one the handler.
	var got []wamp.Dict
	for len(got) < 2 {
		select {
		case e := <-events:
			d, _ := e.Arg(0).(wamp.Dict)
			got = append(got, d)
		case <-time.After(30 * time.Second):
			t.Fatalf("irc.received: %d events, want 2", len(got))
		}
	}
	if got[0]["text"] != "just chatting" || got[0]["groups"] != nil || got[0]["nick"] != "alice" || got[0]["target"] != "#junction" {
		t.Errorf("first event %v", got[0])
	}
	if got[1]["text"] != "!echo hello big world" || fmt.Sprint(got[1]["groups"]) != "[!echo hello big world hello big world]" {
		t.Errorf("second event %v", got[1])
	}
	if named, _ := got[1]["named"].(wamp.Dict); named["rest"] != "big world" {
		t.Errorf("named groups %v", got[1]["named"])
	}
	select {
	case m := <-handled:
		if m.Groups[1] != "hello" || m.Named["rest"] != "big world" || m.Nick != "alice" || m.Private {
			t.Errorf("handled %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not run")
	}
	if len(handled) != 0 {
		t.Error("the handler ran for a message that does not match")
	}
	alice.expect("the handler's reply", func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && m.Nick() == "bot" && m.Params[0] == "#junction" && m.Params[1] == "echo: hello"
	})

	// Send, from Go and over WAMP, to the channel and in private.
	ctx := context.Background()
	if _, err := p.Send(ctx, "alice", "a private word\nin two lines"); err != nil {
		t.Fatal(err)
	}
	res, err := wc.Call(ctx, "irc.send", wamp.List{"#junction", "from WAMP"}, nil, nil)
	if err != nil {
		t.Fatalf("call irc.send: %v", err)
	}
	if id, _ := res.Arg(0).(string); id == "" {
		t.Errorf("irc.send returned %v, want a task id", res.Args)
	}
	var texts []string
	alice.expect("three messages", func(m ircmsg.Message) bool {
		if m.Command == "PRIVMSG" && m.Nick() == "bot" {
			texts = append(texts, m.Params[0]+" "+m.Params[1])
		}
		return len(texts) == 3
	})
	slices.Sort(texts)
	if want := []string{"#junction from WAMP", "alice a private word", "alice in two lines"}; !slices.Equal(texts, want) {
		t.Errorf("alice got %q, want %q", texts, want)
	}

	// A private message to the bot.
	alice.send("PRIVMSG bot :!echo secret")
	select {
	case m := <-handled:
		if !m.Private || m.ReplyTarget() != "alice" {
			t.Errorf("private message %+v", m)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the private message was not handled")
	}
	alice.expect("the private reply", func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && m.Params[0] == "alice" && m.Params[1] == "echo: secret"
	})
}

func TestIRCRejoinsAfterTheServerRestarts(t *testing.T) {
	srv := startNgircd(t)
	p := New(testConfig(srv))
	handled := make(chan string, 10)
	p.Message(`ping`, func(ctx context.Context, m *Msg) error { handled <- m.Text; return nil })
	app := startApp(t, p)
	wc := wampClient(t, app)
	joins := make(chan string, 10)
	if _, err := wc.Subscribe(context.Background(), "irc.joined", func(_ context.Context, e *client.Event) {
		joins <- fmt.Sprint(e.Arg(0))
	}, nil); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	waitFor(t, "the bot to see the server gone", func() bool { return !p.Connected() && !p.Joined("#junction") })
	srv.Restart()
	// The event of the first join may come late: wait for one seen
	// while the bot is in the channel again (Joined was false above).
	for joined := false; !joined; {
		select {
		case ch := <-joins:
			if ch != "#junction" {
				t.Errorf("joined %q", ch)
			}
			joined = p.Joined("#junction")
		case <-time.After(60 * time.Second):
			t.Fatal("the bot did not join again")
		}
	}
	alice := dialClient(t, srv.Addr, "alice")
	alice.join("#junction")
	alice.send("PRIVMSG #junction :ping after the restart")
	select {
	case text := <-handled:
		if text != "ping after the restart" {
			t.Errorf("handled %q", text)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no message handled after the restart")
	}
}

func TestIRCSendsQueuedWhileTheServerIsDownAreDeliveredOnce(t *testing.T) {
	srv := startNgircd(t)
	p := New(testConfig(srv))
	startApp(t, p)

	srv.Stop()
	waitFor(t, "the bot to see the server gone", func() bool { return !p.Connected() })
	const n = 5
	ctx := context.Background()
	var ids []string
	for i := range n {
		id, err := p.Send(ctx, "alice", fmt.Sprintf("queued %d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	srv.Restart()
	alice := dialClient(t, srv.Addr, "alice") // the bot retries until alice is there
	for _, id := range ids {
		rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		r, err := p.Queue().Result(rctx, id)
		cancel()
		if err != nil {
			t.Fatalf("task %s: %v", id, err)
		}
		if r.State != "done" {
			t.Fatalf("task %s: %s (%s) after %d attempts", id, r.State, r.Error, r.Attempts)
		}
	}
	counts := map[string]int{}
	for _, m := range alice.privmsgs() {
		counts[m.Params[1]]++
	}
	for i := range n {
		if c := counts[fmt.Sprintf("queued %d", i)]; c != 1 {
			t.Errorf("message %d delivered %d times (all: %v)", i, c, counts)
		}
	}
}

func TestIRCFloodControlPacesTheLines(t *testing.T) {
	srv := startNgircd(t)
	cfg := testConfig(srv)
	cfg.FloodBurst, cfg.FloodInterval = 2, 50*time.Millisecond
	p := New(cfg)
	startApp(t, p)
	alice := dialClient(t, srv.Addr, "alice")
	var lines []string
	for i := range 12 {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	start := time.Now()
	if _, err := p.Send(context.Background(), "alice", strings.Join(lines, "\n")); err != nil {
		t.Fatal(err)
	}
	var got []string
	alice.expect("12 lines", func(m ircmsg.Message) bool {
		if m.Command == "PRIVMSG" && m.Nick() == "bot" {
			got = append(got, m.Params[1])
		}
		return len(got) == len(lines)
	})
	elapsed := time.Since(start)
	if !slices.Equal(got, lines) {
		t.Errorf("got %q", got)
	}
	// Past the burst of 2, one line per 50ms: the 12th line leaves at
	// least 10 intervals after the first. (A lower bound: slowness
	// cannot break it.)
	if least := 10 * cfg.FloodInterval; elapsed < least {
		t.Errorf("12 lines in %v: the flood control should take at least %v", elapsed, least)
	}
}

func TestIRCOverTLS(t *testing.T) {
	srv := startNgircd(t)
	cfg := testConfig(srv)
	cfg.Server, cfg.TLS, cfg.TLSCAFile = srv.TLSAddr, true, srv.CAFile
	p := New(cfg)
	startApp(t, p)
	alice := dialClient(t, srv.Addr, "alice")
	if _, err := p.Send(context.Background(), "alice", "over TLS"); err != nil {
		t.Fatal(err)
	}
	alice.expect("the message sent over TLS", func(m ircmsg.Message) bool {
		return m.Command == "PRIVMSG" && m.Params[1] == "over TLS"
	})

	// Without the CA, the server's certificate is refused.
	cfg.TLSCAFile = ""
	bad := New(cfg)
	app := junction.New("chat2", quiet)
	app.Plug(bad)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := app.Start(ctx)
	if err == nil {
		app.Shutdown(ctx)
		t.Fatal("connected to a server with an unknown certificate")
	}
	if !strings.Contains(err.Error(), "junction: plugin irc: start: irc: connect to "+srv.TLSAddr) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("error %q", err)
	}
}

func TestIRCServerDownAtStartFailsRunClearly(t *testing.T) {
	needNgircd(t)
	app := junction.New("chat", quiet)
	app.Plug(New(Config{Server: "127.0.0.1:" + daemontest.FreePort(t), Timeout: 2 * time.Second}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := app.Start(ctx)
	if err == nil {
		app.Shutdown(ctx)
		t.Fatal("started without a server")
	}
	if !strings.Contains(err.Error(), "junction: plugin irc: start: irc: connect to 127.0.0.1:") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, ""},
		{Config{Server: "irc.example.org"}, "want host:port"},
		{Config{Server: "h:1", Nick: "a b"}, "nick"},
		{Config{Server: "h:1", Channels: []string{"junction"}}, `channel "junction"`},
		{Config{Server: "h:1", SASLMech: "SCRAM"}, "sasl-mech"},
		{Config{Server: "h:1", SASLLogin: "a"}, "needs both sasl-login and sasl-password"},
		{Config{Server: "h:1", SASLMech: "plain"}, "needs both"},
		{Config{Server: "h:1", SASLMech: "EXTERNAL"}, "it needs tls"},
		{Config{Server: "h:1", SASLMech: "EXTERNAL", TLS: true}, ""},
		{Config{Server: "h:1", Channels: []string{"#a", "#b key"}}, ""},
	} {
		err := c.cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	p := New(Config{Server: "h:1"})
	p.Message(`(`, func(context.Context, *Msg) error { return nil })
	if err := p.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "Message(\"(\")") {
		t.Errorf("bad pattern: %v", err)
	}
}

func TestIRCWithoutServerIsOff(t *testing.T) {
	p := New(Config{})
	startApp(t, p)
	if p.Connected() {
		t.Error("connected without a server")
	}
	id, err := p.Send(context.Background(), "#x", "kept in the queue")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a try", func() bool {
		r, err := p.Queue().Status(context.Background(), id)
		return err == nil && r.Attempts >= 1 && strings.Contains(r.Error, "not connected")
	})
}

func TestSplitText(t *testing.T) {
	long := strings.Repeat("word ", 30)
	for _, c := range []struct {
		text string
		max  int
		want []string
	}{
		{"one", 10, []string{"one"}},
		{"a\r\nb\n\nc", 10, []string{"a", "b", "c"}},
		{long, 50, nil},
		{"ééééé", 5, []string{"éé", "éé", "é"}},
	} {
		got := splitText(c.text, c.max)
		if c.want == nil {
			if strings.TrimSpace(strings.Join(got, " ")) != strings.TrimSpace(long) {
				t.Errorf("%q: %q", c.text, got)
			}
			for _, l := range got {
				if len(l) > c.max {
					t.Errorf("line %q over %d bytes", l, c.max)
				}
			}
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("splitText(%q, %d) = %q, want %q", c.text, c.max, got, c.want)
		}
	}
}

package cli

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// logBuffer collects a server's logs.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRouter runs `junction router args...` in the test's process, as
// runRouter does short of waiting for a signal, and stops it at cleanup.
func startRouter(t *testing.T, logs io.Writer, args ...string) *server {
	t.Helper()
	fs := newFlagSet("junction router")
	var f routerFlags
	f.register(fs)
	if _, err := fs.parse(args); err != nil {
		t.Fatal(err)
	}
	f.parsed(fs)
	s, err := startServer(&f, logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	return s
}

// urls returns the URLs the server listens on, in the listeners' order.
func (s *server) urls() []string {
	var urls []string
	for _, o := range s.listeners {
		urls = append(urls, o.url())
	}
	return urls
}

// wampPeer is a WAMP client driven message by message.
type wampPeer struct {
	t   *testing.T
	p   transport.Peer
	in  chan wamp.Message
	req wamp.Sequence
}

func dialPeer(t *testing.T, url string, cfg transport.Config) *wampPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := transport.Dial(ctx, url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &wampPeer{t: t, p: p, in: make(chan wamp.Message, 64)}
	go func() {
		defer close(w.in)
		for {
			m, err := p.Read()
			if err != nil {
				return
			}
			w.in <- m
		}
	}()
	t.Cleanup(func() { p.Close() })
	return w
}

func (w *wampPeer) send(m wamp.Message) {
	w.t.Helper()
	if err := w.p.Send(m); err != nil {
		w.t.Fatalf("send %s: %v", m.Type(), err)
	}
}

func (w *wampPeer) next() wamp.Message {
	w.t.Helper()
	select {
	case m, ok := <-w.in:
		if !ok {
			w.t.Fatal("connection closed")
		}
		return m
	case <-time.After(5 * time.Second):
		w.t.Fatal("no message from the router")
	}
	return nil
}

var clientRoles = wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}, "publisher": wamp.Dict{}, "subscriber": wamp.Dict{}}

// hello sends HELLO with details (roles added) and answers the
// CHALLENGE, if one comes, with answer(challenge); it returns WELCOME or
// ABORT.
func (w *wampPeer) hello(realm wamp.URI, details wamp.Dict, answer func(*wamp.Challenge) string) wamp.Message {
	w.t.Helper()
	d := wamp.Dict{"roles": clientRoles}
	for k, v := range details {
		d[k] = v
	}
	w.send(&wamp.Hello{Realm: realm, Details: d})
	m := w.next()
	if ch, ok := m.(*wamp.Challenge); ok {
		if answer == nil {
			w.t.Fatalf("unexpected CHALLENGE %v", ch)
		}
		w.send(&wamp.Authenticate{Signature: answer(ch), Extra: wamp.Dict{}})
		m = w.next()
	}
	return m
}

// request sends m, a request with ID req, and returns the answer to it.
func (w *wampPeer) request(m wamp.Message) wamp.Message {
	w.t.Helper()
	w.send(m)
	return w.next()
}

// expectError checks that m is an ERROR with uri.
func expectError(t *testing.T, m wamp.Message, uri wamp.URI) {
	t.Helper()
	if e, ok := m.(*wamp.ErrorMessage); !ok || e.Error != uri {
		t.Fatalf("got %s %+v, want ERROR %s", m.Type(), m, uri)
	}
}

// wampcraSign is the WAMP-CRA signature of an unsalted secret.
func wampcraSign(secret string) func(*wamp.Challenge) string {
	return func(ch *wamp.Challenge) string {
		challenge, _ := wamp.DictString(ch.Extra, "challenge")
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(challenge))
		return base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
}

func ticket(t string) func(*wamp.Challenge) string {
	return func(*wamp.Challenge) string { return t }
}

// TestExampleAuthConfig runs examples/router/auth.yaml as
// `junction router --config examples/router/auth.yaml --listen
// 127.0.0.1:0` does, and checks what the README promises of it.
//
// The realm1 and refusal checks hold with the router alone; the ticket
// and WAMP-CRA sessions and their permissions need the router's
// authentication and authorization.
func TestExampleAuthConfig(t *testing.T) {
	var logs logBuffer
	s := startRouter(t, &logs, "--config", "../../examples/router/auth.yaml", "--listen", "127.0.0.1:0")
	urls := s.urls()
	if len(urls) != 1 || !strings.HasPrefix(urls[0], "ws://127.0.0.1:") || strings.HasSuffix(urls[0], ":8080/ws") || !strings.HasSuffix(urls[0], "/ws") {
		t.Fatalf("listening on %v, want one ws://127.0.0.1:PORT/ws from --listen", urls)
	}
	if realms := s.router.Realms(); !slices.Contains(realms, "realm1") || !slices.Contains(realms, "authrealm") || len(realms) != 2 {
		t.Fatalf("realms %v", realms)
	}
	url := urls[0]

	t.Run("realm1 anonymous", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a, err := client.Dial(ctx, url, client.Config{Realm: "realm1"})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(ctx)
		b, err := client.Dial(ctx, url, client.Config{Realm: "realm1"})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close(ctx)
		if _, err := a.Register(ctx, "any.thing.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
			x, _ := inv.ArgInt(0)
			y, _ := inv.ArgInt(1)
			return &client.Result{Values: client.Values{Args: wamp.List{x + y}}}, nil
		}, nil); err != nil {
			t.Fatal(err)
		}
		res, err := b.Call(ctx, "any.thing.add", wamp.List{2, 3}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := wamp.AsInt64(res.Arg(0)); n != 5 {
			t.Fatalf("add = %v", res.Arg(0))
		}
		got := make(chan any, 1)
		if _, err := a.Subscribe(ctx, "whatever.news", func(_ context.Context, e *client.Event) { got <- e.Arg(0) }, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Publish(ctx, "whatever.news", wamp.List{"hi"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		select {
		case v := <-got:
			if v != "hi" {
				t.Fatalf("event %v", v)
			}
		case <-ctx.Done():
			t.Fatal("no event")
		}
	})

	t.Run("authrealm refuses anonymous", func(t *testing.T) {
		for _, details := range []wamp.Dict{{}, {"authmethods": wamp.List{"anonymous"}}} {
			m := dialPeer(t, url, transport.Config{}).hello("authrealm", details, nil)
			if a, ok := m.(*wamp.Abort); !ok || !slices.Contains([]wamp.URI{wamp.URINoAuthMethod, wamp.URIAuthenticationFailed}, a.Reason) {
				t.Fatalf("anonymous HELLO %v to authrealm: %s %+v, want ABORT %s or %s", details, m.Type(), m,
					wamp.URINoAuthMethod, wamp.URIAuthenticationFailed)
			}
		}
	})

	t.Run("authrealm refuses bad credentials", func(t *testing.T) {
		for _, tc := range []struct {
			details wamp.Dict
			answer  func(*wamp.Challenge) string
		}{
			{wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"}, ticket("wrong")},
			{wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "peter"}, ticket("secret-cra")},
			{wamp.Dict{"authmethods": wamp.List{"wampcra"}, "authid": "peter"}, wampcraSign("wrong")},
		} {
			m := dialPeer(t, url, transport.Config{}).hello("authrealm", tc.details, tc.answer)
			if a, ok := m.(*wamp.Abort); !ok || a.Reason != wamp.URIAuthenticationFailed {
				t.Fatalf("%v: %s %+v, want ABORT %s", tc.details, m.Type(), m, wamp.URIAuthenticationFailed)
			}
		}
	})

	// joe (ticket) and peter (WAMP-CRA) both have the role user: every
	// action under com.example., nothing else.
	for _, tc := range []struct {
		name    string
		details wamp.Dict
		answer  func(*wamp.Challenge) string
	}{
		{"joe", wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"}, ticket("secret-ticket")},
		{"peter", wamp.Dict{"authmethods": wamp.List{"wampcra"}, "authid": "peter"}, wampcraSign("secret-cra")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := dialPeer(t, url, transport.Config{})
			m := p.hello("authrealm", tc.details, tc.answer)
			w, ok := m.(*wamp.Welcome)
			if !ok {
				t.Fatalf("%s: %s %+v, want WELCOME", tc.name, m.Type(), m)
			}
			if id, _ := wamp.DictString(w.Details, "authid"); id != tc.name {
				t.Errorf("authid %q", id)
			}
			if role, _ := wamp.DictString(w.Details, "authrole"); role != "user" {
				t.Errorf("authrole %q", role)
			}
			proc := wamp.URI("com.example." + tc.name + ".echo")
			if m := p.request(&wamp.Register{Request: p.req.Next(), Procedure: proc}); m.Type() != wamp.TypeRegistered {
				t.Fatalf("register %s: %s %+v", proc, m.Type(), m)
			}
			if m := p.request(&wamp.Subscribe{Request: p.req.Next(), Topic: "com.example.news"}); m.Type() != wamp.TypeSubscribed {
				t.Fatalf("subscribe: %s %+v", m.Type(), m)
			}
			if m := p.request(&wamp.Publish{Request: p.req.Next(), Topic: "com.example.news", Options: wamp.Dict{"acknowledge": true}}); m.Type() != wamp.TypePublished {
				t.Fatalf("publish: %s %+v", m.Type(), m)
			}
			p.send(&wamp.Call{Request: p.req.Next(), Procedure: proc, Payload: wamp.Payload{Args: wamp.List{"hi"}}})
			inv, ok := p.next().(*wamp.Invocation)
			if !ok {
				t.Fatal("no INVOCATION for the call")
			}
			p.send(&wamp.Yield{Request: inv.Request, Payload: inv.Payload})
			if m := p.next(); m.Type() != wamp.TypeResult {
				t.Fatalf("call: %s %+v", m.Type(), m)
			}
			expectError(t, p.request(&wamp.Register{Request: p.req.Next(), Procedure: "org.other.echo"}), wamp.URINotAuthorized)
			expectError(t, p.request(&wamp.Subscribe{Request: p.req.Next(), Topic: "org.other.news"}), wamp.URINotAuthorized)
			expectError(t, p.request(&wamp.Publish{Request: p.req.Next(), Topic: "org.other.news", Options: wamp.Dict{"acknowledge": true}}), wamp.URINotAuthorized)
			expectError(t, p.request(&wamp.Call{Request: p.req.Next(), Procedure: "org.other.echo"}), wamp.URINotAuthorized)
		})
	}
}

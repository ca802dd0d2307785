package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

const (
	writerToken = "writer-token-0123456789"
	readerToken = "reader-token-0123456789"
)

// bridgeHarness is a router with an authenticated realm, a bridge with
// two tokens (a role that may publish and call under com.ex., one that
// may do nothing) and a WAMP session of its own, trusted, to subscribe
// and register.
type bridgeHarness struct {
	t   *testing.T
	url string
	app *client.Session
}

func newBridgeHarness(t *testing.T, cfg BridgeConfig) *bridgeHarness {
	t.Helper()
	rc := router.RealmConfig{Name: "shop", Anonymous: &router.AnonymousAuth{Role: "nobody"}, Roles: []router.Role{
		{Name: "writer", Permissions: []router.Permission{{URI: "com.ex.", Match: "prefix", Publish: true, Call: true}}},
		{Name: "reader"},
	}}
	rt, err := router.New(router.Config{RealmConfigs: []router.RealmConfig{rc}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Stop(context.Background()) })
	cfg.Realm = "shop"
	cfg.Logger = slog.New(slog.DiscardHandler)
	if cfg.Tokens == nil {
		cfg.Tokens = []BridgeToken{{Token: writerToken, AuthID: "script", AuthRole: "writer"}, {Token: readerToken, AuthRole: "reader"}}
	}
	b, err := NewBridge(rt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	b.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("bridge close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The test's own session, through a trusted listener, may subscribe
	// and register anything.
	mine, routers := pipe()
	go rt.AttachFrom(routers, router.Listener{Trusted: &router.TrustedAuth{Ticket: "t"}})
	app, err := client.Join(ctx, mine, client.Config{Realm: "shop", AuthID: "test", Auth: []client.Authenticator{client.TicketAuth("t")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close(context.Background()) })
	return &bridgeHarness{t: t, url: srv.URL, app: app}
}

// post sends body to path with token, and returns the status and the
// decoded JSON answer.
func (h *bridgeHarness) post(path, token, body string) (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		h.t.Fatalf("%s: answer %q is not JSON: %v", path, data, err)
	}
	return resp.StatusCode, v
}

func TestBridgePublish(t *testing.T) {
	h := newBridgeHarness(t, BridgeConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	events := make(chan *client.Event, 1)
	if _, err := h.app.Subscribe(ctx, "com.ex.news", func(_ context.Context, e *client.Event) { events <- e },
		nil); err != nil {
		t.Fatal(err)
	}
	status, body := h.post("/publish", writerToken, `{"topic": "com.ex.news", "args": [1, "two", 3.5], "kwargs": {"k": {"n": 4}},
		"options": {"disclose_me": true}}`)
	if status != 200 || body["id"] == nil {
		t.Fatalf("publish: %d %v", status, body)
	}
	select {
	case e := <-events:
		if e.Arg(0) != int64(1) || e.Arg(1) != "two" || e.Arg(2) != 3.5 || e.Kwargs["k"].(wamp.Dict)["n"] != int64(4) ||
			e.Details["publisher_authid"] != "script" || e.Details["publisher_authrole"] != "writer" {
			t.Fatalf("event %+v %+v", e.Values, e.Details)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}

	// The token's role is the session's: the reader may not publish.
	if status, body := h.post("/publish", readerToken, `{"topic": "com.ex.news"}`); status != 403 || body["error"] != string(wamp.URINotAuthorized) {
		t.Fatalf("publish without permission: %d %v", status, body)
	}
}

func TestBridgeCall(t *testing.T) {
	h := newBridgeHarness(t, BridgeConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	add := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, _ := wamp.AsInt64(inv.Arg(0))
		b, _ := wamp.AsInt64(inv.Arg(1))
		if b == 0 {
			return nil, wamp.NewError("com.ex.error.zero", "b is zero")
		}
		return &client.Result{Values: client.Values{Args: wamp.List{a + b}, Kwargs: wamp.Dict{"caller": inv.Details["caller_authid"]}}}, nil
	}
	if _, err := h.app.Register(ctx, "com.ex.add", add, &client.RegisterOptions{DiscloseCaller: true}); err != nil {
		t.Fatal(err)
	}
	status, body := h.post("/call", writerToken, `{"procedure": "com.ex.add", "args": [2, 3]}`)
	if status != 200 || body["args"].([]any)[0] != float64(5) || body["kwargs"].(map[string]any)["caller"] != "script" {
		t.Fatalf("call: %d %v", status, body)
	}
	status, body = h.post("/call", writerToken, `{"procedure": "com.ex.add", "args": [2, 0]}`)
	if status != 502 || body["error"] != "com.ex.error.zero" || body["args"].([]any)[0] != "b is zero" {
		t.Fatalf("callee error: %d %v", status, body)
	}
	if status, body := h.post("/call", writerToken, `{"procedure": "com.ex.nothing"}`); status != 503 || body["error"] != string(wamp.URINoSuchProcedure) {
		t.Fatalf("no such procedure: %d %v", status, body)
	}
	if status, body := h.post("/call", readerToken, `{"procedure": "com.ex.add", "args": [1, 1]}`); status != 403 || body["error"] != string(wamp.URINotAuthorized) {
		t.Fatalf("call without permission: %d %v", status, body)
	}
	// A callee slower than the request's timeout.
	if _, err := h.app.Register(ctx, "com.ex.slow", func(ctx context.Context, _ *client.Invocation) (*client.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil); err != nil {
		t.Fatal(err)
	}
	if status, body := h.post("/call", writerToken, `{"procedure": "com.ex.slow", "options": {"timeout": 50}}`); status != 504 {
		t.Fatalf("timeout: %d %v", status, body)
	}
}

func TestBridgeRefusals(t *testing.T) {
	h := newBridgeHarness(t, BridgeConfig{MaxBody: 64, Rate: 1, Burst: 3})
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
	}{
		{"no token", "/publish", "", `{"topic": "com.ex.a"}`, 401},
		{"wrong token", "/call", "not-a-token-0123456789", `{"procedure": "com.ex.a"}`, 401},
		{"no topic", "/publish", writerToken, `{"args": []}`, 400},
		{"not JSON", "/call", writerToken, `procedure=x`, 400},
		{"two values", "/call", writerToken, `{"procedure": "com.ex.a"} {}`, 400},
	} {
		if status, body := h.post(tc.path, tc.token, tc.body); status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, status, body, tc.status)
		}
	}
	// The reader's token has its own budget: 3 at once, then 429.
	for range 3 {
		h.post("/publish", readerToken, `{"topic": "com.ex.a"}`)
	}
	if status, body := h.post("/publish", readerToken, `{"topic": "com.ex.a"}`); status != 429 {
		t.Errorf("over the rate: %d %v", status, body)
	}
	// The writer's budget is spent too (three requests above): use a
	// fresh harness for the size limit.
	h = newBridgeHarness(t, BridgeConfig{MaxBody: 64})
	if status, body := h.post("/publish", writerToken, `{"topic": "com.ex.a", "args": ["`+strings.Repeat("x", 100)+`"]}`); status != 413 {
		t.Errorf("too big: %d %v", status, body)
	}
	resp, err := http.Get(h.url + "/publish")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestBridgeConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte(writerToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := BridgeConfig{Tokens: []BridgeToken{{TokenFile: file}}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Tokens[0].Token != writerToken || c.Tokens[0].AuthID != "http-bridge" || c.Realm != "realm1" || c.MaxBody != DefaultMaxBody {
		t.Fatalf("loaded %+v", c)
	}
	for _, tc := range []struct {
		cfg  BridgeConfig
		want string
	}{
		{BridgeConfig{}, "no token"},
		{BridgeConfig{Tokens: []BridgeToken{{Token: "short"}}}, "at least 16"},
		{BridgeConfig{Tokens: []BridgeToken{{TokenFile: filepath.Join(dir, "missing")}}}, "tokens[0]"},
		{BridgeConfig{Tokens: []BridgeToken{{Token: writerToken}}, Rate: -1}, "negative"},
	} {
		if _, err := tc.cfg.Load(); !errors.Is(err, ErrBridgeConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func pipe() (a, b transport.Peer) { return transport.Pipe(transport.Config{}) }

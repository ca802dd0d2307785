package junction

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// syncBuffer is a log destination tests read while the app writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestApp returns an app listening on a free loopback port, logging
// to the returned buffer.
func newTestApp(t *testing.T, name string, opts ...Option) (*Application, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	opts = append([]Option{
		WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithSettings(func(s *Settings) { s.Listen = "127.0.0.1:0" }),
	}, opts...)
	return New(name, opts...), logs
}

// startApp starts app, shut down at cleanup.
func startApp(t *testing.T, app *Application) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

// wsURL is the embedded router's WebSocket URL.
func wsURL(app *Application) string { return "ws://" + app.Addr().String() + "/ws" }

// dial joins app's embedded router as an outside WAMP client would, with
// the given serializer's subprotocol left to the default (JSON).
func dial(t *testing.T, url string) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, url, client.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestURIRule(t *testing.T) {
	app := New("auth")
	for name, want := range map[string]wamp.URI{
		"signin":             "auth.signin",
		".users.get":         "auth.users.get",
		"billing.charge":     "billing.charge",
		"wamp.session.count": "wamp.session.count",
	} {
		if got := app.URI(name); got != want {
			t.Errorf("URI(%q) = %q, want %q", name, got, want)
		}
	}
	if got := New("auth", WithPrefix("com.example.auth")).URI("signin"); got != "com.example.auth.signin" {
		t.Errorf("WithPrefix: URI(signin) = %q", got)
	}
	if got := New("auth", WithPrefix("")).URI("signin"); got != "signin" {
		t.Errorf("empty prefix: URI(signin) = %q", got)
	}
}

func TestAppEmbedsRouterAndServesHTTPAndWAMPOnOneListener(t *testing.T) {
	app, _ := newTestApp(t, "shop")
	app.HTTP.Handle("/hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if AppFrom(r.Context()) != app {
			t.Error("AppFrom(request) is not the app")
		}
		io.WriteString(w, "hi")
	}))
	if err := app.Register("add", func(a, b int) int { return a + b }); err != nil {
		t.Fatal(err)
	}
	startApp(t, app)

	resp, err := http.Get("http://" + app.Addr().String() + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hi" {
		t.Fatalf("GET /hello = %q", body)
	}

	// An outside WAMP client reaches the app's procedure through /ws on
	// the same port.
	s := dial(t, wsURL(app))
	res, err := s.Call(testCtx(t), "shop.add", wamp.List{2, 3}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.ArgInt(0); n != 5 {
		t.Fatalf("shop.add(2, 3) = %v", res.Args)
	}
	// And the app calls itself in-process.
	res, err = app.Call(testCtx(t), "add", 40, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.ArgInt(0); n != 42 {
		t.Fatalf("app.Call(add, 40, 2) = %v", res.Args)
	}
}

func TestSubscribeAndPublishAcrossClients(t *testing.T) {
	app, _ := newTestApp(t, "chat")
	got := make(chan string, 4)
	app.Subscribe("message", func(ctx context.Context, who, text string) {
		if AppFrom(ctx) != app {
			t.Error("AppFrom(event ctx) is not the app")
		}
		got <- who + ": " + text
	})
	startApp(t, app)

	s := dial(t, wsURL(app))
	if _, err := s.Publish(testCtx(t), "chat.message", wamp.List{"ann", "hello"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if m := <-got; m != "ann: hello" {
		t.Fatalf("event = %q", m)
	}

	// The app publishes to an outside subscriber, with Kwargs.
	ev := make(chan *client.Event, 1)
	if _, err := s.Subscribe(testCtx(t), "chat.status", func(_ context.Context, e *client.Event) { ev <- e }, nil); err != nil {
		t.Fatal(err)
	}
	if err := app.Publish(testCtx(t), "status", "up", Kwargs{"users": 3}, Acknowledge()); err != nil {
		t.Fatal(err)
	}
	e := <-ev
	if s, _ := e.ArgString(0); s != "up" {
		t.Fatalf("event args = %v", e.Args)
	}
	if n, _ := e.KwargInt("users"); n != 3 {
		t.Fatalf("event kwargs = %v", e.Kwargs)
	}
	// The app's subscriptions receive what the app publishes, unless
	// ExcludeMe; IncludeMe states the default.
	for _, c := range []struct {
		text string
		opts []any
	}{{"mine", nil}, {"not mine", []any{ExcludeMe()}}, {"mine too", []any{IncludeMe()}}} {
		args := append([]any{"app", c.text, Acknowledge()}, c.opts...)
		if err := app.Publish(testCtx(t), "message", args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"app: mine", "app: mine too"} {
		if m := <-got; m != want {
			t.Fatalf("own event = %q, want %q (ExcludeMe's event is not delivered)", m, want)
		}
	}
}

type user struct {
	Name  string `json:"name"`
	Age   int    `json:"age"`
	Admin bool   `json:"admin,omitempty"`
}

func TestTypedHandlersDecodeArgumentsAndRefuseWrongOnes(t *testing.T) {
	app, _ := newTestApp(t, "users")
	app.Register("greet", func(ctx context.Context, u user, greeting ...string) (string, error) {
		if InvocationFrom(ctx) == nil {
			return "", errors.New("no invocation in ctx")
		}
		g := "hello"
		if len(greeting) > 0 {
			g = greeting[0]
		}
		return g + " " + u.Name, nil
	})
	app.Register("older", func(u user, years uint8) user { u.Age += int(years); return u })
	app.Register("check", func(n int8, f float64, ok bool) error {
		if !ok {
			return Error("users.error.not_ok", n, f)
		}
		return nil
	})
	startApp(t, app)
	s := dial(t, wsURL(app)) // JSON on the wire

	res, err := s.Call(testCtx(t), "users.greet", wamp.List{wamp.Dict{"name": "ann", "age": 30}, "hi"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := res.ArgString(0); g != "hi ann" {
		t.Fatalf("greet = %v", res.Args)
	}
	// A struct result travels in its JSON form.
	res, err = s.Call(testCtx(t), "users.older", wamp.List{wamp.Dict{"name": "bob", "age": 40}, 2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := res.Arg(0).(wamp.Dict)
	if age, _ := wamp.AsInt64(d["age"]); d["name"] != "bob" || age != 42 || d["admin"] != nil {
		t.Fatalf("older = %#v", res.Arg(0))
	}

	for _, tc := range []struct {
		proc string
		args wamp.List
		want string
	}{
		{"users.greet", wamp.List{}, "users.greet: want at least 1 arguments, got 0"},
		{"users.greet", wamp.List{"ann"}, "users.greet: argument 0: want junction.user: json: cannot unmarshal string into Go value of type junction.user"},
		{"users.greet", wamp.List{wamp.Dict{"name": "ann", "age": "thirty"}}, "users.greet: argument 0: field age: want int, got string"},
		{"users.greet", wamp.List{wamp.Dict{"name": "ann"}, 7}, "users.greet: argument 1: want string, got integer 7"},
		{"users.older", wamp.List{wamp.Dict{}, 300}, "users.older: argument 1: 300 overflows uint8"},
		{"users.older", wamp.List{wamp.Dict{}, -1}, "users.older: argument 1: want uint8, got integer -1"},
		{"users.check", wamp.List{1, 2.5}, "users.check: want 3 arguments, got 2"},
		{"users.check", wamp.List{1.5, 2.5, true}, "users.check: argument 0: want int8, got number 1.5"},
		{"users.check", wamp.List{1, "x", true}, `users.check: argument 1: want float64, got string "x"`},
		{"users.check", wamp.List{1, 2, nil}, "users.check: argument 2: want bool, got null"},
	} {
		_, err := s.Call(testCtx(t), wamp.URI(tc.proc), tc.args, nil, nil)
		var we *wamp.Error
		if !errors.As(err, &we) || we.URI != wamp.URIInvalidArgument {
			t.Errorf("%s%v: err = %v, want invalid_argument", tc.proc, tc.args, err)
			continue
		}
		if msg, _ := we.Args[0].(string); msg != tc.want {
			t.Errorf("%s%v: message %q, want %q", tc.proc, tc.args, msg, tc.want)
		}
	}

	// An application error reaches the caller with its URI and args.
	_, err = s.Call(testCtx(t), "users.check", wamp.List{-3, 0.5, false}, nil, nil)
	if !errors.Is(err, Error("users.error.not_ok")) {
		t.Fatalf("err = %v, want users.error.not_ok", err)
	}
	var we *wamp.Error
	errors.As(err, &we)
	if n, _ := wamp.AsInt64(we.Args[0]); n != -3 || we.Args[1] != 0.5 {
		t.Fatalf("error args = %v", we.Args)
	}
}

func TestBadDeclarationsAreReportedByStart(t *testing.T) {
	app, _ := newTestApp(t, "bad")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{app.Register("a", 42), `junction: Register("bad.a"): handler is a int, not a function`},
		{app.Register("b", func(int, context.Context) {}), `context.Context must be the first parameter`},
		{app.Register("c", func() (int, int) { return 0, 0 }), `want results (), (error), (T) or (T, error)`},
		{app.Subscribe("d", func() int { return 0 }), `want results () or (error)`},
		{app.Subscribe("e", func() {}, Invoke("roundrobin")), `Invoke applies to Register only`},
		{app.Register("f", func() {}, LimitCalls(0)), `LimitCalls(0): want a positive count`},
		{app.Register("g", func() {}, Timeout(time.Second)), `option Timeout does not apply here`},
		{app.Register("bad..h", func() {}), `is not a valid URI for match policy exact`},
		{app.Subscribe("i", nil), `nil handler`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("err = %v, want it to contain %q", tc.err, tc.want)
		}
	}
	err := app.Start(testCtx(t))
	if err == nil {
		app.Shutdown(testCtx(t))
		t.Fatal("Start succeeded with bad declarations")
	}
	for _, want := range []string{"bad.a", "bad.b", "bad.i"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error %q does not name %s", err, want)
		}
	}
	if app.Addr() != nil {
		t.Error("a refused Start left a listener")
	}
}

func TestMainRunsTheAppUntilItsContextEnds(t *testing.T) {
	app := New("shop")
	app.HTTP.Get("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- app.Main(ctx, []string{"run", "--listen", "127.0.0.1:0", "--log-format", "json"}, io.Discard, stderr)
	}()
	waitFor(t, func() bool {
		return app.Addr() != nil && strings.Contains(stderr.String(), `"msg":"junction: app ready"`)
	})
	resp, err := http.Get("http://" + app.Addr().String() + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "pong" {
		t.Fatalf("GET /ping = %q", body)
	}
	cancel() // what the first SIGINT or SIGTERM does in Run
	if c := <-code; c != 0 {
		t.Fatalf("exit code %d, logs:\n%s", c, stderr)
	}
	out := stderr.String()
	if !strings.Contains(out, `"msg":"junction: app stopped"`) || strings.Contains(out, `"level":"ERROR"`) {
		t.Fatalf("logs of a clean stop:\n%s", out)
	}
}

func TestArgAndKwargDecodeResults(t *testing.T) {
	v := &client.Values{
		Args:   wamp.List{wamp.Dict{"name": "ann", "age": int64(30)}, 3.0, nil},
		Kwargs: wamp.Dict{"tags": wamp.List{"a", "b"}},
	}
	u, err := Arg[user](v, 0)
	if err != nil || u.Name != "ann" || u.Age != 30 {
		t.Fatalf("Arg[user] = %+v, %v", u, err)
	}
	if n, err := Arg[int](v, 1); err != nil || n != 3 {
		t.Fatalf("Arg[int] = %v, %v", n, err)
	}
	if x, err := Arg[any](v, 2); err != nil || x != nil {
		t.Fatalf("Arg[any] of null = %v, %v", x, err)
	}
	if tags, err := Kwarg[[]string](v, "tags"); err != nil || len(tags) != 2 || tags[1] != "b" {
		t.Fatalf("Kwarg[[]string] = %v, %v", tags, err)
	}
	if _, err := Arg[string](v, 1); !errors.Is(err, wamp.ErrInvalidArgument) || !strings.Contains(err.Error(), "argument 1: want string, got number 3") {
		t.Fatalf("Arg[string] of a number: %v", err)
	}
	if _, err := Arg[int](v, 5); !strings.Contains(fmt.Sprint(err), "argument 5: missing (3 given)") {
		t.Fatalf("Arg out of range: %v", err)
	}
	if _, err := Kwarg[int](v, "nope"); !strings.Contains(fmt.Sprint(err), `kwarg "nope": missing`) {
		t.Fatalf("missing Kwarg: %v", err)
	}
}

// TestAppReceivesWhatItsCronJobPublishes: a subscription of the app gets
// the events the same app's cron job publishes, with no option.
func TestAppReceivesWhatItsCronJobPublishes(t *testing.T) {
	app, _ := newTestApp(t, "clock")
	ticks := make(chan string, 16)
	app.Subscribe("tick", func(s string) {
		select {
		case ticks <- s:
		default:
		}
	})
	app.Every(20*time.Millisecond, func(ctx context.Context) error {
		return AppFrom(ctx).Publish(ctx, "tick", "tock")
	})
	startApp(t, app)
	for i := range 2 {
		select {
		case got := <-ticks:
			if got != "tock" {
				t.Fatalf("event %q", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the app's subscription got %d of its own cron job's events", i)
		}
	}
}

package junction

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// recorder collects the lifecycle events an app goes through.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) hook(name string) Hook {
	return func(ctx context.Context, args ...any) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		e := name
		if len(args) > 0 {
			e += fmt.Sprint(args)
		}
		r.events = append(r.events, e)
		return nil
	}
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func TestLifecycleEventsInOrderAndReadyHooksCanPublishAndCall(t *testing.T) {
	app, _ := newTestApp(t, "life")
	var rec recorder
	for _, e := range []string{Starting, Ready, Stopping, Stopped} {
		app.On(e, rec.hook(e))
	}
	app.Register("ping", func() string { return "pong" })
	heard := make(chan string, 1)
	app.Subscribe("news", func(s string) { heard <- s })
	app.On(Ready, func(ctx context.Context, _ ...any) error {
		res, err := AppFrom(ctx).Call(ctx, "ping")
		if err != nil {
			return err
		}
		pong, _ := res.ArgString(0)
		return app.Publish(ctx, "news", pong, IncludeMe())
	})
	ctx := testCtx(t)
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if got := <-heard; got != "pong" {
		t.Fatalf("Ready hook published %q", got)
	}
	// The app's own events, with arguments.
	app.On("order.placed", rec.hook("order.placed"))
	if err := app.Emit(ctx, "order.placed", 7, "socks"); err != nil {
		t.Fatal(err)
	}
	if err := app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{Starting, Ready, "order.placed[7 socks]", Stopping, Stopped}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	select {
	case <-app.Done():
	default:
		t.Fatal("Done not closed after Shutdown")
	}
	if err := app.Publish(ctx, "news", "late"); !errors.Is(err, ErrNotRunning) && !errors.Is(err, client.ErrSessionClosed) {
		t.Fatalf("Publish after Shutdown: %v", err)
	}
}

func TestStartingHookErrorStopsTheStart(t *testing.T) {
	app, _ := newTestApp(t, "nostart")
	app.On(Starting, func(context.Context, ...any) error { return errors.New("database unreachable") })
	err := app.Start(testCtx(t))
	if err == nil || !strings.Contains(err.Error(), "database unreachable") {
		t.Fatalf("Start = %v", err)
	}
	if app.Addr() != nil || app.Router() != nil {
		t.Fatal("a failed start left the listener or router up")
	}
}

func TestEmitRunsEveryHookAndRecoversPanics(t *testing.T) {
	app, logs := newTestApp(t, "hooks")
	var ran []int
	app.On("x", func(context.Context, ...any) error { ran = append(ran, 1); return errors.New("first failed") })
	app.On("x", func(context.Context, ...any) error { ran = append(ran, 2); panic("second exploded") })
	app.On("x", func(context.Context, ...any) error { ran = append(ran, 3); return nil })
	err := app.Emit(context.Background(), "x")
	if !slices.Equal(ran, []int{1, 2, 3}) {
		t.Fatalf("ran %v, want every hook", ran)
	}
	if err == nil || !strings.Contains(err.Error(), "first failed") || !strings.Contains(err.Error(), "second exploded") {
		t.Fatalf("Emit = %v", err)
	}
	if n := testutil.ToFloat64(app.metrics.panics.WithLabelValues("hook")); n != 1 {
		t.Fatalf("hook panics counted = %v", n)
	}
	if !strings.Contains(logs.String(), "second exploded") || !strings.Contains(logs.String(), "lifecycle_test.go") {
		t.Fatalf("panic not logged with its stack:\n%s", logs)
	}
}

func TestPanickingHandlersAreRecoveredCountedAndReturned(t *testing.T) {
	app, logs := newTestApp(t, "boom")
	app.Register("explode", func(n int) int { return 10 / n })
	app.Subscribe("explode", func(context.Context, *client.Event) { panic("event handler bug") })
	startApp(t, app)
	s := dial(t, wsURL(app))

	_, err := s.Call(testCtx(t), "boom.explode", wamp.List{0}, nil, nil)
	var we *wamp.Error
	if !errors.As(err, &we) || we.URI != uriRuntimeError || !strings.Contains(fmt.Sprint(we.Args), "boom.explode: handler panicked: runtime error: integer divide by zero") {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Publish(testCtx(t), "boom.explode", nil, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(app.metrics.panics.WithLabelValues("event")) == 1 })
	waitFor(t, func() bool { return strings.Contains(logs.String(), "event handler bug") })
	// The app lives on.
	res, err := s.Call(testCtx(t), "boom.explode", wamp.List{5}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.ArgInt(0); n != 2 {
		t.Fatalf("explode(5) = %v", res.Args)
	}
	if n := testutil.ToFloat64(app.metrics.panics.WithLabelValues("call")); n != 1 {
		t.Fatalf("call panics counted = %v", n)
	}
	if !strings.Contains(logs.String(), "event handler bug") {
		t.Fatal("event panic not logged")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLimitCalls(t *testing.T) {
	app, _ := newTestApp(t, "limit")
	events := make(chan int, 10)
	app.Subscribe("tick", func(n int) { events <- n }, LimitCalls(2))
	app.Register("once", func() string { return "done" }, LimitCalls(1))
	startApp(t, app)
	s := dial(t, wsURL(app))
	for i := range 4 {
		if _, err := s.Publish(testCtx(t), "limit.tick", wamp.List{i}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := <-events, <-events; a != 0 || b != 1 {
		t.Fatalf("events %d %d", a, b)
	}
	if _, err := s.Call(testCtx(t), "limit.once", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Both handlers removed themselves from the router.
	waitFor(t, func() bool {
		res, err := s.Call(testCtx(t), "wamp.subscription.lookup", wamp.List{"limit.tick"}, nil, nil)
		return err == nil && res.Arg(0) == nil
	})
	_, err := s.Call(testCtx(t), "limit.once", nil, nil, nil)
	if !errors.Is(err, wamp.ErrNoSuchProcedure) {
		t.Fatalf("second call: %v, want no_such_procedure", err)
	}
	select {
	case n := <-events:
		t.Fatalf("event %d delivered past the limit", n)
	default:
	}
}

func TestGracefulShutdownFinishesInFlightWork(t *testing.T) {
	app, _ := newTestApp(t, "grace")
	release := make(chan struct{})
	started := make(chan string, 2)
	app.HTTP.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- "http"
		<-release
		fmt.Fprint(w, "finished")
	}))
	app.Register("slow", func() string { started <- "call"; <-release; return "finished" })
	var rec recorder
	app.On(Stopped, rec.hook(Stopped))
	refused := make(chan error, 1)
	app.On(Stopping, func(context.Context, ...any) error {
		// By now the listener is closed: new connections are refused.
		c, err := net.Dial("tcp", app.Addr().String())
		if err == nil {
			c.Close()
		}
		refused <- err
		return nil
	})
	ctx := testCtx(t)
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s := dial(t, wsURL(app))
	httpDone := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + app.Addr().String() + "/slow")
		if err != nil {
			httpDone <- err.Error()
			return
		}
		defer resp.Body.Close()
		b := make([]byte, 64)
		n, _ := resp.Body.Read(b)
		httpDone <- string(b[:n])
	}()
	callDone := make(chan string, 1)
	go func() {
		res, err := s.Call(ctx, "grace.slow", nil, nil, nil)
		if err != nil {
			callDone <- err.Error()
			return
		}
		v, _ := res.ArgString(0)
		callDone <- v
	}()
	<-started
	<-started
	shut := make(chan error, 1)
	go func() { shut <- app.Shutdown(ctx) }()
	time.Sleep(50 * time.Millisecond) // Shutdown is now waiting for the two
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned before in-flight work ended: %v", err)
	default:
	}
	if err := <-refused; err == nil {
		t.Fatal("a connection was accepted during Stopping")
	}
	close(release)
	if got := <-httpDone; got != "finished" {
		t.Fatalf("in-flight HTTP request got %q", got)
	}
	if got := <-callDone; got != "finished" {
		t.Fatalf("in-flight call got %q", got)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.list(), []string{Stopped}) {
		t.Fatal("Stopped not emitted")
	}
	<-s.Done() // the router said GOODBYE to the outside client
}

func TestShutdownDeadlineAbandonsStuckWork(t *testing.T) {
	app, logs := newTestApp(t, "stuck")
	running := make(chan struct{})
	app.Register("forever", func(ctx context.Context) { close(running); <-make(chan struct{}) })
	ctx := testCtx(t)
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go app.Call(ctx, "forever")
	<-running
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err := app.Shutdown(sctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "in-flight WAMP handlers") {
		t.Fatalf("Shutdown = %v", err)
	}
	<-app.Done()
	if !strings.Contains(logs.String(), "shutdown was not clean") {
		t.Fatal("unclean shutdown not logged")
	}
}

func TestConnectToRemoteRouterAndReconnect(t *testing.T) {
	// The router runs as its own app, as in a three-machine deployment.
	hub, _ := newTestApp(t, "hub")
	startApp(t, hub)
	url := wsURL(hub)

	svc, _ := newTestApp(t, "auth", WithSettings(func(s *Settings) { s.Connect = url }))
	var rec recorder
	svc.On(ConnectionLost, func(ctx context.Context, args ...any) error {
		rec.hook(ConnectionLost)(ctx)
		if len(args) != 1 {
			t.Errorf("ConnectionLost args = %v, want the cause", args)
		}
		return nil
	})
	svc.On(ConnectionRestored, rec.hook(ConnectionRestored))
	svc.Register("signin", func(name string) string { return "token-" + name })
	startApp(t, svc)
	if svc.Router() != nil {
		t.Fatal("an app with Connect embeds a router")
	}
	res, err := hub.Call(testCtx(t), "auth.signin", "ann")
	if err != nil {
		t.Fatal(err)
	}
	if tok, _ := res.ArgString(0); tok != "token-ann" {
		t.Fatalf("auth.signin = %v", res.Args)
	}

	// Cut every session at the router: the service reconnects and
	// registers again.
	kill, err := hub.Call(testCtx(t), "wamp.session.kill_by_authid", "auth", Kwargs{"reason": "wamp.close.system_shutdown"})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := kill.ArgInt(0); n != 1 {
		t.Fatalf("killed %v sessions", kill.Args)
	}
	waitFor(t, func() bool { return slices.Contains(rec.list(), ConnectionRestored) })
	if got := rec.list(); !slices.Equal(got, []string{ConnectionLost, ConnectionRestored}) {
		t.Fatalf("events = %v", got)
	}
	waitFor(t, func() bool {
		res, err := hub.Call(testCtx(t), "auth.signin", "bob")
		return err == nil && res.Arg(0) == "token-bob"
	})
}

func TestConnectWaitsForARouterThatIsNotUpYet(t *testing.T) {
	// The router listens on a Unix socket that exists only once the app
	// has been refused: a TCP port released and taken again could be
	// grabbed meanwhile by any other process of a busy machine.
	sock := filepath.Join(t.TempDir(), "router.sock")
	ctx := testCtx(t)
	app, logs := newTestApp(t, "late", WithSettings(func(s *Settings) { s.Connect = "unix://" + sock }))
	app.Register("x", func() int { return 1 })
	started := make(chan error, 1)
	go func() { started <- app.Start(ctx) }()
	waitFor(t, func() bool { return strings.Contains(logs.String(), "cannot reach the router yet") })

	rt, err := router.New(router.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- transport.ServeRawSocket(serveCtx, l, transport.Config{}, rt.Attach) }()
	t.Cleanup(func() {
		rt.Stop(context.Background())
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Shutdown(context.Background()) })
	if res, err := app.Call(ctx, "late.x"); err != nil || res.Arg(0) == nil {
		t.Fatalf("call after late join: %v %v", res, err)
	}
}

func TestDebugWatchdogReportsSlowHandlers(t *testing.T) {
	app, logs := newTestApp(t, "dbg", WithSettings(func(s *Settings) {
		s.Debug = true
		s.SlowHandler = 20 * time.Millisecond
	}))
	app.Register("hog", func() { time.Sleep(120 * time.Millisecond) })
	app.Register("quick", func() {})
	app.HTTP.Get("/slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(60 * time.Millisecond) })
	startApp(t, app)
	if _, err := app.Call(testCtx(t), "quick"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "slow handler") {
		t.Fatal("a quick handler was reported")
	}
	if _, err := app.Call(testCtx(t), "hog"); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, want := range []string{"slow handler", "handler=dbg.hog", "kind=call", "time.Sleep", "slow handler finished"} {
		if !strings.Contains(out, want) {
			t.Errorf("watchdog log lacks %q:\n%s", want, out)
		}
	}
	// HTTP handlers are watched too.
	resp, err := http.Get("http://" + app.Addr().String() + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if out := logs.String(); !strings.Contains(out, `handler="GET /slow"`) || !strings.Contains(out, "kind=http") {
		t.Errorf("slow HTTP handler not reported:\n%s", out)
	}
	if n := testutil.ToFloat64(app.metrics.slow); n != 2 {
		t.Fatalf("slow handlers counted = %v", n)
	}
}

func TestBrokenTemplatesStopTheStart(t *testing.T) {
	app, _ := newTestApp(t, "tmpl", TemplatesFS(fstest.MapFS{"page.html": {Data: []byte("{{.Broken")}}))
	err := app.Start(testCtx(t))
	if err == nil {
		app.Shutdown(testCtx(t))
		t.Fatal("Start succeeded with a broken template")
	}
	if !strings.Contains(err.Error(), "page.html") {
		t.Fatalf("Start = %v, want the template named", err)
	}
}

func TestDeclarationsRefusedWhileRunningAreLogged(t *testing.T) {
	app, logs := newTestApp(t, "late")
	startApp(t, app)
	app.HTTP.Get("/a/:", func(http.ResponseWriter, *http.Request) {})
	if !strings.Contains(logs.String(), "declaration refused") {
		t.Fatalf("a bad route declared while running was not logged:\n%s", logs)
	}
}

func TestCallsFailFastWhileTheRouterIsGone(t *testing.T) {
	hub, _ := newTestApp(t, "hub")
	ctx := testCtx(t)
	if err := hub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	svc, _ := newTestApp(t, "svc", WithSettings(func(s *Settings) { s.Connect = wsURL(hub) }))
	startApp(t, svc)
	if !svc.Connected() {
		t.Fatal("not Connected after Start")
	}
	hub.Shutdown(ctx)
	waitFor(t, func() bool { return !svc.Connected() })
	start := time.Now()
	_, err := svc.Call(ctx, "anything")
	if !errors.Is(err, ErrNotConnected) || !errors.Is(err, client.ErrConnectionLost) {
		t.Fatalf("Call while disconnected = %v", err)
	}
	if err := svc.Publish(ctx, "news", 1); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Publish while disconnected = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("failing took %v: it waited for a reconnection", d)
	}
}

func TestComponentOnlyAppServesNoHTTP(t *testing.T) {
	hub, _ := newTestApp(t, "hub")
	startApp(t, hub)
	svc, logs := newTestApp(t, "auth", WithSettings(func(s *Settings) { s.Listen = ""; s.Connect = wsURL(hub) }))
	svc.Register("signin", func(name string) string { return "token-" + name })
	startApp(t, svc)
	if svc.Addr() != nil {
		t.Fatalf("an app with Listen \"\" listens on %v", svc.Addr())
	}
	res, err := hub.Call(testCtx(t), "auth.signin", "ann")
	if err != nil || res.Arg(0) != "token-ann" {
		t.Fatalf("auth.signin through the hub: %v %v", res, err)
	}
	if !strings.Contains(logs.String(), "app ready (no HTTP)") {
		t.Fatalf("logs:\n%s", logs)
	}
}

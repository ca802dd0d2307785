package junction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// probeSettings are the settings of probePlugin.
type probeSettings struct {
	URL     string        `help:"where the far server is"`
	Retries int           `help:"tries per message"`
	Wait    time.Duration `help:"pause between tries"`
}

func (s *probeSettings) Validate() error {
	if s.Retries < 0 {
		return errors.New("probe: retries must be 0 or more")
	}
	return nil
}

// probePlugin records what the app does to it. failStarts makes its
// first Starts fail.
type probePlugin struct {
	settings   probeSettings
	failStarts int

	host     *PluginHost
	mu       sync.Mutex
	events   []string
	starts   atomic.Int32
	received prometheus.Counter
}

func (p *probePlugin) DefaultNamespace() string { return "probe" }

func (p *probePlugin) Provision(h *PluginHost) error {
	p.host = h
	p.settings = probeSettings{URL: "tcp://127.0.0.1:1", Retries: 3}
	if err := h.Settings(&p.settings); err != nil {
		return err
	}
	if err := h.Register("echo", func(s string) string { return h.Namespace() + ":" + s }); err != nil {
		return err
	}
	p.received = h.Counter("probe_received_total", "Hooks received.")
	h.Handle("POST /hook", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := h.Publish(r.Context(), "received", string(body)); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		p.received.Inc()
		fmt.Fprint(w, "ok")
	}))
	p.record("provision")
	return nil
}

func (p *probePlugin) Start(ctx context.Context) error {
	n := int(p.starts.Add(1))
	if AppFrom(ctx) != p.host.App() {
		return errors.New("Start's context carries no app")
	}
	if n <= p.failStarts {
		p.record("start failed")
		return fmt.Errorf("connect %s: connection refused", p.settings.URL)
	}
	p.host.Logger().Info("probe connected", "url", p.settings.URL)
	p.record("start")
	return nil
}

func (p *probePlugin) Stop(ctx context.Context) error {
	p.record("stop")
	return nil
}

func (p *probePlugin) record(e string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, e)
}

func (p *probePlugin) history() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.events, ",")
}

var _ Plugin = (*probePlugin)(nil)

func TestPluginStartsBeforeReadyServesWAMPAndHTTPAndStops(t *testing.T) {
	app, logs := newTestApp(t, "shop")
	p := &probePlugin{}
	if err := app.Plug(p, Namespace("sms")); err != nil {
		t.Fatal(err)
	}
	app.On(Ready, func(ctx context.Context, _ ...any) error {
		p.record("ready")
		return nil
	})
	startApp(t, app)
	if got, want := p.history(), "provision,start,ready"; got != want {
		t.Fatalf("events %q, want %q", got, want)
	}

	c := dial(t, wsURL(app))
	ctx := testCtx(t)
	res, err := c.Call(ctx, "sms.echo", wamp.List{"hi"}, nil, nil)
	if err != nil {
		t.Fatalf("call sms.echo: %v", err)
	}
	if got := res.Arg(0); got != "sms:hi" {
		t.Errorf("sms.echo = %v", got)
	}
	events := make(chan *client.Event, 1)
	if _, err := c.Subscribe(ctx, "sms.received", func(_ context.Context, e *client.Event) { events <- e }, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+app.Addr().String()+"/sms/hook", "text/plain", strings.NewReader("LOVE a b"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /sms/hook: %s", resp.Status)
	}
	select {
	case e := <-events:
		if e.Arg(0) != "LOVE a b" {
			t.Errorf("event %v", e.Args)
		}
	case <-ctx.Done():
		t.Fatal("no event on sms.received")
	}

	resp, err = http.Get("http://" + app.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`probe_received_total{plugin="sms"} 1`, `junction_plugin_up{plugin="sms"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(logs.String(), `msg="probe connected" plugin=sms url=tcp://127.0.0.1:1`) {
		t.Errorf("the plugin's log line lacks plugin=sms:\n%s", logs)
	}

	if err := app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := p.history(), "provision,start,ready,stop"; got != want {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestPluginSettingsComeFromFlagsEnvironmentAndFile(t *testing.T) {
	newApp := func() (*Application, *probePlugin) {
		app := New("shop")
		p := &probePlugin{}
		app.Plug(p, Namespace("sms"))
		return app, p
	}

	app, _ := newApp()
	res := runCLI(t, app, nil, "--help")
	for _, want := range []string{"Settings of plugin sms:", "--sms-url string", "where the far server is",
		"default tcp://127.0.0.1:1", "env SHOP_SMS_URL", "--sms-wait duration"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, res.stdout)
		}
	}

	app, p := newApp()
	res = runCLI(t, app, map[string]string{"SHOP_SMS_RETRIES": "7"}, "--sms-url", "kannel://x")
	if res.code != 0 || p.settings.URL != "kannel://x" || p.settings.Retries != 7 {
		t.Errorf("flag and env: code %d, settings %+v, stderr %s", res.code, p.settings, res.stderr)
	}

	app, p = newApp()
	file := writeFile(t, "shop.yaml", "sms:\n  url: file://y\n  wait: 2s\n")
	res = runCLI(t, app, nil, "--config", file)
	if res.code != 0 || p.settings.URL != "file://y" || p.settings.Wait != 2*time.Second {
		t.Errorf("file: code %d, settings %+v, stderr %s", res.code, p.settings, res.stderr)
	}

	app, _ = newApp()
	res = runCLI(t, app, nil, "--sms-retries=-1")
	if res.code != 2 || !strings.Contains(res.stderr, "probe: retries must be 0 or more") {
		t.Errorf("Validate: code %d, stderr %s", res.code, res.stderr)
	}
}

func TestPluginThatCannotStartFailsStartWithItsNameAndCause(t *testing.T) {
	app, _ := newTestApp(t, "shop")
	first := &probePlugin{}
	broken := &probePlugin{failStarts: 1 << 30}
	app.Plug(first, Namespace("first"))
	app.Plug(broken, Namespace("second"))
	err := app.Start(testCtx(t))
	if err == nil {
		app.Shutdown(context.Background())
		t.Fatal("Start succeeded")
	}
	if want := "junction: plugin second: start: connect tcp://127.0.0.1:1: connection refused"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if got := first.history(); got != "provision,start,stop" {
		t.Errorf("the started plugin: %q, want it stopped", got)
	}
	if got := broken.history(); got != "provision,start failed" {
		t.Errorf("the broken plugin: %q", got)
	}
	select {
	case <-app.Done():
	default:
		t.Error("the app is not stopped")
	}
}

func TestPluginStartIsRetriedWithinStartRetry(t *testing.T) {
	app, logs := newTestApp(t, "shop")
	p := &probePlugin{failStarts: 2}
	app.Plug(p, StartRetry(time.Minute))
	startApp(t, app)
	if got := p.starts.Load(); got != 3 {
		t.Errorf("%d starts, want 3", got)
	}
	if !strings.Contains(logs.String(), "plugin cannot start yet; retrying") {
		t.Errorf("retries not logged:\n%s", logs)
	}

	app, _ = newTestApp(t, "shop")
	p = &probePlugin{failStarts: 1 << 30}
	app.Plug(p, StartRetry(300*time.Millisecond))
	err := app.Start(testCtx(t))
	if err == nil {
		app.Shutdown(context.Background())
		t.Fatal("Start succeeded")
	}
	if !strings.Contains(err.Error(), "junction: plugin probe: start failed") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q", err)
	}
	if n := p.starts.Load(); n < 2 {
		t.Errorf("%d starts: not retried", n)
	}
}

func TestPlugRefusesBadDeclarations(t *testing.T) {
	app, _ := newTestApp(t, "shop")
	for _, c := range []struct {
		p    Plugin
		opts []PlugOption
		want string
	}{
		{nil, nil, "nil plugin"},
		{(*probePlugin)(nil), nil, "nil plugin"},
		{&probePlugin{}, []PlugOption{Namespace("SMS")}, `namespace "SMS": want a lower-case letter`},
		{&probePlugin{}, []PlugOption{Namespace("a-b")}, `namespace "a-b"`},
		{&probePlugin{}, []PlugOption{StartRetry(-1)}, "want a duration of 0 or more"},
		{&probePlugin{}, []PlugOption{Namespace("one")}, ""},
		{&probePlugin{}, []PlugOption{Namespace("one")}, "namespace one is taken"},
	} {
		err := app.Plug(c.p, c.opts...)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Plug(%v, %d options) = %v, want %q", c.p, len(c.opts), err, c.want)
		}
	}
	if err := app.Start(testCtx(t)); err == nil || !strings.Contains(err.Error(), "nil plugin") {
		app.Shutdown(context.Background())
		t.Errorf("Start = %v, want the Plug errors", err)
	}

	// A plugin whose settings clash with a built-in flag.
	app, _ = newTestApp(t, "shop")
	err := app.Plug(&clashPlugin{}, Namespace("max"))
	if err == nil || !strings.Contains(err.Error(), "--max-connections is a built-in flag") {
		t.Errorf("clash: %v", err)
	}
}

type clashPlugin struct{ probePlugin }

func (p *clashPlugin) Provision(h *PluginHost) error {
	var s struct{ Connections int }
	return h.Settings(&s)
}

func TestPluginsOptionPlugsEachInItsDefaultNamespace(t *testing.T) {
	a, b := &probePlugin{}, &otherPlugin{}
	app, _ := newTestApp(t, "shop", Plugins(a, b))
	startApp(t, app)
	c := dial(t, wsURL(app))
	for _, proc := range []string{"probe.echo", "other.echo"} {
		if _, err := c.Call(testCtx(t), wamp.URI(proc), wamp.List{"x"}, nil, nil); err != nil {
			t.Errorf("call %s: %v", proc, err)
		}
	}
	if err := app.Plug(&probePlugin{}, Namespace("late")); err == nil || !strings.Contains(err.Error(), "before Run") {
		t.Errorf("Plug after Start: %v", err)
	}
}

type otherPlugin struct{ probePlugin }

func (p *otherPlugin) DefaultNamespace() string { return "other" }

func TestEmbeddedAppsPluginsStartWithTheHost(t *testing.T) {
	blog := New("blog")
	p := &probePlugin{}
	blog.Plug(p)
	app, _ := newTestApp(t, "shop")
	app.Embed(blog)
	startApp(t, app)
	if got := p.history(); got != "provision,start" {
		t.Errorf("events %q", got)
	}
}

func TestRunFailsWithTheMessageOfAPluginThatCannotStart(t *testing.T) {
	app := New("shop", WithSettings(func(s *Settings) { s.Listen = "127.0.0.1:0"; s.LogLevel = "error" }))
	app.Plug(&probePlugin{failStarts: 1 << 30}, Namespace("sms"))
	var stderr strings.Builder
	code := app.main(testCtx(t), []string{"run"}, io.Discard, &stderr, func(string) (string, bool) { return "", false })
	if code != 1 || !strings.Contains(stderr.String(), "shop: junction: plugin sms: start: connect tcp://127.0.0.1:1: connection refused") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr.String())
	}
}

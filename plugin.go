package junction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/wamp"
)

// Plugin is a module plugged into an app with Plug or Plugins: a
// protocol the app speaks besides HTTP and WAMP (IRC, email, SMS, a raw
// TCP protocol...), written with the public API only, in any module.
//
// Its life, in order:
//
//   - Provision, called once by Plug, before Run: the plugin declares on
//     its PluginHost its settings (listed by --help, read from flags,
//     environment and the settings file under its namespace), its HTTP
//     routes (webhooks) and its WAMP procedures and subscriptions;
//   - Start, called by the app's Start once the router is joined and the
//     queues and components are in place, before HTTP listens and before
//     the Ready hooks: Ready waits for every plugin. Its error fails the
//     app's start with a message naming the plugin, unless StartRetry
//     makes the app try again for a while;
//   - Stop, called by Shutdown (and by a start that fails later on) once
//     the app's queues have stopped, before its session closes, if Start
//     succeeded.
//
// Settings structs with a Validate() error method are checked once the
// settings are resolved (by Main, and again by Start).
type Plugin interface {
	// DefaultNamespace is the plugin's namespace when Plug is given
	// none: "irc", "sms".
	DefaultNamespace() string
	// Provision declares the plugin's settings, routes, procedures and
	// topics on h, which the plugin may keep.
	Provision(h *PluginHost) error
	// Start connects or listens, returning once the plugin works or
	// cannot. ctx carries the app (AppFrom) and bounds the start only:
	// work that outlives Start needs a context of its own, ended by Stop.
	Start(ctx context.Context) error
	// Stop stops what Start started, within ctx.
	Stop(ctx context.Context) error
}

// PluginHost is a plugin's view of the app it is plugged into: its
// namespace, settings, logger, metrics, routes, procedures and topics.
// Its methods are safe for concurrent use.
type PluginHost struct {
	app *Application
	p   Plugin
	ns  string
	// retry is StartRetry's duration, 0 for a single attempt.
	retry time.Duration
	// settings are the structs given to Settings, validated by Start.
	settings []any

	mu      sync.Mutex
	started bool
}

// PlugOption is an option of Plug (Namespace, StartRetry), and of TCP and
// UDP for Namespace.
type PlugOption interface {
	applyPlug(*PluginHost) error
}

type plugOpt func(*PluginHost) error

func (o plugOpt) applyPlug(h *PluginHost) error { return o(h) }

// Namespace names a plugged plugin: its settings are --NS-name
// (MYAPP_NS_NAME, key NS: {name: ...} in the settings file), its WAMP
// names NS.name, its HTTP routes /NS/..., its logs and metrics carry
// plugin=NS. A namespace is a lower-case letter then lower-case letters,
// digits and '_'. Default: the plugin's DefaultNamespace.
func Namespace(ns string) PlugOption {
	return plugOpt(func(h *PluginHost) error { h.ns = ns; return nil })
}

// StartRetry makes the app try a plugin's Start again, with backoff,
// for up to d before its error fails the app's start: for a server that
// may come up after the app. Default 0: one attempt.
func StartRetry(d time.Duration) PlugOption {
	return plugOpt(func(h *PluginHost) error {
		if d < 0 {
			return fmt.Errorf("StartRetry(%v): want a duration of 0 or more", d)
		}
		h.retry = d
		return nil
	})
}

// Plugins plugs ps into the app, each in its default namespace, as Plug
// does. Option of New.
func Plugins(ps ...Plugin) Option {
	return appOpt{"Plugins", func(app *Application) {
		for _, p := range ps {
			app.Plug(p)
		}
	}}
}

var namespaceRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Plug plugs p into the app under its namespace (Namespace, else its
// DefaultNamespace) and calls its Provision. Plug before Run; the error,
// also reported by Start, is returned for a nil plugin, a bad or taken
// namespace, a refused option or a failed Provision.
func (app *Application) Plug(p Plugin, opts ...PlugOption) error {
	h, err := app.plug(p, opts)
	if err == nil {
		err = h.provision()
	}
	if err != nil {
		ns := "?"
		if h != nil {
			ns = h.ns
		}
		err = fmt.Errorf("junction: Plug(%s): %w", ns, err)
		app.setupError(err)
	}
	return err
}

// plug records p with its options.
func (app *Application) plug(p Plugin, opts []PlugOption) (*PluginHost, error) {
	if p == nil || reflect.ValueOf(p).Kind() == reflect.Pointer && reflect.ValueOf(p).IsNil() {
		return nil, errors.New("nil plugin")
	}
	h := &PluginHost{app: app, p: p, ns: p.DefaultNamespace()}
	for _, o := range opts {
		if o == nil {
			return h, errors.New("nil option")
		}
		if err := o.applyPlug(h); err != nil {
			return h, err
		}
	}
	if !namespaceRE.MatchString(h.ns) {
		return h, fmt.Errorf("namespace %q: want a lower-case letter then lower-case letters, digits and '_'", h.ns)
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.state != stateNew {
		return h, errors.New("plug plugins before Run")
	}
	if slices.ContainsFunc(app.plugins, func(o *PluginHost) bool { return o.ns == h.ns }) {
		return h, fmt.Errorf("namespace %s is taken by another plugin (give this one another with Namespace)", h.ns)
	}
	app.plugins = append(app.plugins, h)
	return h, nil
}

// provision runs the plugin's Provision, turning a panic into an error.
func (h *PluginHost) provision() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("provision panicked: %v", r)
		}
	}()
	if err := h.p.Provision(h); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	return nil
}

// Namespace returns the plugin's namespace.
func (h *PluginHost) Namespace() string { return h.ns }

// App returns the app the plugin is plugged into.
func (h *PluginHost) App() *Application { return h.app }

// URI returns the WAMP name of the plugin's name: NS.name ("irc.send"),
// absolute, whatever the app's prefix.
func (h *PluginHost) URI(name string) wamp.URI { return wamp.URI(h.ns + "." + name) }

// Logger returns the app's logger with plugin=NS, ready once the app
// starts: call it from Start on, not from Provision.
func (h *PluginHost) Logger() *slog.Logger { return h.app.Logger().With("plugin", h.ns) }

// Metrics returns where the plugin registers its Prometheus metrics:
// the app's registry (served at /metrics), each metric labelled
// plugin=NS, so that two plugins of one kind may register the same
// metric names.
func (h *PluginHost) Metrics() prometheus.Registerer {
	return prometheus.WrapRegistererWith(prometheus.Labels{"plugin": h.ns}, h.app.metrics.reg)
}

// Counter registers a counter called name in Metrics (labelled
// plugin=NS) and returns it. Call it from Provision: a name registered
// twice panics.
func (h *PluginHost) Counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	h.Metrics().MustRegister(c)
	return c
}

// Settings declares the plugin's settings: ptr points to a struct read
// as AddSettings reads one, each field's flag prefixed with the
// namespace (field URL of plugin "sms" is --sms-url, MYAPP_SMS_URL, key
// sms: {url: ...} or sms-url in the settings file), listed under
// "Settings of plugin sms" by --help. A Validate() error method of the
// struct checks the resolved values: its error is a usage mistake for
// Main and fails Start. Call it from Provision.
func (h *PluginHost) Settings(ptr any) error {
	app := h.app
	err := func() error {
		v := reflect.ValueOf(ptr)
		if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
			return errors.New("want a non-nil pointer to a struct")
		}
		var add []*setting
		if err := app.structSettings(v.Elem(), h.ns+"-", "", &add); err != nil {
			return err
		}
		for _, s := range add {
			s.group, s.owner = userSetting, pluginOwner(h.ns)
		}
		app.mu.Lock()
		defer app.mu.Unlock()
		if err := checkNames(append(app.reservedSettings(), app.cli.user...), add); err != nil {
			return err
		}
		app.cli.user = append(app.cli.user, add...)
		app.cli.structs = append(app.cli.structs, ptr)
		h.settings = append(h.settings, ptr)
		return nil
	}()
	if err != nil {
		err = fmt.Errorf("junction: plugin %s: Settings(%T): %w", h.ns, ptr, err)
		app.setupError(err)
		app.mu.Lock()
		app.cli.errs = append(app.cli.errs, err)
		app.mu.Unlock()
	}
	return err
}

// pluginOwner is the owner of a plugin's settings, for --help.
func pluginOwner(ns string) string { return "plugin " + ns }

// Register registers handler as the plugin's procedure NS.name; see
// Application.Register.
func (h *PluginHost) Register(name string, handler any, opts ...Option) error {
	return h.app.Register(string(h.URI(name)), handler, opts...)
}

// Subscribe subscribes handler to the plugin's topic NS.name; see
// Application.Subscribe.
func (h *PluginHost) Subscribe(name string, handler any, opts ...Option) error {
	return h.app.Subscribe(string(h.URI(name)), handler, opts...)
}

// Publish publishes an event to the plugin's topic NS.name; see
// Application.Publish.
func (h *PluginHost) Publish(ctx context.Context, name string, args ...any) error {
	return h.app.Publish(ctx, string(h.URI(name)), args...)
}

// Handle routes the requests matching pattern, a path under the
// plugin's own (/NS), to handler: Handle("POST /incoming", hook) of
// plugin "sms" answers POST /sms/incoming. Patterns are those of
// HTTP.Handle, without a host.
func (h *PluginHost) Handle(pattern string, handler http.Handler) {
	method, path, hasMethod := strings.Cut(pattern, " ")
	if !hasMethod {
		method, path = "", pattern
	}
	if !strings.HasPrefix(path, "/") {
		h.app.setupError(fmt.Errorf("junction: plugin %s: Handle(%q): want a path starting with /", h.ns, pattern))
		return
	}
	p := "/" + h.ns + path
	if method != "" {
		p = method + " " + p
	}
	h.app.HTTP.Handle(p, handler)
}

// allPlugins returns the plugins of the app and of the apps embedded
// in it, in Plug order, the embedded apps' first.
func (app *Application) allPlugins() []*PluginHost {
	var out []*PluginHost
	for _, e := range app.allEmbedded() {
		e.app.mu.Lock()
		out = append(out, e.app.plugins...)
		e.app.mu.Unlock()
	}
	app.mu.Lock()
	out = append(out, app.plugins...)
	app.mu.Unlock()
	return out
}

// pluginNamespaces returns the namespaces of the app's own plugins, for
// --help.
func (app *Application) pluginNamespaces() []string {
	app.mu.Lock()
	defer app.mu.Unlock()
	out := make([]string, len(app.plugins))
	for i, h := range app.plugins {
		out[i] = h.ns
	}
	return out
}

// startPlugins starts the plugins, in Plug order.
func (app *Application) startPlugins(ctx context.Context) error {
	hs := app.allPlugins()
	if len(hs) == 0 {
		return nil
	}
	up := app.pluginUpGauge()
	for _, h := range hs {
		if err := h.start(ctx); err != nil {
			return err
		}
		up.WithLabelValues(h.ns).Set(1)
	}
	return nil
}

// pluginUpGauge returns junction_plugin_up, registered once per app.
func (app *Application) pluginUpGauge() *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "junction_plugin_up",
		Help: "1 while the plugin is started, 0 once it stopped or failed to start.",
	}, []string{"plugin"})
	if err := app.metrics.reg.Register(g); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return are.ExistingCollector.(*prometheus.GaugeVec)
		}
	}
	return g
}

// Plugin start backoff: the first wait, and the longest.
const (
	pluginRetryMin = 100 * time.Millisecond
	pluginRetryMax = 10 * time.Second
)

// start validates the plugin's settings and starts it, trying again
// within its StartRetry duration.
func (h *PluginHost) start(ctx context.Context) error {
	for _, st := range h.settings {
		if v, ok := st.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return fmt.Errorf("junction: plugin %s: settings: %w", h.ns, err)
			}
		}
	}
	log := h.Logger()
	deadline := time.Now().Add(h.retry)
	delay := pluginRetryMin
	for attempt := 1; ; attempt++ {
		err := h.startOnce(withApp(ctx, h.app))
		if err == nil {
			h.mu.Lock()
			h.started = true
			h.mu.Unlock()
			log.Info("junction: plugin started", "attempts", attempt)
			return nil
		}
		wait := delay/2 + rand.N(delay/2+1)
		if h.retry == 0 || time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			if attempt > 1 {
				return fmt.Errorf("junction: plugin %s: start failed %d times in %v, last: %w", h.ns, attempt, h.retry, err)
			}
			return fmt.Errorf("junction: plugin %s: start: %w", h.ns, err)
		}
		log.Warn("junction: plugin cannot start yet; retrying", "attempt", attempt, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("junction: plugin %s: start: %w (last error: %w)", h.ns, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, pluginRetryMax)
	}
}

// startOnce runs the plugin's Start, turning a panic into an error.
func (h *PluginHost) startOnce(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = h.app.recovered("plugin", h.ns+" start", r)
		}
	}()
	return h.p.Start(ctx)
}

// stopPlugins stops the started plugins, in the reverse of their start
// order.
func (app *Application) stopPlugins(ctx context.Context) error {
	hs := app.allPlugins()
	var errs []error
	for _, h := range slices.Backward(hs) {
		h.mu.Lock()
		started := h.started
		h.started = false
		h.mu.Unlock()
		if !started {
			continue
		}
		app.pluginUpGauge().WithLabelValues(h.ns).Set(0)
		if err := h.stopOnce(ctx); err != nil {
			errs = append(errs, fmt.Errorf("junction: plugin %s: stop: %w", h.ns, err))
		}
	}
	return errors.Join(errs...)
}

func (h *PluginHost) stopOnce(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = h.app.recovered("plugin", h.ns+" stop", r)
		}
	}()
	return h.p.Stop(withApp(ctx, h.app))
}

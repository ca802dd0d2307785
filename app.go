package junction

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/cron"
	"github.com/junction-run/junction/internal/connlimit"
	"github.com/junction-run/junction/internal/datadir"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// Application is a Junction app: HTTP routes, WAMP components (subscriptions
// and registrations), lifecycle hooks and settings, run by Run. Declare
// everything before Run; Subscribe, Register, Publish and Call also work
// while the app runs (from a Ready hook, an HTTP handler...).
//
// An Application is an http.Handler too: mounted in another server it
// serves its routes, and /ws when it embeds the router.
type Application struct {
	name   string
	prefix string

	// HTTP holds the app's HTTP routes, static files and middleware.
	HTTP *HTTP

	settings Settings
	cli      cliState
	hooks    hooks
	metrics  *appMetrics

	// routerConfig tunes the embedded router (WithRouterConfig).
	routerConfig router.Config
	// logger, if set by WithLogger, overrides the one built from the
	// log settings.
	logger *slog.Logger

	mu         sync.Mutex
	components []*component // declared subscriptions and registrations
	setupErrs  []error      // declarations refused before Start
	state      appState
	log        *slog.Logger
	jobs       []*jobDecl      // scheduled jobs (schedule.go)
	scheduler  *cron.Scheduler // nil until Start
	queues     []*Queue        // task queues (taskqueue.go)
	engine     *queue.Engine   // the queues' NATS engine, nil without queues
	// openEmbedded is queue.Open, set by the declarations that may use
	// the embedded NATS server (Queue, cron jobs): only then is the
	// server linked into the program (Start calls queue.Connect for an
	// external one).
	openEmbedded func(context.Context, queue.Config) (*queue.Engine, error)
	// startCluster is startClusterNode, set by Clustered and by the
	// declarations that link NATS in anyway (Queue, cron jobs).
	startCluster func(context.Context, cluster.Config, *router.Router) (clusterNode, error)
	clusterCfg   *cluster.Config // the cluster the settings ask for, nil for none (planCluster)
	cluster      clusterNode     // nil unless the app is a node of a cluster
	rt           *router.Router  // embedded router, nil with Connect
	adm          adminState      // the web admin and HTTP bridge (admin_app.go)
	sess         *client.Session // the app's own WAMP session
	srv          *http.Server
	ln           net.Listener
	connLimit    *connlimit.Limiter // counts ln's connections
	data         dataDir            // the locked data dir (datadir.go)
	viaMain      bool               // started by Main's run command
	stopped      chan struct{}      // closed when Shutdown has finished
	connected    atomic.Bool        // joined to the router right now
	handlers     sync.WaitGroup     // running WAMP handlers, waited for by Shutdown
	background   sync.WaitGroup     // the app's own goroutines
	connEvents   connectionEvents
	// runCtx carries the app and ends when the app stops: the context of
	// HTTP requests and of the Ready and connection hooks.
	runCtx    context.Context
	cancelRun context.CancelFunc
	// Processes and services (process.go, process_run.go, service.go).
	procs     []*Process
	selectors []*selector
	services  []*Service
	// child is set in a child process: its group and how to reach the
	// main process.
	child     *childEnv
	childLost *lostSignal
	// procRT is the main process's side of its children, nil without.
	procRT *procRuntime
	// mainArgs is the command line Main got, which children run again.
	mainArgs []string
	// natsToken is the secret of the embedded NATS server when the
	// app's children reach it.
	natsToken string

	// embeds are the apps embedded in this one (embed.go); host is the
	// app this one is embedded in, nil for none.
	embeds []*embeddedApp
	host   *Application

	// plugins are the plugged plugins (plugin.go), in Plug order.
	plugins []*PluginHost

	// logOutput receives the logs built from the log settings; default
	// os.Stderr (Main sets its stderr).
	logOutput io.Writer
}

type appState int

const (
	stateNew appState = iota
	stateStarting
	stateRunning
	stateStopping
	stateStopped
)

// New returns an application called name, which is also the prefix of
// its relative URIs (see URI). Options set defaults that the command line,
// environment and settings file can override.
func New(name string, opts ...Option) *Application {
	app := &Application{
		name:     name,
		prefix:   name,
		settings: defaultSettings(),
		stopped:  make(chan struct{}),
		metrics:  newAppMetrics(),
	}
	app.data.dflt, _ = datadir.Default(name) // none without a home: Start says so if it needs one
	app.settings.DataDir = app.data.dflt
	app.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	app.HTTP = newHTTP(app)
	for _, o := range opts {
		ao, ok := o.(appOption)
		if !ok {
			app.setupError(fmt.Errorf("junction: option %s does not apply to New", o.optionName()))
			continue
		}
		ao.applyApp(app)
	}
	if app.logger != nil {
		app.log = app.logger
	}
	return app
}

// Name returns the application's name.
func (app *Application) Name() string { return app.name }

// Settings returns the app's built-in settings: the defaults before Run,
// the resolved ones (command line, environment, settings file) from the
// Starting hooks on.
func (app *Application) Settings() Settings { return app.root().settings }

// Logger returns the application's logger, ready once the app starts.
func (app *Application) Logger() *slog.Logger {
	app = app.root()
	app.mu.Lock()
	defer app.mu.Unlock()
	return app.log
}

// Session returns the app's WAMP session, for what the shortcuts do not
// cover, or nil while the app is not running. With --connect it is the
// same *client.Session across reconnections.
func (app *Application) Session() *client.Session {
	app = app.root()
	app.mu.Lock()
	defer app.mu.Unlock()
	return app.sess
}

// Router returns the embedded router, or nil when the app joins a remote
// one (--connect) or is not running.
func (app *Application) Router() *router.Router {
	app = app.root()
	app.mu.Lock()
	defer app.mu.Unlock()
	return app.rt
}

// URI resolves name as the app's components see it. The rule:
//
//   - a name with no dot is relative: "signin" in app "auth" is
//     "auth.signin";
//   - a name starting with a dot is relative whatever follows:
//     ".users.get" is "auth.users.get";
//   - any other name is absolute: "billing.charge" stays as it is.
//
// The prefix is the app's name unless WithPrefix sets another; an empty
// prefix makes relative names absolute.
func (app *Application) URI(name string) wamp.URI {
	rel, isRel := strings.CutPrefix(name, ".")
	if !isRel && strings.Contains(name, ".") {
		return wamp.URI(name)
	}
	if app.prefix == "" {
		return wamp.URI(rel)
	}
	return wamp.URI(app.prefix + "." + rel)
}

// ServeHTTP serves the app's HTTP routes, and /ws when the app embeds the
// router. Handlers find the app with AppFrom(r.Context()).
func (app *Application) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	app.mu.Lock()
	rt := app.rt
	app.mu.Unlock()
	if rt != nil && r.URL.Path == wsPath {
		rt.ServeHTTP(w, r)
		return
	}
	if app.serveAdmin(w, r) {
		return
	}
	if p := app.settings.Metrics; p != "" && r.URL.Path == p {
		app.serveMetrics(w, r, rt)
		return
	}
	app.HTTP.ServeHTTP(w, r.WithContext(withApp(r.Context(), app)))
}

// wsPath is where the embedded router's WebSocket endpoint is served.
const wsPath = "/ws"

type appKey struct{}

func withApp(ctx context.Context, app *Application) context.Context {
	return context.WithValue(ctx, appKey{}, app)
}

// AppFrom returns the application serving ctx: set for HTTP requests,
// WAMP handlers and lifecycle hooks. It returns nil elsewhere.
func AppFrom(ctx context.Context) *Application {
	app, _ := ctx.Value(appKey{}).(*Application)
	return app
}

// setupError records a declaration refused before Start, which Start
// then reports: a bad handler never goes unnoticed. Once the app has
// started there is no Start left to fail: the error is logged.
func (app *Application) setupError(err error) {
	app.mu.Lock()
	started := app.state >= stateStarting
	if !started {
		app.setupErrs = append(app.setupErrs, err)
	}
	log := app.log
	app.mu.Unlock()
	if started {
		log.Error("junction: declaration refused", "err", err)
	}
}

// ErrNotRunning is returned by Publish and Call when the app has no
// session: before Run, or after it stopped.
var ErrNotRunning = errors.New("junction: app is not running")

// ErrNotConnected is returned by Publish and Call while an app joined to
// a remote router has lost it (it reconnects on its own). It matches
// client.ErrConnectionLost, which HTTP handlers answer with 503 and which
// a call already in flight when the connection dropped fails with: test
// for client.ErrConnectionLost to catch both.
var ErrNotConnected = fmt.Errorf("junction: not connected to the router: %w", client.ErrConnectionLost)

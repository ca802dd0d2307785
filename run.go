package junction

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/junction-run/junction/internal/heapfloor"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/connlimit"
	"github.com/junction-run/junction/internal/signals"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// Run runs the app's command line (see Main) on os.Args and exits with
// its code. The first SIGINT or SIGTERM shuts the app down gracefully
// (exit 0); another one at least half a second later exits at once
// (exit 1). Signals closer together are one: timeout(1) signals both the
// process and its group, and a process manager may do the same.
//
// Run owns the process, so it also keeps the garbage collector's heap goal
// at 16 MiB or more while the live heap is smaller: under load a small
// heap is otherwise collected dozens of times a second. Setting GOGC in
// the environment, even to 100, leaves the collector as Go sets it.
func (app *Application) Run() {
	heapfloor.Auto()
	ctx, stop := signalContext()
	defer stop()
	os.Exit(app.Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// signalContext returns a context cancelled by the first SIGINT or
// SIGTERM; a signal signals.Repeat or more after it exits the process.
func signalContext() (context.Context, func()) {
	return signals.Notify(func() {
		fmt.Fprintln(os.Stderr, "junction: second signal, exiting now")
		os.Exit(1)
	})
}

// serve starts the app, waits for ctx to end, then shuts it down within
// the ShutdownTimeout setting. It is the run command.
func (app *Application) serve(ctx context.Context) error {
	if err := app.Start(ctx); err != nil {
		return err
	}
	var lost error
	select {
	case <-ctx.Done():
	case <-app.lostRouter():
		lost = errRouterLost
	}
	sctx, cancel := context.WithTimeout(context.Background(), app.settings.ShutdownTimeout)
	defer cancel()
	return errors.Join(lost, app.Shutdown(sctx))
}

// lostRouter is closed when a child process loses the main process's
// router; never in the main process.
func (app *Application) lostRouter() <-chan struct{} {
	if app.childLost == nil {
		return nil
	}
	return app.childLost.c
}

// Start starts the app with its current settings, without the command
// line: the embedded router or the connection to a remote one, the
// declared components, and HTTP on the Listen address (":0" picks a free
// port, see Addr). It returns once the app is ready, after the Ready
// hooks. Run is the usual way in; Start and Shutdown are for tests and
// for programs that manage the process themselves.
//
// With a remote router, Start keeps trying to join it until ctx ends.
func (app *Application) Start(ctx context.Context) error {
	app.mu.Lock()
	if app.state != stateNew {
		app.mu.Unlock()
		return errors.New("junction: the app was already started")
	}
	if app.host != nil {
		app.mu.Unlock()
		return fmt.Errorf("junction: app %s is embedded in app %s, which runs it", app.name, app.host.name)
	}
	app.mu.Unlock()
	app.adopt()
	app.mu.Lock()
	if err := errors.Join(app.setupErrs...); err != nil {
		app.mu.Unlock()
		return err
	}
	app.state = stateStarting
	log, err := app.newLogger()
	if err != nil {
		app.state = stateNew
		app.mu.Unlock()
		return err
	}
	app.log = app.withLogTail(log)
	app.mu.Unlock()
	app.testDefaults()

	if err := app.start(ctx); err != nil {
		app.abortStart()
		return err
	}
	app.mu.Lock()
	app.state = stateRunning
	app.mu.Unlock()
	app.Emit(app.runCtx, Ready)
	return nil
}

// start does Start's work; on error, abortStart undoes what was done.
func (app *Application) start(ctx context.Context) error {
	s := &app.settings
	app.runCtx, app.cancelRun = context.WithCancel(withApp(context.Background(), app))
	if err := app.assignProcesses(); err != nil {
		return err
	}
	if app.child == nil {
		if err := app.validateServices(); err != nil {
			return err
		}
		if err := app.planCluster(); err != nil {
			return err
		}
		if err := app.checkAdmin(); err != nil {
			return err
		}
	}
	if err := app.Emit(ctx, Starting); err != nil {
		return fmt.Errorf("junction: starting: %w", err)
	}
	if app.child != nil {
		return app.startChild(ctx)
	}
	if app.HTTP.tmpl.fsys != nil {
		// Broken templates stop the start, rather than the first page
		// that uses them. In debug mode they are read again anyway.
		if _, err := app.HTTP.tmpl.get(false); err != nil {
			return fmt.Errorf("junction: templates: %w", err)
		}
	}
	if err := app.openDataDir(); err != nil {
		return err
	}
	if err := app.startServices(ctx); err != nil {
		return err
	}
	var ln net.Listener
	if s.Listen != "" {
		l, err := net.Listen("tcp", s.Listen)
		if err != nil {
			return fmt.Errorf("junction: listen: %w", err)
		}
		app.mu.Lock()
		if app.connLimit == nil { // its metrics are registered once per app
			app.connLimit = connlimit.New(connlimit.Config{
				MaxConnections:      s.MaxConnections,
				MaxConnectionsPerIP: s.MaxConnectionsPerIP,
				IdleTimeout:         s.IdleTimeout,
			}, app.metrics.reg, app.log)
		}
		lim := app.connLimit
		app.mu.Unlock()
		ln = &onceCloseListener{Listener: lim.Wrap(l, connlimit.RefuseHTTP)}
		app.mu.Lock()
		app.ln = ln
		app.mu.Unlock()
	}

	var sess *client.Session
	var err error
	if s.Connect == "" {
		sess, err = app.embedRouter(ctx)
	} else {
		sess, err = app.connect(ctx)
	}
	if err != nil {
		return err
	}
	app.mu.Lock()
	app.sess = sess
	hasJobs := len(app.jobs) > 0
	app.mu.Unlock()
	if err := app.openQueues(ctx); err != nil {
		return err
	}
	if hasJobs {
		app.registerCronList()
	}
	if app.hasProcesses() || app.hasServices() {
		app.registerProcessProcedures()
	}
	if err := app.startComponents(ctx, sess); err != nil {
		return err
	}
	if err := app.startScheduler(app.runCtx); err != nil {
		return err
	}
	if err := app.startProcesses(ctx); err != nil {
		return err
	}
	if err := app.startPlugins(ctx); err != nil {
		return err
	}
	if err := app.startAdmin(ln); err != nil {
		return err
	}

	if ln == nil {
		app.log.Info("junction: app ready (no HTTP)", "realm", s.Realm, "router", cmp.Or(s.Connect, "embedded"))
		return nil
	}
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       s.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(app.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return app.runCtx },
	}
	app.mu.Lock()
	app.srv = srv
	app.mu.Unlock()
	app.background.Go(func() {
		// Shutdown closes the listener itself first: Serve then ends
		// with net.ErrClosed rather than http.ErrServerClosed.
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			app.log.Error("junction: http server failed", "err", err)
		}
	})
	attrs := []any{"http", "http://" + ln.Addr().String() + "/", "realm", s.Realm}
	if s.Connect == "" {
		attrs = append(attrs, "wamp", "ws://"+ln.Addr().String()+wsPath)
	} else {
		attrs = append(attrs, "router", s.Connect)
	}
	app.log.Info("junction: app ready", attrs...)
	return nil
}

// startComponents puts in place the declared components that run in
// this process.
func (app *Application) startComponents(ctx context.Context, sess *client.Session) error {
	app.mu.Lock()
	comps := append([]*component(nil), app.components...)
	app.mu.Unlock()
	for _, c := range comps {
		if !app.runsHere(c.proc) {
			continue
		}
		if err := c.start(ctx, sess); err != nil {
			return err
		}
	}
	return nil
}

// embedRouter starts the embedded router and joins it in-process.
func (app *Application) embedRouter(ctx context.Context) (*client.Session, error) {
	cfg := app.routerConfig
	cfg.Realms = []string{app.settings.Realm}
	if cfg.Logger == nil {
		cfg.Logger = app.log
	}
	rt, err := router.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("junction: router: %w", err)
	}
	app.mu.Lock()
	app.rt = rt
	app.mu.Unlock()
	if err := app.joinCluster(ctx, rt); err != nil {
		return nil, err
	}
	peer, err := rt.LocalPeer()
	if err != nil {
		return nil, fmt.Errorf("junction: router: %w", err)
	}
	sess, err := client.Join(ctx, peer, app.clientConfig())
	if err != nil {
		return nil, fmt.Errorf("junction: join the embedded router: %w", err)
	}
	app.connected.Store(true)
	return sess, nil
}

// connect joins the remote router, trying again with backoff until ctx
// ends; later connection losses are the session's to repair.
func (app *Application) connect(ctx context.Context) (*client.Session, error) {
	cfg := app.clientConfig()
	cfg.Reconnect = &client.ReconnectConfig{MinDelay: client.DefaultMinDelay, MaxDelay: client.DefaultMaxDelay}
	joined := false
	cfg.OnConnect = func(*client.Session) {
		app.connected.Store(true)
		if joined {
			app.log.Info("junction: connection to the router restored", "router", app.settings.Connect)
			app.emitAsync(app.runCtx, ConnectionRestored)
		}
		joined = true
	}
	cfg.OnDisconnect = func(_ *client.Session, cause error) {
		app.connected.Store(false)
		if app.stopping() {
			return
		}
		app.log.Warn("junction: connection to the router lost; reconnecting", "router", app.settings.Connect, "err", cause)
		app.emitAsync(app.runCtx, ConnectionLost, cause)
	}
	delay := cfg.Reconnect.MinDelay
	for attempt := 1; ; attempt++ {
		sess, err := client.Dial(ctx, app.settings.Connect, cfg)
		if err == nil {
			// OnConnect runs on the session's own goroutine, maybe later.
			app.connected.Store(true)
			return sess, nil
		}
		var we *wamp.Error
		if errors.As(err, &we) {
			// The router answered and refused: trying again won't help.
			return nil, fmt.Errorf("junction: join %s: %w", app.settings.Connect, err)
		}
		app.log.Warn("junction: cannot reach the router yet", "router", app.settings.Connect, "attempt", attempt, "err", err)
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("junction: join %s: %w (last error: %w)", app.settings.Connect, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, cfg.Reconnect.MaxDelay)
	}
}

func (app *Application) clientConfig() client.Config {
	return client.Config{
		Realm:        wamp.URI(app.settings.Realm),
		Logger:       app.log,
		HelloDetails: wamp.Dict{"authid": app.name},
	}
}

func (app *Application) stopping() bool {
	app.mu.Lock()
	defer app.mu.Unlock()
	return app.state >= stateStopping
}

// Connected reports whether the app is joined to its router right now:
// while an app started with --connect has lost its router, Publish and
// Call fail at once with ErrNotConnected rather than wait for the
// reconnection.
func (app *Application) Connected() bool { return app.root().connected.Load() }

// Addr returns the address HTTP listens on, or nil before Start.
func (app *Application) Addr() net.Addr {
	app = app.root()
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.ln == nil {
		return nil
	}
	return app.ln.Addr()
}

// abortStart closes what a failed Start opened.
func (app *Application) abortStart() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	app.mu.Lock()
	app.state = stateStopping
	app.mu.Unlock()
	app.closeAll(ctx)
}

// Shutdown stops the app gracefully: it emits Stopping, stops accepting
// HTTP connections and waits for in-flight requests and WAMP handlers,
// closes the app's session with GOODBYE, stops the embedded router
// (GOODBYE to every session), then emits Stopped. Whatever is still
// running when ctx ends is abandoned and reported. Calling it again, or
// before Start, does nothing.
func (app *Application) Shutdown(ctx context.Context) error {
	app.mu.Lock()
	if app.state != stateRunning {
		app.mu.Unlock()
		return nil
	}
	app.state = stateStopping
	ln := app.ln
	app.mu.Unlock()
	app.log.Info("junction: app stopping")
	if ln != nil {
		ln.Close() // stop accepting before anything else
	}
	app.Emit(ctx, Stopping)
	err := app.closeAll(ctx)
	app.Emit(ctx, Stopped)
	app.log.Info("junction: app stopped")
	return err
}

// closeAll closes, in order, HTTP (with its in-flight requests), the
// running handlers, the session, and the embedded router.
func (app *Application) closeAll(ctx context.Context) error {
	app.mu.Lock()
	srv, ln, sess, rt := app.srv, app.ln, app.sess, app.rt
	app.mu.Unlock()
	var errs []error
	if srv != nil {
		srv.SetKeepAlivesEnabled(false)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("junction: in-flight HTTP requests: %w", err))
		}
	} else if ln != nil {
		ln.Close()
	}
	if err := app.closeAdmin(ctx); err != nil {
		errs = append(errs, fmt.Errorf("junction: web admin: %w", err))
	}
	if err := app.stopProcesses(ctx); err != nil {
		errs = append(errs, err)
	}
	app.mu.Lock()
	sched := app.scheduler
	app.mu.Unlock()
	if sched != nil {
		if err := sched.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("junction: cron: %w", err))
		}
	}
	if err := app.closeQueues(ctx); err != nil {
		errs = append(errs, err)
	}
	// After the queues: a plugin's in-flight sends finish first.
	if err := app.stopPlugins(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := app.closeDataDir(); err != nil {
		errs = append(errs, err)
	}
	handlersDone := make(chan struct{})
	go func() { app.handlers.Wait(); close(handlersDone) }()
	select {
	case <-handlersDone:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("junction: in-flight WAMP handlers: %w", ctx.Err()))
	}
	if sess != nil {
		if err := sess.Close(ctx); err != nil && !errors.Is(err, client.ErrSessionClosed) {
			errs = append(errs, fmt.Errorf("junction: closing the session: %w", err))
		}
	}
	if rt != nil {
		if err := rt.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("junction: stopping the router: %w", err))
		}
	}
	app.mu.Lock()
	node := app.cluster
	app.mu.Unlock()
	if node != nil {
		if err := node.Close(); err != nil {
			errs = append(errs, fmt.Errorf("junction: leaving the cluster: %w", err))
		}
	}
	app.closeProcesses()
	if err := app.stopServices(ctx); err != nil {
		errs = append(errs, err)
	}
	if app.cancelRun != nil {
		app.cancelRun()
	}
	app.mu.Lock()
	app.state = stateStopped
	app.mu.Unlock()
	close(app.stopped)
	err := errors.Join(errs...)
	if err != nil {
		app.log.Error("junction: shutdown was not clean", "err", err)
	}
	return err
}

// onceCloseListener lets Shutdown close the listener first, before the
// Stopping hooks, and http.Server.Shutdown close it again harmlessly.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// Done is closed once the app has stopped.
func (app *Application) Done() <-chan struct{} { return app.root().stopped }

// newLogger builds the app's logger from the log settings, unless
// WithLogger gave one. app.mu is held.
func (app *Application) newLogger() (*slog.Logger, error) {
	if app.logger != nil {
		return app.logger, nil
	}
	s := &app.settings
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return nil, fmt.Errorf("junction: bad log level %q: want debug, info, warn or error", s.LogLevel)
	}
	var w io.Writer = os.Stderr
	if app.logOutput != nil {
		w = app.logOutput
	}
	opts := &slog.HandlerOptions{Level: level}
	if app.child != nil {
		// The main process relays the child's records (relayChildLog).
		return slog.New(childLogHandler(level)), nil
	}
	switch s.LogFormat {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)).With("app", app.name), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)).With("app", app.name), nil
	}
	return nil, fmt.Errorf("junction: bad log format %q: want text or json", s.LogFormat)
}

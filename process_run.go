package junction

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/supervise"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// How the main process and its children meet. The main process starts
// each child by running its own program again, with its own command
// line (so that settings resolve the same), and these environment
// variables, which the child reads and removes from its environment:
const (
	// envProcess is "NAME/INDEX": the child's group and its number in
	// it, from 1.
	envProcess = "JUNCTION_PROCESS"
	// envRouter is the path of the main process's private Unix socket
	// (RawSocket), in a directory only the app's user can enter.
	envRouter = "JUNCTION_PROCESS_ROUTER"
	// envTicket is the run's secret, the only credential the socket
	// accepts (router.TrustedAuth).
	envTicket = "JUNCTION_PROCESS_TICKET"
	// envNATS and envNATSToken reach the NATS server of the app's queues
	// and cron locks, when the app has any.
	envNATS      = "JUNCTION_PROCESS_NATS"
	envNATSToken = "JUNCTION_PROCESS_NATS_TOKEN"
)

// readyLine is what a child prints on its standard output once its
// declarations are in place: the main process waits for it.
const readyLine = "junction: process ready"

var readyLineRE = regexp.MustCompile("^" + regexp.QuoteMeta(readyLine) + "$")

// childEnv is what a child process learns from its environment.
type childEnv struct {
	name      string
	index     int
	router    string
	ticket    string
	nats      string
	natsToken string
}

// label names the child in logs and authids: "auth", or "auth#2" in a
// group of several.
func (c *childEnv) label(n int) string { return processLabel(c.name, c.index, n) }

func processLabel(name string, index, n int) string {
	if n == 1 {
		return name
	}
	return name + "#" + strconv.Itoa(index)
}

// readChildEnv returns the child's environment, nil in the main process,
// and removes it from the process's environment so that programs the
// child starts do not inherit the run's secrets.
func readChildEnv(lookupEnv func(string) (string, bool)) (*childEnv, error) {
	v, ok := lookupEnv(envProcess)
	if !ok {
		return nil, nil
	}
	name, idx, _ := strings.Cut(v, "/")
	index, err := strconv.Atoi(idx)
	if err != nil || index < 1 || name == "" {
		return nil, fmt.Errorf("junction: bad %s=%q: want NAME/INDEX", envProcess, v)
	}
	c := &childEnv{name: name, index: index}
	c.router, _ = lookupEnv(envRouter)
	c.ticket, _ = lookupEnv(envTicket)
	c.nats, _ = lookupEnv(envNATS)
	c.natsToken, _ = lookupEnv(envNATSToken)
	if c.router == "" || c.ticket == "" {
		return nil, fmt.Errorf("junction: %s is set without %s and %s: a child process is started by its app, not by hand", envProcess, envRouter, envTicket)
	}
	for _, k := range []string{envProcess, envRouter, envTicket, envNATS, envNATSToken} {
		os.Unsetenv(k)
	}
	return c, nil
}

// procRuntime is the main process's side of its children: the private
// endpoint and the supervised processes.
type procRuntime struct {
	dir    string // private directory holding the socket
	ticket string
	cancel context.CancelFunc // ends the endpoint
	served chan struct{}      // closed when the endpoint is done
	kids   []*kid
}

// kid is one supervised child process.
type kid struct {
	proc  *Process
	index int
	label string
	sp    *supervise.Process
}

// secret returns a new random secret, hex-encoded.
func secret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hasProcesses reports whether the app declares process groups.
func (app *Application) hasProcesses() bool {
	app.mu.Lock()
	defer app.mu.Unlock()
	return len(app.procs) > 0
}

// startProcesses starts the private endpoint and every child, and waits
// until each is ready. It runs in the main process, once the router and
// the app's own components are up.
func (app *Application) startProcesses(ctx context.Context) error {
	app.mu.Lock()
	procs := slices.Clone(app.procs)
	rt := app.rt
	args := slices.Clone(app.mainArgs)
	viaMain := app.viaMain
	app.mu.Unlock()
	if len(procs) == 0 {
		return nil
	}
	if !viaMain {
		return errors.New("junction: the app's processes are started by running its program again: run the app with Run or Main, not Start")
	}
	if rt == nil {
		return errors.New("junction: processes need the embedded router: they join it over a private socket (--connect is not supported with processes)")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("junction: processes: the program's path: %w", err)
	}
	dir, err := os.MkdirTemp(os.Getenv("XDG_RUNTIME_DIR"), "junction-"+natsName(app.name)+"-")
	if err != nil {
		return fmt.Errorf("junction: processes: private directory: %w", err)
	}
	pr := &procRuntime{dir: dir, ticket: secret(), served: make(chan struct{})}
	app.mu.Lock()
	app.procRT = pr
	app.mu.Unlock()
	sock := filepath.Join(dir, "router.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		close(pr.served)
		return fmt.Errorf("junction: processes: private socket: %w", err)
	}
	ectx, cancel := context.WithCancel(context.Background())
	pr.cancel = cancel
	trusted := router.Listener{Name: "processes " + sock, Trusted: &router.TrustedAuth{Ticket: pr.ticket, Role: "trusted"}}
	go func() {
		defer close(pr.served)
		err := transport.ServeRawSocket(ectx, ln, app.routerConfig.Transport, func(p transport.Peer) { rt.AdoptFrom(p, trusted) })
		if err != nil {
			app.log.Error("junction: processes: private socket failed", "err", err)
		}
	}()

	env := append(os.Environ(), envRouter+"="+sock, envTicket+"="+pr.ticket)
	if url := app.childNATS(); url != "" {
		env = append(env, envNATS+"="+url)
		if app.natsToken != "" {
			env = append(env, envNATSToken+"="+app.natsToken)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 0)
	var mu sync.Mutex
	for _, p := range procs {
		for i := 1; i <= p.n; i++ {
			k := &kid{proc: p, index: i, label: processLabel(p.name, i, p.n)}
			pr.kids = append(pr.kids, k)
			spec := app.childSpec(k, exe, args, append(slices.Clone(env), envProcess+"="+p.name+"/"+strconv.Itoa(i)))
			wg.Go(func() {
				sp, err := supervise.Start(ctx, spec)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("junction: process %s: %w", k.label, err))
					return
				}
				k.sp = sp
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	app.log.Info("junction: processes ready", "processes", len(pr.kids))
	return nil
}

// childNATS returns the URL children reach the app's NATS server at,
// "" when the app has none.
func (app *Application) childNATS() string {
	app.mu.Lock()
	e := app.engine
	app.mu.Unlock()
	if e == nil {
		return ""
	}
	return e.ClientURL()
}

// childSpec is how child k is run and supervised.
func (app *Application) childSpec(k *kid, exe string, args, env []string) supervise.Spec {
	log := app.log.With("process", k.label)
	return supervise.Spec{
		Name:         k.label,
		Kind:         "process",
		Path:         exe,
		Args:         args,
		Env:          env,
		Ready:        supervise.LogLine(readyLineRE),
		ReadyTimeout: childReadyTimeout,
		StopSignal:   stopSignal,
		StopTimeout:  app.settings.ShutdownTimeout + time.Second,
		Restart:      k.proc.restart.supervised(),
		Logger:       app.log,
		Output:       func(stream, line string) { relayChildLog(log, stream, line) },
		OnStart: func(pid int) {
			app.processEvent("on_start", startDict(k.label, k.proc.name, "process", pid))
		},
		OnExit: func(e supervise.Exit) {
			app.processEvent("on_exit", exitDict(k.label, k.proc.name, "process", e))
		},
	}
}

// childReadyTimeout bounds how long a child takes to join the router
// and put its declarations in place.
const childReadyTimeout = 30 * time.Second

// relayChildLog logs a line of a child's output through the main
// process's logger: the child's JSON log records keep their level,
// message and attributes; other lines (a panic's stack, fmt.Println)
// are logged as they are, at info level for stdout and warn for stderr.
// The ready line is not logged.
func relayChildLog(log *slog.Logger, stream, line string) {
	if line == readyLine {
		return
	}
	var rec map[string]any
	if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &rec) == nil {
		msg, _ := rec["msg"].(string)
		var level slog.Level
		if s, ok := rec["level"].(string); !ok || level.UnmarshalText([]byte(s)) != nil {
			level = slog.LevelInfo
		}
		keys := make([]string, 0, len(rec))
		for k := range rec {
			switch k {
			case "time", "level", "msg", "app":
			default:
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		attrs := make([]any, 0, 2*len(keys))
		for _, k := range keys {
			attrs = append(attrs, k, rec[k])
		}
		log.Log(context.Background(), level, msg, attrs...)
		return
	}
	level := slog.LevelInfo
	if stream == "stderr" {
		level = slog.LevelWarn
	}
	log.Log(context.Background(), level, line, "stream", stream)
}

// startDict describes a start in junction.process.on_start.
func startDict(label, group, kind string, pid int) wamp.Dict {
	return wamp.Dict{"name": label, "process": group, "kind": kind, "pid": pid}
}

// exitDict describes an exit in junction.process.on_exit.
func exitDict(label, group, kind string, e supervise.Exit) wamp.Dict {
	d := wamp.Dict{"name": label, "process": group, "kind": kind, "pid": e.PID, "code": e.Code,
		"ran_ms": e.Ran.Milliseconds()}
	if e.Signal != "" {
		d["signal"] = e.Signal
	}
	if e.Err != nil {
		d["error"] = e.Err.Error()
	}
	return d
}

// processEvent publishes junction.process.EVENT, best effort.
func (app *Application) processEvent(event string, d wamp.Dict) {
	app.mu.Lock()
	sess, ctx := app.sess, app.runCtx
	app.mu.Unlock()
	if sess == nil || ctx == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := sess.Publish(pctx, wamp.URI("junction.process."+event), nil, d, nil); err != nil && !errors.Is(err, context.Canceled) {
		app.log.Debug("junction: process event not published", "event", event, "err", err)
	}
}

// stopProcesses stops every child (StopSignal, then SIGKILL after the
// stop timeout or when ctx ends) and closes the private endpoint's
// listener; the endpoint's sessions end with the router.
func (app *Application) stopProcesses(ctx context.Context) error {
	app.mu.Lock()
	pr := app.procRT
	app.mu.Unlock()
	if pr == nil {
		return nil
	}
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, k := range pr.kids {
		if k.sp == nil {
			continue
		}
		wg.Go(func() {
			if err := k.sp.Stop(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("junction: stopping process %s: %w", k.label, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if pr.cancel != nil {
		pr.cancel()
	}
	return errors.Join(errs...)
}

// closeProcesses waits for the private endpoint to end (after the
// router stopped) and removes its directory.
func (app *Application) closeProcesses() {
	app.mu.Lock()
	pr := app.procRT
	app.mu.Unlock()
	if pr == nil {
		return
	}
	<-pr.served // stopProcesses ended the endpoint
	os.RemoveAll(pr.dir)
}

// startChild is Start's work in a child process: join the main
// process's router over the private socket, open the queues, put this
// process's declarations in place, and say it is ready.
func (app *Application) startChild(ctx context.Context) error {
	c := app.child
	n := 0
	app.mu.Lock()
	for _, p := range app.procs {
		if p.name == c.name {
			n = p.n
		}
	}
	app.mu.Unlock()
	if n == 0 {
		return fmt.Errorf("junction: %s names process %q, which this app does not declare", envProcess, c.name)
	}
	label := c.label(n)
	lost := app.childLost
	cfg := client.Config{
		Realm:  wamp.URI(app.settings.Realm),
		Logger: app.log,
		AuthID: "process:" + label,
		Auth:   []client.Authenticator{client.TicketAuth(c.ticket)},
		OnDisconnect: func(_ *client.Session, cause error) {
			app.connected.Store(false)
			if !app.stopping() {
				app.log.Error("junction: lost the main process's router; exiting", "err", cause)
				lost.fail()
			}
		},
	}
	sess, err := client.Dial(ctx, "unix:"+c.router, cfg)
	if err != nil {
		return fmt.Errorf("junction: process %s: join the main process's router: %w", label, err)
	}
	app.connected.Store(true)
	app.mu.Lock()
	app.sess = sess
	app.mu.Unlock()
	if err := app.openQueues(ctx); err != nil {
		return err
	}
	if err := app.startComponents(ctx, sess); err != nil {
		return err
	}
	if err := app.startScheduler(app.runCtx); err != nil {
		return err
	}
	app.log.Debug("junction: process ready", "process", label)
	if _, err := fmt.Fprintln(os.Stdout, readyLine); err != nil {
		return fmt.Errorf("junction: process %s: tell the main process: %w", label, err)
	}
	return nil
}

// lostSignal is closed when a child loses its router: the child exits,
// and its supervisor starts it again.
type lostSignal struct {
	once sync.Once
	c    chan struct{}
}

func newLostSignal() *lostSignal { return &lostSignal{c: make(chan struct{})} }

func (l *lostSignal) fail() { l.once.Do(func() { close(l.c) }) }

// errRouterLost is the run command's error when a child lost the main
// process's router.
var errRouterLost = errors.New("junction: lost the main process's router")

// childLogHandler is the handler of a child's logs: JSON on stderr,
// relayed by the main process with the child's name.
func childLogHandler(level slog.Level) slog.Handler {
	return slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})
}

// ProcessInfo is a process or service as junction.process.list shows it.
type ProcessInfo struct {
	Name      string    `json:"name"`    // "auth", "auth#2", "cache"
	Process   string    `json:"process"` // the group, or the service's name
	Kind      string    `json:"kind"`    // "process" or "service"
	State     string    `json:"state"`   // starting, running, backoff, stopping, stopped, failed
	PID       int       `json:"pid"`
	Restarts  int       `json:"restarts"`
	StartedAt time.Time `json:"started_at,omitzero"`
	LastExit  string    `json:"last_exit,omitempty"`
	Lines     []string  `json:"lines"`
}

// ProcessList lists the app's child processes and services with their
// state, as junction.process.list gives them; empty in a child.
func (app *Application) ProcessList() []ProcessInfo {
	app = app.root()
	app.mu.Lock()
	pr := app.procRT
	svcs := slices.Clone(app.services)
	app.mu.Unlock()
	list := []ProcessInfo{}
	if pr != nil {
		for _, k := range pr.kids {
			if k.sp != nil {
				list = append(list, processInfo(k.label, k.proc.name, "process", k.sp.Status()))
			}
		}
	}
	for _, s := range svcs {
		if sp := s.started(); sp != nil {
			list = append(list, processInfo(s.name, s.name, "service", sp.Status()))
		}
	}
	return list
}

func processInfo(label, group, kind string, st supervise.Status) ProcessInfo {
	info := ProcessInfo{Name: label, Process: group, Kind: kind, State: string(st.State), PID: st.PID,
		Restarts: st.Restarts, StartedAt: st.StartedAt, Lines: slices.Clone(st.Lines)}
	if info.Lines == nil {
		info.Lines = []string{}
	}
	if e := st.LastExit; e != nil {
		info.LastExit = describeExit(*e)
	}
	return info
}

func describeExit(e supervise.Exit) string {
	switch {
	case e.Err != nil:
		return e.Err.Error()
	case e.Signal != "":
		return "signal: " + e.Signal
	}
	return "exit status " + strconv.Itoa(e.Code)
}

// RestartProcess restarts the child processes or service called name:
// a group ("auth": each of its processes in turn), one process of a
// group ("auth#2") or a service.
func (app *Application) RestartProcess(ctx context.Context, name string) error {
	app = app.root()
	app.mu.Lock()
	pr := app.procRT
	svcs := slices.Clone(app.services)
	app.mu.Unlock()
	var targets []*supervise.Process
	var known []string
	if pr != nil {
		for _, k := range pr.kids {
			known = append(known, k.label)
			if k.sp != nil && (k.label == name || k.proc.name == name) {
				targets = append(targets, k.sp)
			}
		}
	}
	for _, s := range svcs {
		known = append(known, s.name)
		if sp := s.started(); sp != nil && s.name == name {
			targets = append(targets, sp)
		}
	}
	if len(targets) == 0 {
		return wamp.NewError("junction.error.no_such_process", fmt.Sprintf("no process or service %q (the app has: %s)", name, strings.Join(known, ", ")))
	}
	for _, sp := range targets {
		if err := sp.Restart(ctx); err != nil {
			return err
		}
	}
	return nil
}

// registerProcessProcedures registers junction.process.list and
// junction.process.restart in the main process, for WAMP clients (the
// admin, a script), authorized like any procedure.
func (app *Application) registerProcessProcedures() {
	app.registerInternal("junction.process.list", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		return single(app.ProcessList())
	})
	app.registerInternal("junction.process.restart", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		name, err := inv.ArgString(0)
		if err != nil {
			return nil, err
		}
		if err := app.RestartProcess(ctx, name); err != nil {
			return nil, err
		}
		return &client.Result{}, nil
	})
}

package junction

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/junction-run/junction/internal/supervise"
)

// Process is a group of the app's declarations that run in processes of
// their own: Run starts each by running the app's own program again
// (no second binary), and the children join the app's router over a
// private Unix socket. A handler that blocks or burns a core in a
// process slows only that process: the web and the rest of the app stay
// responsive. Declare on a Process as on the app; Application.Process
// and Application.Workers make them, Application.Processes moves
// declarations already made on the app into them.
//
// Children are supervised: one that exits or crashes is started again
// after a backoff (its registrations and subscriptions disappear
// meanwhile), one that crashes too often is given up and reported; the
// app's shutdown stops them after HTTP and before the router. Lifecycle
// hooks added with Application.On run in the main process only; those
// added with Process.On run in each of the group's processes.
type Process struct {
	app  *Application
	name string
	n    int // replicas
	// restart is the children's restart policy.
	restart RestartPolicy
	hooks   hooks
}

// processNameRE is what a process or service name may be: it appears in
// logs, authids, URIs' arguments and command lines.
var processNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Process returns the app's process group called name (lower-case
// letters, digits, '-' and '_'), made at the first call: one process
// running the declarations made on it and those Processes assigns to
// it.
func (app *Application) Process(name string) *Process {
	app.mu.Lock()
	defer app.mu.Unlock()
	return app.process(name)
}

// process is Process with app.mu held.
func (app *Application) process(name string) *Process {
	for _, p := range app.procs {
		if p.name == name {
			return p
		}
	}
	p := &Process{app: app, name: name, n: 1}
	app.procs = append(app.procs, p)
	if !processNameRE.MatchString(name) || name == mainProcess {
		app.setupErrs = append(app.setupErrs, fmt.Errorf("junction: Process(%q): a process name is lower-case letters, digits, '-' and '_', starts with a letter, and is not %q", name, mainProcess))
	}
	return p
}

// mainProcess names the main process in logs and in
// junction.process.list.
const mainProcess = "main"

// Workers returns the process group called name, run as n identical
// processes: to use every core for the declarations the selectors pick
// (see Processes) and those made on the group. Their registrations are
// shared: a registration left with the default invocation policy gets
// roundrobin, so that calls spread over the n processes.
func (app *Application) Workers(name string, n int, selectors ...string) *Process {
	app.mu.Lock()
	p := app.process(name)
	if n < 1 {
		app.setupErrs = append(app.setupErrs, fmt.Errorf("junction: Workers(%q, %d): want at least one process", name, n))
		n = 1
	}
	p.n = n
	app.mu.Unlock()
	if len(selectors) > 0 {
		app.Processes(map[string][]string{name: selectors})
	}
	return p
}

// Processes moves declarations made on the app into processes, by
// selector, so that moving a component out of the main process is a
// one-line change:
//
//	app.Processes(map[string][]string{
//		"auth":  {"register:auth.signin"},
//		"audit": {"subscribe:auth.signedin"},
//	})
//
// A selector is KIND:NAME with KIND one of register, subscribe (NAME a
// procedure or topic, relative or absolute as in URI), queue (NAME a
// queue: its workers run in the process; Enqueue works from anywhere) or
// job (NAME a scheduled job's name, see JobName). A NAME ending in ".*"
// selects every name under that prefix. Selectors are resolved by Start:
// one that selects nothing, or a declaration that two processes claim,
// stops the app before anything starts.
func (app *Application) Processes(m map[string][]string) {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	app.mu.Lock()
	defer app.mu.Unlock()
	for _, name := range names {
		p := app.process(name)
		for _, s := range m[name] {
			sel, err := parseSelector(app, s)
			if err != nil {
				app.setupErrs = append(app.setupErrs, fmt.Errorf("junction: Processes: process %s: %w", name, err))
				continue
			}
			sel.proc = p
			app.selectors = append(app.selectors, sel)
		}
	}
}

// selector picks declarations for a process (see Processes).
type selector struct {
	text   string // as written
	kind   string // register, subscribe, queue or job
	name   string // URI or name, without the ".*"
	prefix bool   // name ended in ".*"
	proc   *Process
}

func parseSelector(app *Application, s string) (*selector, error) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return nil, fmt.Errorf("selector %q: want KIND:NAME, KIND one of register, subscribe, queue, job", s)
	}
	sel := &selector{text: s, kind: kind}
	switch kind {
	case "register", "subscribe":
		// "auth.*" is absolute, as "auth.signin" is: resolved whole.
		sel.name, sel.prefix = strings.CutSuffix(string(app.URI(name)), ".*")
	case "queue", "job":
		sel.name, sel.prefix = strings.CutSuffix(name, ".*")
	default:
		return nil, fmt.Errorf("selector %q: unknown kind %q: want register, subscribe, queue or job", s, kind)
	}
	return sel, nil
}

func (sel *selector) matches(kind, name string) bool {
	if kind != sel.kind {
		return false
	}
	if sel.prefix {
		return strings.HasPrefix(name, sel.name+".")
	}
	return name == sel.name
}

// assignProcesses resolves the selectors: each selected declaration
// moves to its process. It fails, naming the culprits, on a selector
// that selects nothing and on a declaration two processes claim.
func (app *Application) assignProcesses() error {
	app.mu.Lock()
	defer app.mu.Unlock()
	var errs []error
	// claimed maps each selected declaration to its selector. A typed
	// key, not an interface: putting *Queue in an interface would keep
	// all its methods, and the NATS server with them, in every program.
	type declKey struct {
		kind string // component, queue or job
		i    int
	}
	claimed := make(map[declKey]*selector)
	claim := func(sel *selector, decl declKey, what string, current string) {
		if prev, ok := claimed[decl]; ok && prev.proc != sel.proc {
			errs = append(errs, fmt.Errorf("junction: Processes: %s is claimed by process %s (%q) and process %s (%q)",
				what, prev.proc.name, prev.text, sel.proc.name, sel.text))
			return
		}
		if current != "" && current != sel.proc.name {
			errs = append(errs, fmt.Errorf("junction: Processes: %s was declared on process %s; %q moves it to process %s",
				what, current, sel.text, sel.proc.name))
			return
		}
		claimed[decl] = sel
	}
	for _, sel := range app.selectors {
		n := 0
		for i, c := range app.components {
			kind := map[string]string{"event": "subscribe", "call": "register"}[c.kind]
			if c.internal || !sel.matches(kind, string(c.uri)) {
				continue
			}
			n++
			claim(sel, declKey{"component", i}, kind+" "+string(c.uri), c.declaredIn)
		}
		for i, q := range app.queues {
			if sel.matches("queue", q.name) {
				n++
				claim(sel, declKey{"queue", i}, "queue "+q.name, q.declaredIn)
			}
		}
		for i, j := range app.jobs {
			if sel.matches("job", j.name) {
				n++
				claim(sel, declKey{"job", i}, "job "+j.name, j.declaredIn)
			}
		}
		if n == 0 {
			errs = append(errs, fmt.Errorf("junction: Processes: process %s: selector %q selects nothing%s",
				sel.proc.name, sel.text, app.selectorHint(sel)))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for decl, sel := range claimed {
		switch decl.kind {
		case "component":
			app.components[decl.i].proc = sel.proc.name
		case "queue":
			app.queues[decl.i].proc = sel.proc.name
		case "job":
			app.jobs[decl.i].proc = sel.proc.name
		}
	}
	for _, p := range app.procs {
		if p.n > 1 {
			for _, c := range app.components {
				if c.proc == p.name && c.kind == "call" && c.regOpts.Invoke == "" {
					c.regOpts.Invoke = "roundrobin"
				}
			}
		}
	}
	return nil
}

// selectorHint suggests the names of sel's kind that exist. app.mu is
// held.
func (app *Application) selectorHint(sel *selector) string {
	var names []string
	for _, c := range app.components {
		kind := map[string]string{"event": "subscribe", "call": "register"}[c.kind]
		if kind == sel.kind && !c.internal {
			names = append(names, string(c.uri))
		}
	}
	for _, q := range app.queues {
		if sel.kind == "queue" {
			names = append(names, q.name)
		}
	}
	for _, j := range app.jobs {
		if sel.kind == "job" {
			names = append(names, j.name)
		}
	}
	if len(names) == 0 {
		return fmt.Sprintf(" (the app declares no %s)", sel.kind)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	return fmt.Sprintf(" (the app's %s names: %s)", sel.kind, strings.Join(names, ", "))
}

// Name returns the group's name.
func (p *Process) Name() string { return p.name }

// Register is Application.Register for a handler that runs in this
// group's processes.
func (p *Process) Register(procedure string, handler any, opts ...Option) error {
	c := &component{app: p.app, kind: "call", uri: p.app.URI(procedure), proc: p.name, declaredIn: p.name}
	if err := c.configure(handler, opts); err != nil {
		return p.app.refuse(c, err)
	}
	return p.app.add(c)
}

// Subscribe is Application.Subscribe for a handler that runs in this
// group's processes.
func (p *Process) Subscribe(topic string, handler any, opts ...Option) error {
	c := &component{app: p.app, kind: "event", uri: p.app.URI(topic), proc: p.name, declaredIn: p.name}
	if err := c.configure(handler, opts); err != nil {
		return p.app.refuse(c, err)
	}
	return p.app.add(c)
}

// Queue is Application.Queue for a queue whose workers run in this
// group's processes; Enqueue works from every process.
func (p *Process) Queue(name string, opts ...Option) *Queue {
	q := p.app.Queue(name, opts...)
	p.app.mu.Lock()
	q.proc, q.declaredIn = p.name, p.name
	p.app.mu.Unlock()
	return q
}

// Every is Application.Every for a job that runs in this group's
// processes (once per tick across them).
func (p *Process) Every(d time.Duration, job Job, opts ...Option) {
	p.app.addJob(&jobDecl{kind: "every", every: d, job: job, proc: p.name, declaredIn: p.name}, opts)
}

// Cron is Application.Cron for a job that runs in this group's
// processes.
func (p *Process) Cron(spec string, job Job, opts ...Option) {
	p.app.addJob(&jobDecl{kind: "cron", spec: spec, job: job, proc: p.name, declaredIn: p.name}, opts)
}

// At is Application.At for a job that runs in this group's processes.
func (p *Process) At(t time.Time, job Job, opts ...Option) {
	p.app.addJob(&jobDecl{kind: "at", at: t, job: job, proc: p.name, declaredIn: p.name}, opts)
}

// On adds a lifecycle hook that runs in each of this group's processes
// (Starting, Ready, Stopping, Stopped, or an event of the app's own
// fired there with Emit), not in the main process.
func (p *Process) On(event string, h Hook) {
	if h == nil {
		p.app.setupError(fmt.Errorf("junction: process %s: On(%q) with a nil hook", p.name, event))
		return
	}
	p.hooks.add(event, h)
}

// RestartPolicy says what happens to a process or service that exits.
type RestartPolicy struct {
	// When is "always" (the default: whatever the exit), "on-failure"
	// (a non-zero exit or a signal) or "never".
	When string
	// MinDelay and MaxDelay bound the exponential backoff between
	// restarts. Default 100ms and 30s.
	MinDelay, MaxDelay time.Duration
	// MaxRestarts restarts within Window give up the program: it is
	// reported (logged at error level, state "failed") and left stopped.
	// Default 5 in 60s.
	MaxRestarts int
	Window      time.Duration
}

// Restart sets the restart policy of the group's processes.
func (p *Process) Restart(policy RestartPolicy) *Process {
	if err := policy.validate(); err != nil {
		p.app.setupError(fmt.Errorf("junction: process %s: %w", p.name, err))
		return p
	}
	p.restart = policy
	return p
}

// supervised is the policy as the supervisor takes it.
func (r RestartPolicy) supervised() supervise.Policy {
	return supervise.Policy{When: r.When, MinDelay: r.MinDelay, MaxDelay: r.MaxDelay, MaxRestarts: r.MaxRestarts, Window: r.Window}
}

func (r RestartPolicy) validate() error {
	switch r.When {
	case "", "always", "on-failure", "never":
	default:
		return fmt.Errorf("restart policy %q: want always, on-failure or never", r.When)
	}
	if r.MinDelay < 0 || r.MaxDelay < 0 || r.MaxRestarts < 0 || r.Window < 0 {
		return errors.New("restart policy: negative delay, count or window")
	}
	return nil
}

// ProcessName returns the name of the process the code runs in: "main"
// for the main process, the group's name in a child.
func (app *Application) ProcessName() string {
	app = app.root()
	if app.child == nil {
		return mainProcess
	}
	return app.child.name
}

// runsHere reports whether a declaration of process proc runs in this
// process.
func (app *Application) runsHere(proc string) bool {
	if app.child == nil {
		return proc == ""
	}
	return proc == app.child.name
}

// processHooks returns the hooks that run in this process.
func (app *Application) processHooks() *hooks {
	if app.child == nil {
		return &app.hooks
	}
	for _, p := range app.procs {
		if p.name == app.child.name {
			return &p.hooks
		}
	}
	return &hooks{}
}

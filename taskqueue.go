package junction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/wamp"
)

// Queue is a durable task queue of the app, on NATS JetStream: an
// embedded server in the app's data directory by default, an external
// one with --nats. Tasks survive crashes and restarts; each runs at least
// once; workers in every process of the app share the queue.
type Queue struct {
	app  *Application
	name string
	cfg  queue.QueueConfig
	// proc is the process group running its workers ("" for the main
	// process); declaredIn as component's. Guarded by the app's mu
	// once declared.
	proc, declaredIn string

	mu    sync.Mutex
	tasks map[string]queue.Handler
	q     *queue.Queue // nil until the app starts
}

// queueOption is an Option of Application.Queue; applyQueue reports
// whether it applies there.
type queueOption interface {
	Option
	applyQueue(*queue.QueueConfig) bool
}

// enqueueOption is an Option of Queue.Enqueue; applyEnqueue reports
// whether it applies there.
type enqueueOption interface {
	Option
	applyEnqueue(*queue.EnqueueOptions) bool
}

type queueOpt struct {
	name    string
	queue   func(*queue.QueueConfig)
	enqueue func(*queue.EnqueueOptions)
}

func (o queueOpt) optionName() string { return o.name }

func (o queueOpt) applyQueue(c *queue.QueueConfig) bool {
	if o.queue != nil {
		o.queue(c)
	}
	return o.queue != nil
}

func (o queueOpt) applyEnqueue(e *queue.EnqueueOptions) bool {
	if o.enqueue != nil {
		o.enqueue(e)
	}
	return o.enqueue != nil
}

// Workers bounds how many tasks of the queue run at once in this process
// (default 1): the window of fetched tasks. Option of Queue.
func Workers(n int) Option {
	return queueOpt{name: "Workers", queue: func(c *queue.QueueConfig) { c.Workers = n }}
}

// MaxRetries is how many times a failed task is tried again, with
// exponential backoff and jitter, before it goes to the dead letters
// (default 3). Option of Queue and Enqueue.
func MaxRetries(n int) Option {
	return queueOpt{name: "MaxRetries",
		queue:   func(c *queue.QueueConfig) { c.MaxRetries = n },
		enqueue: func(e *queue.EnqueueOptions) { e.MaxRetries = &n }}
}

// Backoff is the first retry delay, doubled at each retry up to maxDelay
// and jittered (defaults 1s and 5m). Option of Queue.
func Backoff(first, maxDelay time.Duration) Option {
	return queueOpt{name: "Backoff", queue: func(c *queue.QueueConfig) { c.Backoff, c.MaxBackoff = first, maxDelay }}
}

// Lease is how long a worker holds a task before it is given to another:
// a running task renews it on its own (heartbeats at a third of it), so
// only a dead worker's task is redelivered, after the lease (default 30s).
// Option of Queue.
func Lease(d time.Duration) Option {
	return queueOpt{name: "Lease", queue: func(c *queue.QueueConfig) { c.Lease = d }}
}

// ResultTTL is how long results are kept (default 24h). Option of Queue.
func ResultTTL(d time.Duration) Option {
	return queueOpt{name: "ResultTTL", queue: func(c *queue.QueueConfig) { c.ResultTTL = d }}
}

// DeadTTL makes dead and failed tasks expire d after their end instead
// of staying until requeued or deleted (default: they stay). Option of
// Queue.
func DeadTTL(d time.Duration) Option {
	return queueOpt{name: "DeadTTL", queue: func(c *queue.QueueConfig) { c.DeadTTL = d }}
}

// Delay makes an enqueued task run no sooner than d from now. Option of
// Enqueue.
func Delay(d time.Duration) Option {
	return queueOpt{name: "Delay", enqueue: func(e *queue.EnqueueOptions) { e.Delay = d }}
}

// RunAt makes an enqueued task run no sooner than t. Option of Enqueue.
func RunAt(t time.Time) Option {
	return queueOpt{name: "RunAt", enqueue: func(e *queue.EnqueueOptions) { e.At = t }}
}

// DedupID makes enqueueing idempotent: a task enqueued again with the
// same ID within the deduplication window (2m) is the same task, and
// Enqueue returns its ID. Option of Enqueue.
func DedupID(id string) Option {
	return queueOpt{name: "DedupID", enqueue: func(e *queue.EnqueueOptions) { e.DedupID = id }}
}

// Queue returns the app's queue called name, declared with opts the
// first time. Declare it, and its tasks, before Run.
func (app *Application) Queue(name string, opts ...Option) *Queue {
	app.mu.Lock()
	for _, q := range app.queues {
		if q.name == name {
			app.mu.Unlock()
			return q
		}
	}
	q := &Queue{app: app, name: name, tasks: make(map[string]queue.Handler)}
	app.queues = append(app.queues, q)
	app.openEmbedded, app.startCluster = queue.Open, startClusterNode
	app.mu.Unlock()
	adminQueues = queuesForAdmin
	for _, o := range opts {
		qo, ok := o.(queueOption)
		if !ok || !qo.applyQueue(&q.cfg) {
			app.setupError(fmt.Errorf("junction: Queue(%q): option %s does not apply to Queue", name, o.optionName()))
		}
	}
	app.registerQueueProcedures(q)
	return q
}

// Task declares the handler of the queue's tasks called name. The
// handler is a typed function of the task's payload, with an optional
// leading context.Context, returning an optional result and an optional
// error: func(ctx context.Context, job Video) (URL, error). The payload
// is decoded from its JSON form, the result encoded to it. An error or a
// panic fails the attempt: the task is retried, then kept in the dead
// letters with its last error. A payload that does not decode into the
// handler's parameter fails the task at once, without retries (state
// failed, also kept in the dead letters); so does an error wrapped with
// queue.Permanent.
func (q *Queue) Task(name string, handler any) {
	f, err := newTypedFunc(q.name+"/"+name, handler, true)
	if err == nil && len(f.params) > 1 {
		err = fmt.Errorf("a task handler takes at most one argument besides its context, the payload")
	}
	if err != nil {
		q.app.setupError(fmt.Errorf("junction: queue %s: Task(%q): %w", q.name, name, err))
		return
	}
	h := func(ctx context.Context, t *queue.Task) ([]byte, error) {
		var args wamp.List
		if len(f.params) == 1 {
			var v any
			if err := json.Unmarshal(t.Payload, &v); err != nil {
				return nil, queue.Permanent(fmt.Errorf("payload of task %s is not JSON: %w", t.ID, err))
			}
			args = wamp.List{numbersToInts(v)}
		}
		out, err := q.app.runTask(withApp(ctx, q.app), q.name+"/"+name, f, args)
		var we *wamp.Error
		if errors.As(err, &we) && we.URI == wamp.URIInvalidArgument {
			// A payload that does not fit the handler never will:
			// no retry.
			return nil, queue.Permanent(err)
		}
		if err != nil {
			return nil, err
		}
		if !f.hasValue {
			return nil, nil
		}
		return json.Marshal(out)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.tasks[name]; dup {
		q.app.setupError(fmt.Errorf("junction: queue %s: task %q declared twice", q.name, name))
		return
	}
	q.tasks[name] = h
}

// runTask runs a task handler with the watchdog and panic recovery.
func (app *Application) runTask(ctx context.Context, name string, f *typedFunc, args wamp.List) (out any, err error) {
	defer app.watch("task", name)()
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, app.recovered("task", name, r)
		}
	}()
	out, err = f.call(ctx, &client.Values{Args: args})
	if err != nil {
		app.metrics.errors.WithLabelValues("task").Inc()
	}
	return out, err
}

// Enqueue adds a task to the queue and returns its ID once it is stored
// durably. payload travels in its JSON form. Options: Delay, RunAt,
// MaxRetries, Timeout, DedupID.
func (q *Queue) Enqueue(ctx context.Context, task string, payload any, opts ...Option) (string, error) {
	var eo queue.EnqueueOptions
	for _, o := range opts {
		x, ok := o.(enqueueOption)
		if !ok || !x.applyEnqueue(&eo) {
			return "", fmt.Errorf("junction: queue %s: enqueue: option %s does not apply to Enqueue", q.name, o.optionName())
		}
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("junction: queue %s: enqueue %s: payload: %w", q.name, task, err)
	}
	qq, err := q.started()
	if err != nil {
		return "", err
	}
	return qq.Enqueue(ctx, task, b, &eo)
}

// TaskResult is a task's state and, once it ended, its result or error.
type TaskResult struct {
	ID       string      `json:"id"`
	Task     string      `json:"task"`
	State    queue.State `json:"state"`
	Value    any         `json:"value,omitempty"`
	Error    string      `json:"error,omitempty"`
	Attempts int         `json:"attempts"`
	Finished time.Time   `json:"finished,omitzero"`
}

func taskResult(r *queue.Result) *TaskResult {
	tr := &TaskResult{ID: r.ID, Task: r.Name, State: r.State, Error: r.Error, Attempts: r.Attempts, Finished: r.Finished}
	if len(r.Value) > 0 {
		var v any
		if json.Unmarshal(r.Value, &v) == nil {
			tr.Value = numbersToInts(v)
		}
	}
	return tr
}

// Result waits for the task to end (done, failed or dead) and returns its
// result, or returns when ctx ends. An unknown or expired ID is
// queue.ErrNotFound.
func (q *Queue) Result(ctx context.Context, id string) (*TaskResult, error) {
	return q.get(ctx, id, (*queue.Queue).Result)
}

// Status returns the task's state as it is now, without waiting: the
// same TaskResult as Result's, whose State says whether it has ended. An
// unknown or expired ID is queue.ErrNotFound.
func (q *Queue) Status(ctx context.Context, id string) (*TaskResult, error) {
	return q.get(ctx, id, (*queue.Queue).Status)
}

// get reads a task's result from the started queue with read (its
// Result or its Status).
func (q *Queue) get(ctx context.Context, id string, read func(*queue.Queue, context.Context, string) (*queue.Result, error)) (*TaskResult, error) {
	qq, err := q.started()
	if err != nil {
		return nil, err
	}
	r, err := read(qq, ctx, id)
	if err != nil {
		return nil, err
	}
	return taskResult(r), nil
}

// Permanent marks a task handler's error as one that retrying cannot fix
// (a payload that makes no sense, a resource that is gone): the task
// fails at once, without its retries, and goes to the dead letters. It
// is queue.Permanent, here so that a handler needs no second import.
// Permanent(nil) is nil.
func Permanent(err error) error { return queue.Permanent(err) }

// Engine returns the underlying queue for what the shortcuts do not
// cover (dead letters, statistics), or nil before the app starts.
func (q *Queue) Engine() *queue.Queue {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.q
}

func (q *Queue) started() (*queue.Queue, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.q == nil {
		return nil, fmt.Errorf("junction: queue %s: %w", q.name, ErrNotRunning)
	}
	return q.q, nil
}

// openQueues opens the queue engine and starts every declared queue.
// Apps without queues open the engine only if --nats names a server (for
// cron's once-per-tick lock).
func (app *Application) openQueues(ctx context.Context) error {
	app.mu.Lock()
	queues := append([]*Queue(nil), app.queues...)
	app.mu.Unlock()
	s := &app.settings
	if !app.needsEngine() {
		return nil
	}
	cfg := queue.Config{
		URL:        s.NATS,
		Listen:     s.NATSListen,
		Namespace:  natsName(app.name),
		Logger:     app.log,
		Registerer: app.metrics.reg,
	}
	switch {
	case app.child != nil:
		cfg.Token = app.child.natsToken
	case s.NATS == "" && s.NATSListen == "" && app.hasProcesses():
		// The children reach the embedded server on loopback, with a
		// token made for the run.
		app.natsToken = secret()
		cfg.Listen, cfg.Token = "127.0.0.1:0", app.natsToken
	}
	open := queue.Connect
	app.mu.Lock()
	node := app.cluster
	app.mu.Unlock()
	if node != nil && s.NATS == "" {
		// A node of a cluster: the queues live in the cluster's
		// JetStream, each stream kept on up to three nodes.
		cfg.URL, cfg.Token, cfg.Listen = node.ClientURL(), app.clusterCfg.Token, ""
		cfg.Replicas = min(3, max(1, len(s.Peers)))
	} else if s.NATS == "" {
		cfg.DataDir = filepath.Join(app.dataPath(), "nats")
		var err error
		if open, err = app.embeddedOpener(); err != nil {
			return err
		}
	}
	e, err := open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("junction: queue engine: %w", err)
	}
	app.mu.Lock()
	app.engine = e
	app.mu.Unlock()
	for _, q := range queues {
		qq, err := e.Queue(q.name, q.cfg)
		if err != nil {
			return fmt.Errorf("junction: queue %s: %w", q.name, err)
		}
		q.mu.Lock()
		for name, h := range q.tasks {
			qq.Handle(name, h)
		}
		q.q = qq
		q.mu.Unlock()
		qq.OnDone(func(r queue.Result) {
			// Published for WAMP clients in any language; best effort.
			pctx, cancel := context.WithTimeout(app.runCtx, 5*time.Second)
			defer cancel()
			if err := app.Publish(pctx, queueURI(q.name, "on_done"), taskResult(&r)); err != nil && !errors.Is(err, context.Canceled) {
				app.log.Debug("junction: on_done not published", "queue", q.name, "task", r.ID, "err", err)
			}
		})
		if !app.runsHere(q.proc) {
			continue // its workers run in another process
		}
		if err := qq.Start(app.runCtx); err != nil {
			return fmt.Errorf("junction: queue %s: %w", q.name, err)
		}
	}
	return nil
}

// needsEngine reports whether the app opens the queue engine: for its
// queues, for --nats or --nats-listen, and for cron locks shared with
// its processes.
func (app *Application) needsEngine() bool {
	app.mu.Lock()
	defer app.mu.Unlock()
	s := &app.settings
	return len(app.queues) > 0 || s.NATS != "" || s.NATSListen != "" ||
		(app.child == nil && len(app.procs) > 0 && len(app.jobs) > 0)
}

// embeddedOpener returns queue.Open if a declaration linked the embedded
// NATS server in (see Application.openEmbedded).
func (app *Application) embeddedOpener() (func(context.Context, queue.Config) (*queue.Engine, error), error) {
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.openEmbedded == nil {
		return nil, errors.New("junction: --nats-listen serves the embedded NATS server of the app's queues and cron jobs, and this app declares neither")
	}
	return app.openEmbedded, nil
}

// closeQueues stops the queues (in-flight tasks finish or go back) and
// the engine.
func (app *Application) closeQueues(ctx context.Context) error {
	app.mu.Lock()
	queues, e := app.queues, app.engine
	app.mu.Unlock()
	var errs []error
	for _, q := range queues {
		if qq := q.Engine(); qq != nil {
			if err := qq.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("junction: queue %s: %w", q.name, err))
			}
		}
	}
	if e != nil {
		if err := e.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("junction: queue engine: %w", err))
		}
	}
	return errors.Join(errs...)
}

func queueURI(name, what string) string { return "junction.queue." + name + "." + what }

// natsName turns an app name into a NATS namespace: letters, digits and
// '_'.
func natsName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

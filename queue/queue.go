package queue

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// QueueConfig configures a queue. The zero value is valid; each field's
// default is given below. Workers is this process's own; the other
// fields should be the same in every process that opens the queue, as
// Lease and DedupWindow live in NATS, where the last process to open the
// queue sets them.
type QueueConfig struct {
	// Workers is how many tasks this process runs at once. Default 1.
	Workers int `json:"workers,omitempty" yaml:"workers,omitempty"`
	// MaxRetries is how many times a failed task is tried again: 3 makes
	// 4 attempts. Negative: none, a failure is final. Default 3. A task
	// (TaskConfig) or an enqueue (EnqueueOptions) can set its own.
	MaxRetries int `json:"max_retries,omitempty" yaml:"max_retries,omitempty"`
	// Backoff is the delay before the first retry; each further retry
	// waits twice as long as the one before, up to MaxBackoff, and the
	// actual delay is drawn between half that and that (jitter).
	// Default 1s.
	Backoff time.Duration `json:"backoff,omitempty" yaml:"backoff,omitempty"`
	// MaxBackoff caps the retry delay. Default 5m.
	MaxBackoff time.Duration `json:"max_backoff,omitempty" yaml:"max_backoff,omitempty"`
	// Timeout bounds each attempt: the handler's context ends then, and
	// the attempt fails with ErrTimeout. Default 5m.
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Lease is how long NATS waits for news of a task it handed to a
	// worker before it hands it to another (the consumer's AckWait):
	// while a handler runs, its worker renews the lease every Lease/3,
	// so a long task keeps it, and a task whose worker died runs again
	// after at most Lease. At least 100ms. Default 30s.
	Lease time.Duration `json:"lease,omitempty" yaml:"lease,omitempty"`
	// ResultTTL is how long the state and result of a finished task are
	// kept, counted from its end. At least 1s. Default 24h.
	ResultTTL time.Duration `json:"result_ttl,omitempty" yaml:"result_ttl,omitempty"`
	// DeadTTL, if set, is how long dead and failed tasks (their dead
	// letter and their state) are kept, counted from their end, so that
	// a task failing on every tick does not pile up for ever. At least
	// 1s. Default 0: kept until requeued or deleted.
	DeadTTL time.Duration `json:"dead_ttl,omitempty" yaml:"dead_ttl,omitempty"`
	// DedupWindow is how long NATS remembers the ids of enqueued tasks,
	// within which enqueueing the same EnqueueOptions.DedupID again
	// yields the same task. Default 2m.
	DedupWindow time.Duration `json:"dedup_window,omitempty" yaml:"dedup_window,omitempty"`
}

func (c QueueConfig) withDefaults() QueueConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	def(&c.Backoff, time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
	def(&c.Timeout, 5*time.Minute)
	def(&c.Lease, 30*time.Second)
	def(&c.ResultTTL, 24*time.Hour)
	def(&c.DedupWindow, 2*time.Minute)
	return c
}

func (c QueueConfig) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Workers < 1 || c.Workers > 10000:
		return bad("Workers %d: want 1 to 10000", c.Workers)
	case c.Backoff < 0:
		return bad("Backoff %s: want >= 0", c.Backoff)
	case c.MaxBackoff < c.Backoff:
		return bad("MaxBackoff %s: want >= Backoff (%s)", c.MaxBackoff, c.Backoff)
	case c.Timeout < 0:
		return bad("Timeout %s: want >= 0", c.Timeout)
	case c.Lease < 100*time.Millisecond:
		return bad("Lease %s: want >= 100ms", c.Lease)
	case c.ResultTTL < time.Second:
		return bad("ResultTTL %s: want >= 1s", c.ResultTTL)
	case c.DeadTTL != 0 && c.DeadTTL < time.Second:
		return bad("DeadTTL %s: want >= 1s, or 0 to keep dead letters", c.DeadTTL)
	case c.DedupWindow < 0:
		return bad("DedupWindow %s: want >= 0", c.DedupWindow)
	}
	return nil
}

// TaskConfig sets a task's own retry budget and timeout (see
// Queue.HandleTask); an enqueue's EnqueueOptions override it.
type TaskConfig struct {
	// MaxRetries as in QueueConfig. Default 0: the queue's.
	MaxRetries int `json:"max_retries,omitempty" yaml:"max_retries,omitempty"`
	// Timeout as in QueueConfig. Default 0: the queue's.
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Task is a task as its handler sees it.
type Task struct {
	ID      string // unique in its queue; see Enqueue
	Name    string // the task name it was enqueued under
	Payload []byte
	// Attempt counts from 1; retries and attempts whose worker died
	// count, attempts cut short by Stop do not.
	Attempt    int
	EnqueuedAt time.Time
}

// Handler runs a task and returns its result, which Result then returns
// to whoever asks. An error fails the attempt: the task is retried (see
// QueueConfig.MaxRetries) unless the error is Permanent. A panic is
// recovered and counts as an error. ctx ends when the attempt times out
// and when the queue stops; it carries the values of Start's context.
//
// Delivery is at least once: a task may run again after its handler
// returned (when the worker dies before NATS hears of it), so handlers
// should be idempotent.
type Handler func(ctx context.Context, t *Task) (result []byte, err error)

// A Queue is a durable task queue on a JetStream stream. Any number of
// processes may open the same queue (same name and Config.Namespace on
// the same NATS): they share its tasks, each running up to its Workers
// at once. A process that never calls Start only enqueues and reads
// results. Queue's methods are safe for concurrent use.
//
// NATS objects, for a queue "videos" in namespace "junction":
//
//   - stream junction-q-videos (work-queue retention, file storage):
//     tasks ready to run on subject junction.q.videos.ready, delayed ones
//     on junction.q.videos.at.<id> as NATS scheduled messages, which the
//     server moves to .ready when they are due;
//   - its durable pull consumer "workers", shared by every process;
//   - bucket junction-q-videos-state: each task's state and result;
//   - bucket junction-q-videos-dead: the dead letters.
type Queue struct {
	e    *Engine
	name string
	cfg  QueueConfig
	log  *slog.Logger

	streamName string
	ready      string // subject of the tasks ready to run
	delayed    string // prefix of the subjects of delayed tasks
	cons       jetstream.Consumer
	state      jetstream.KeyValue
	dead       jetstream.KeyValue
	stateName  string // state's bucket name
	deadName   string // dead's bucket name

	mu       sync.Mutex // guards the fields below
	handlers map[string]taskHandler
	onDone   []func(Result)
	run      runState
	stopped  chan struct{} // closed when Stop ends

	// Set by Start, read-only after.
	runCtx      context.Context // the handlers' contexts derive from it
	cancelRun   context.CancelCauseFunc
	cancelFetch context.CancelFunc // ends the dispatcher
	abandon     chan struct{}      // closed when Stop gives up on in-flight tasks
	workers     sync.WaitGroup     // the dispatcher and the attempts
	heartbeat   time.Duration      // how often running tasks renew their lease

	pause pauseState // Pause, Resume, Processed
}

type runState int

const (
	runNew runState = iota
	runStarted
	runStopped
)

type taskHandler struct {
	h   Handler
	cfg TaskConfig
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Queue opens the queue called name (1 to 64 letters, digits, '-' or
// '_'), creating its NATS stream, consumer and buckets, or updating them
// to cfg. An engine opens each name once.
func (e *Engine) Queue(name string, cfg QueueConfig) (*Queue, error) {
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("%w: queue %q: want 1 to 64 letters, digits, '-' or '_'", ErrInvalidName, name)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if _, ok := e.queues[name]; ok {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrDuplicateQueue, name)
	}
	e.queues[name] = nil // reserved while it opens
	e.mu.Unlock()

	q, err := e.openQueue(name, cfg)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil || e.closed {
		delete(e.queues, name)
		if err == nil {
			err = ErrClosed
		}
		return nil, err
	}
	e.queues[name] = q
	return q, nil
}

func (e *Engine) openQueue(name string, cfg QueueConfig) (*Queue, error) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	ns := e.cfg.Namespace
	q := &Queue{
		e:          e,
		name:       name,
		cfg:        cfg,
		log:        e.log.With("queue", name),
		streamName: ns + "-q-" + name,
		ready:      ns + ".q." + name + ".ready",
		delayed:    ns + ".q." + name + ".at.",
		handlers:   make(map[string]taskHandler),
		stopped:    make(chan struct{}),
		abandon:    make(chan struct{}),
		heartbeat:  cfg.Lease / 3,
	}
	streamConfig := jetstream.StreamConfig{
		Name:        q.streamName,
		Description: "Junction task queue " + name,
		Subjects:    []string{ns + ".q." + name + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    e.cfg.Replicas,
		Duplicates:  cfg.DedupWindow,
		// Delayed tasks are scheduled messages, which need roll-ups.
		AllowMsgSchedules: true,
		AllowRollup:       true,
	}
	var stream jetstream.Stream
	err := retryUnanswered(ctx, func(ctx context.Context) (err error) {
		stream, err = e.js.CreateOrUpdateStream(ctx, streamConfig)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s: stream: %w", name, err)
	}
	if !stream.CachedInfo().Config.AllowMsgSchedules {
		return nil, fmt.Errorf("queue %s: the NATS server (%s) does not schedule messages: it needs nats-server 2.12 or newer",
			name, e.nc.ConnectedServerVersion())
	}
	consumerConfig := jetstream.ConsumerConfig{
		Durable:       "workers",
		Description:   "Junction workers of queue " + name,
		FilterSubject: q.ready,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.Lease,
		// Retries are counted and dead-lettered here, with per-task
		// budgets; tasks waiting for a retry count as pending acks.
		MaxDeliver:    -1,
		MaxAckPending: -1,
	}
	err = retryUnanswered(ctx, func(ctx context.Context) (err error) {
		q.cons, err = stream.CreateOrUpdateConsumer(ctx, consumerConfig)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s: consumer: %w", name, err)
	}
	bucket := func(suffix, what string) (jetstream.KeyValue, error) {
		kvConfig := jetstream.KeyValueConfig{
			Bucket:         q.streamName + "-" + suffix,
			Description:    "Junction task queue " + name + ": " + what,
			History:        1,
			Storage:        jetstream.FileStorage,
			Replicas:       e.cfg.Replicas,
			LimitMarkerTTL: markerTTL,
		}
		var kv jetstream.KeyValue
		err := retryUnanswered(ctx, func(ctx context.Context) (err error) {
			kv, err = e.js.CreateOrUpdateKeyValue(ctx, kvConfig)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("queue %s: %s bucket: %w", name, suffix, err)
		}
		return kv, nil
	}
	if q.state, err = bucket("state", "task states and results"); err != nil {
		return nil, err
	}
	q.stateName = q.streamName + "-state"
	if q.dead, err = bucket("dead", "dead letters"); err != nil {
		return nil, err
	}
	q.deadName = q.streamName + "-dead"
	return q, nil
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// Handle sets the handler of the tasks called taskName, with the queue's
// retry budget and timeout. See HandleTask.
func (q *Queue) Handle(taskName string, h Handler) {
	q.HandleTask(taskName, h, TaskConfig{})
}

// HandleTask sets the handler of the tasks called taskName, with its own
// retry budget and timeout. Handlers are usually set before Start; one
// set later serves the tasks fetched from then on. HandleTask panics on
// an invalid task name, a nil handler, a negative timeout or a name that
// already has a handler: these are mistakes in the program.
func (q *Queue) HandleTask(taskName string, h Handler, cfg TaskConfig) {
	if err := validTaskName(taskName); err != nil {
		panic(err)
	}
	if h == nil {
		panic(fmt.Sprintf("queue: nil handler for task %q", taskName))
	}
	if cfg.Timeout < 0 {
		panic(fmt.Sprintf("queue: negative timeout for task %q", taskName))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.handlers[taskName]; ok {
		panic(fmt.Sprintf("queue: task %q of queue %s has two handlers", taskName, q.name))
	}
	q.handlers[taskName] = taskHandler{h: h, cfg: cfg}
}

// OnDone adds f to the functions called when a task this process ran
// ends for good: done, failed or dead. It is not called for attempts that
// will be retried. f runs in the worker's goroutine, after NATS has
// recorded the end, and delays the worker's next task: keep it short. A
// panic in f is logged.
func (q *Queue) OnDone(f func(Result)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onDone = append(q.onDone, f)
}

func (q *Queue) handler(taskName string) (taskHandler, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	th, ok := q.handlers[taskName]
	return th, ok
}

func (q *Queue) doneFuncs() []func(Result) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.onDone
}

// validTaskName accepts up to 256 printable characters, with no spaces:
// "encode", "feeds.fetch", "billing/charge".
func validTaskName(name string) error {
	if name == "" || len(name) > 256 {
		return fmt.Errorf("%w: task %q: want 1 to 256 characters", ErrInvalidName, name)
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == '\uFFFD' {
			return fmt.Errorf("%w: task %q: spaces and control characters are not allowed", ErrInvalidName, name)
		}
	}
	return nil
}

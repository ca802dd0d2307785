package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures an Engine. The zero value is not enough on its own:
// set URL to use an external NATS server, or DataDir to start an embedded
// one. Fields with a json tag can come from a settings file; the others
// are set in code.
type Config struct {
	// URL is the external NATS server (or cluster) to use, such as
	// "nats://nats.internal:4222"; it must have JetStream enabled and be
	// nats-server 2.12 or newer (for scheduled messages). Default "": the
	// engine starts an embedded NATS server in DataDir.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// DataDir is where the embedded server keeps its JetStream store,
	// usually <app data dir>/nats. Required when URL is "", refused
	// otherwise.
	DataDir string `json:"data_dir,omitempty" yaml:"data_dir,omitempty"`
	// Listen is the address where the embedded server accepts NATS
	// clients, so that other processes can share it (see ClientURL);
	// port 0 picks a free one. Default "": no listener, the engine talks
	// to its server in-process and nothing else can reach it.
	Listen string `json:"listen,omitempty" yaml:"listen,omitempty"`
	// SyncAlways makes the embedded server flush every write to disk
	// before acknowledging it. Default false: writes reach the operating
	// system at once, so enqueued tasks survive a crash of the process,
	// and the disk within two minutes, so a power loss can lose the
	// latest ones. Expect enqueue to be several times slower with it.
	SyncAlways bool `json:"sync_always,omitempty" yaml:"sync_always,omitempty"`
	// Namespace prefixes the NATS streams, buckets and subjects of the
	// engine's queues and locks, so that several apps can share a NATS
	// server: usually the app's name. Letters, digits and '_'. Default
	// "junction".
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// Replicas is the number of copies NATS keeps of each stream and
	// bucket the engine creates: 1 for a single server, 3 on a cluster.
	// Default 1.
	Replicas int `json:"replicas,omitempty" yaml:"replicas,omitempty"`
	// Logger receives the engine's logs, the embedded server's warnings
	// and errors among them. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
	// Clock tells the time; see Clock. Default: the system clock.
	Clock Clock `json:"-" yaml:"-"`
	// Registerer, if not nil, receives the engine's metrics:
	// junction_queue_tasks_total{queue,task,outcome} (outcome done,
	// retry, failed or dead) and junction_queue_running{queue}. Metrics
	// already registered there (by an earlier Engine) are shared.
	// Default nil: no metrics.
	Registerer prometheus.Registerer `json:"-" yaml:"-"`
	// Token, if set, is the secret NATS clients present: the embedded
	// server (with Listen) admits only the clients that give it, and the
	// engine gives it to the server it connects to. An app's worker
	// processes reach its embedded server with a token made for the run.
	Token string `json:"-" yaml:"-"`
	// NATSOptions are added to the options of the connection to NATS:
	// credentials, TLS, ... Default none.
	NATSOptions []nats.Option `json:"-" yaml:"-"`
}

const defaultNamespace = "junction"

func (c Config) withDefaults() Config {
	if c.Namespace == "" {
		c.Namespace = defaultNamespace
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	return c
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)

func (c Config) validate() error {
	switch {
	case c.URL == "" && c.DataDir == "":
		return fmt.Errorf("%w: DataDir is required for the embedded server (or set URL)", ErrInvalidConfig)
	case c.URL != "" && c.DataDir != "":
		return fmt.Errorf("%w: DataDir is for the embedded server, but URL is set", ErrInvalidConfig)
	case c.URL != "" && c.Listen != "":
		return fmt.Errorf("%w: Listen is for the embedded server, but URL is set", ErrInvalidConfig)
	case !namespaceRE.MatchString(c.Namespace):
		return fmt.Errorf("%w: namespace %q: want 1 to 32 letters, digits or '_'", ErrInvalidName, c.Namespace)
	case c.Replicas < 1 || c.Replicas > 5:
		return fmt.Errorf("%w: Replicas %d: want 1 to 5", ErrInvalidConfig, c.Replicas)
	}
	if c.Listen != "" {
		if _, _, err := listenAddr(c.Listen); err != nil {
			return fmt.Errorf("%w: Listen %q: %w", ErrInvalidConfig, c.Listen, err)
		}
	}
	return nil
}

// opTimeout bounds the NATS calls the engine makes on its own behalf,
// outside any caller's context: creating a queue's streams, writing a
// task's state from a worker.
const opTimeout = 10 * time.Second

// setupTimeout bounds opening a queue: its stream, consumer and buckets,
// which in a JetStream cluster wait for leaders to be elected.
const setupTimeout = 30 * time.Second

// An Engine is a connection to NATS JetStream, and the embedded server
// when it runs one, shared by the queues it opens (Queue) and the locks
// it grants (TryLock). Its methods are safe for concurrent use.
//
// Lock order: Engine.mu is never held while a Queue's mutex is taken, nor
// the other way round.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	clock   Clock
	srv     embeddedServer // the embedded server, nil with Config.URL
	nc      *nats.Conn
	js      jetstream.JetStream
	metrics *metrics
	owner   string // this engine's name in the locks it holds

	mu     sync.Mutex
	queues map[string]*Queue // nil value: being opened
	locks  jetstream.KeyValue
	closed bool
}

// embeddedServer is the embedded NATS server as the engine uses it. An
// interface, so that a program that only ever calls Connect does not
// link the server in (its code is a third of a small app's binary).
type embeddedServer interface {
	nats.InProcessConnProvider
	ClientURL() string
	Shutdown()
	WaitForShutdown()
}

// Open connects to NATS, or starts the embedded server in cfg.DataDir
// and connects to it, and checks that JetStream answers. Close releases
// what Open started. ctx bounds the start.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	return open(ctx, cfg, startServer)
}

// Connect is Open for an external server only (cfg.URL is required):
// the embedded server is neither started nor linked into the program.
func Connect(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("%w: Connect needs a URL (Open starts an embedded server)", ErrInvalidConfig)
	}
	return open(ctx, cfg, nil)
}

// open is Open, with the embedded server's start given by the caller: nil
// for Connect.
func open(ctx context.Context, cfg Config, start func(context.Context, Config) (embeddedServer, error)) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:    cfg,
		log:    cfg.Logger,
		clock:  cfg.Clock,
		owner:  nuid.Next(),
		queues: make(map[string]*Queue),
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("queue: metrics: %w", err)
	}
	e.metrics = m

	url := cfg.URL
	opts := []nats.Option{nats.Name("junction-queue"), nats.MaxReconnects(-1)}
	if cfg.URL == "" {
		e.srv, err = start(ctx, cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.InProcessServer(e.srv))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	opts = append(opts, cfg.NATSOptions...)
	e.nc, err = nats.Connect(url, opts...)
	if err != nil {
		e.shutdownServer()
		return nil, fmt.Errorf("queue: connect to NATS: %w", err)
	}
	e.js, err = jetstream.New(e.nc)
	if err == nil {
		err = jetStreamReady(ctx, e.js)
	}
	if err != nil {
		e.nc.Close()
		e.shutdownServer()
		return nil, fmt.Errorf("queue: JetStream: %w", err)
	}
	if e.srv != nil {
		e.log.Debug("queue: embedded NATS server started", "data_dir", cfg.DataDir, "url", e.ClientURL())
	}
	return e, nil
}

// jetStreamReady waits until JetStream answers.
func jetStreamReady(ctx context.Context, js jetstream.JetStream) error {
	return retryUnanswered(ctx, func(ctx context.Context) error {
		_, err := js.AccountInfo(ctx)
		return err
	})
}

// retryUnanswered runs a JetStream request until it is answered or ctx
// ends. A clustered JetStream elects its leaders (the cluster's, then
// each stream's) after its routes are up, and a request made meanwhile
// may never be answered: each attempt has its own deadline.
func retryUnanswered(ctx context.Context, do func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := do(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !unanswered(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// unanswered reports whether err says JetStream is not ready yet: no
// answer, no responder, or its cluster "temporarily unavailable" (503)
// while it elects a leader.
func unanswered(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.As(err, &api) && api.Code == 503
}

// ClientURL returns the URL other NATS clients (another Engine, the nats
// CLI) can use to reach the server this engine uses: the embedded
// server's when it listens (Config.Listen), "" when it does not, and the
// external server's otherwise.
func (e *Engine) ClientURL() string {
	if e.srv == nil {
		return e.nc.ConnectedUrl()
	}
	if e.cfg.Listen == "" {
		return ""
	}
	return e.srv.ClientURL()
}

// Close stops the engine's queues (see Queue.Stop: in-flight tasks get
// until ctx ends to finish), flushes and closes the NATS connection and
// shuts the embedded server down. Calling it again does nothing.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	var qs []*Queue
	for _, q := range e.queues {
		if q != nil {
			qs = append(qs, q)
		}
	}
	e.mu.Unlock()

	var errs []error
	for _, q := range qs {
		if err := q.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("queue %s: %w", q.name, err))
		}
	}
	if err := e.nc.FlushTimeout(2 * time.Second); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		e.log.Warn("queue: flush before close", "err", err)
	}
	e.nc.Close()
	e.shutdownServer()
	return errors.Join(errs...)
}

func (e *Engine) shutdownServer() {
	if e.srv != nil {
		e.srv.Shutdown()
		e.srv.WaitForShutdown()
	}
}

func (e *Engine) isClosed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closed
}

// maxValue is the largest payload or result a task may have: its dead
// letter or result record, which holds it in base64 among other fields,
// must fit in a NATS message.
func (e *Engine) maxValue() int {
	return int(e.nc.MaxPayload())*3/4 - 8<<10
}

// kvSubject is the subject a bucket's key is written to: the engine
// writes some keys itself, with a per-message TTL that the KeyValue
// interface only offers on Create.
func kvSubject(bucket, key string) string { return "$KV." + bucket + "." + key }

package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// taskPrefix starts the name of a hook's delivery tasks.
const taskPrefix = "deliver."

// enqueueTimeout bounds the enqueue of one event.
const enqueueTimeout = 10 * time.Second

// rejoin bounds the delays between attempts to join the router again
// after the dispatcher's session ended (a router that cut it off as a
// slow consumer, say).
const (
	rejoinMin = 100 * time.Millisecond
	rejoinMax = 5 * time.Second
)

// A Dispatcher delivers a router's events to the hooks' URLs through a
// durable queue. Its methods are safe for concurrent use.
//
// Lock order: Dispatcher.mu is never held while a hook's mu is taken,
// nor the other way round.
type Dispatcher struct {
	cfg     Config
	rt      *router.Router
	eng     *queue.Engine
	log     *slog.Logger
	hooks   []*hook
	byTask  map[string]*hook
	metrics *metrics

	mu      sync.Mutex
	q       *queue.Queue
	session *client.Session
	started bool
	stopped bool
	stop    chan struct{} // closed by Stop: the supervisor returns
	done    chan struct{} // closed when Stop has ended

	supervisor sync.WaitGroup
}

// hook is a configured hook and its delivery counters.
type hook struct {
	Hook
	task    string
	retries int // queue.EnqueueOptions.MaxRetries

	mu     sync.Mutex
	status Status
}

// Status is a hook's state since the dispatcher started: its
// configuration and the outcome of its deliveries in this process.
type Status struct {
	Name  string `json:"name"`
	Topic string `json:"topic"`
	Match string `json:"match"`
	URL   string `json:"url"`
	// Delivered counts events delivered; Failed, attempts that failed
	// (retried or not); Dead, deliveries whose attempts were spent (or
	// that no handler could run), now dead letters; Dropped, events
	// that could not be enqueued.
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	Dead      int64 `json:"dead"`
	Dropped   int64 `json:"dropped"`
	// LastStatus is the HTTP status of the last attempt, 0 if it had
	// none (a network error, a timeout) or there was none; LastError is
	// its error, "" if it succeeded; LastDelivery is when it ended.
	LastStatus   int       `json:"last_status"`
	LastError    string    `json:"last_error"`
	LastDelivery time.Time `json:"last_delivery,omitzero"`
}

// New returns a dispatcher of rt's events that queues its deliveries in
// eng. cfg is loaded (Config.Load) first. Nothing runs until Start.
func New(rt *router.Router, eng *queue.Engine, cfg Config) (*Dispatcher, error) {
	cfg, err := cfg.Load()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("webhook: metrics: %w", err)
	}
	d := &Dispatcher{cfg: cfg, rt: rt, eng: eng, log: cfg.Logger, byTask: map[string]*hook{}, metrics: m,
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, h := range cfg.Hooks {
		hk := &hook{Hook: h, task: taskPrefix + h.Name, retries: h.MaxAttempts - 1}
		hk.status = Status{Name: h.Name, Topic: h.Topic, Match: h.Match, URL: h.URL}
		d.hooks = append(d.hooks, hk)
		d.byTask[hk.task] = hk
	}
	return d, nil
}

// Start opens the queue and starts its workers, then joins the router
// and subscribes to every hook's topic. ctx bounds the start. Stop
// undoes a Start that failed halfway.
func (d *Dispatcher) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.stopped:
		return ErrStopped
	case d.started:
		return ErrStarted
	}
	d.started = true
	q, err := d.eng.Queue(d.cfg.Queue, queue.QueueConfig{
		Workers:    d.cfg.Workers,
		Backoff:    d.cfg.Backoff,
		MaxBackoff: d.cfg.MaxBackoff,
		DeadTTL:    d.cfg.DeadTTL,
	})
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	d.q = q
	for _, h := range d.hooks {
		// Each enqueue gives its retries too, as a requeue keeps them.
		retries := h.retries
		if retries == 0 {
			retries = -1 // TaskConfig's 0 is the queue's default
		}
		q.HandleTask(h.task, d.deliver(h), queue.TaskConfig{MaxRetries: retries, Timeout: h.Timeout + time.Second})
	}
	q.OnDone(d.ended)
	if err := q.Start(ctx); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	s, err := d.join(ctx)
	if err != nil {
		return err
	}
	d.session = s
	d.supervisor.Go(func() { d.supervise(s) })
	return nil
}

// join opens the dispatcher's session and subscribes to the hooks'
// topics.
func (d *Dispatcher) join(ctx context.Context) (*client.Session, error) {
	mine, routers := transport.Pipe(transport.Config{})
	l := router.Listener{Name: "webhooks", Assigned: &router.AssignedAuth{AuthID: d.cfg.AuthID, AuthRole: d.cfg.AuthRole, Method: "webhooks"}}
	go d.rt.AttachFrom(routers, l)
	s, err := client.Join(ctx, mine, client.Config{Realm: wamp.URI(d.cfg.Realm), Logger: d.log})
	if err != nil {
		mine.Close()
		return nil, fmt.Errorf("webhook: join realm %s: %w", d.cfg.Realm, err)
	}
	for _, h := range d.hooks {
		opts := &client.SubscribeOptions{Match: wamp.MatchPolicy(h.Match)}
		if _, err := s.Subscribe(ctx, wamp.URI(h.Topic), d.enqueue(h), opts); err != nil {
			s.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("webhook: hook %s: subscribe to %s: %w", h.Name, h.Topic, err)
		}
	}
	return s, nil
}

// supervise joins the router again whenever the session ends before
// Stop: events published meanwhile are not delivered.
func (d *Dispatcher) supervise(s *client.Session) {
	delay := rejoinMin
	for {
		select {
		case <-d.stop:
			return
		case <-s.Done():
		}
		d.log.Warn("webhook: session ended; joining again", "err", s.Err())
		for {
			select {
			case <-d.stop:
				return
			case <-time.After(delay):
			}
			ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
			next, err := d.join(ctx)
			cancel()
			if err == nil {
				d.mu.Lock()
				d.session = next
				d.mu.Unlock()
				s, delay = next, rejoinMin
				break
			}
			d.log.Error("webhook: could not join the router", "err", err)
			delay = min(2*delay, rejoinMax)
		}
	}
}

// Stop leaves the router, then stops the queue's workers: deliveries in
// flight get until ctx ends to finish, after which they run again at
// the next start (their lease expires). It does not close the engine.
// Calling it again waits for the first call.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		select {
		case <-d.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.stopped = true
	close(d.stop)
	d.mu.Unlock()
	d.supervisor.Wait()
	d.mu.Lock()
	s, q := d.session, d.q
	d.mu.Unlock()
	var errs []error
	if s != nil {
		if err := s.Close(ctx); err != nil && !errors.Is(err, client.ErrSessionClosed) {
			errs = append(errs, fmt.Errorf("webhook: leave: %w", err))
		}
	}
	if q != nil {
		if err := q.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("webhook: stop the queue: %w", err))
		}
	}
	close(d.done)
	return errors.Join(errs...)
}

// Stopped returns a channel closed once Stop has ended.
func (d *Dispatcher) Stopped() <-chan struct{} { return d.done }

// Status returns every hook's status, in the configuration's order.
func (d *Dispatcher) Status() []Status {
	out := make([]Status, len(d.hooks))
	for i, h := range d.hooks {
		h.mu.Lock()
		out[i] = h.status
		h.mu.Unlock()
	}
	return out
}

// Queue returns the queue of the deliveries, nil before Start: its dead
// letters are the deliveries whose attempts were spent, whose task name
// is "deliver." and the hook's name.
func (d *Dispatcher) Queue() *queue.Queue {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.q
}

// event is the body POSTed for an event.
type event struct {
	Hook        string    `json:"hook"`
	Topic       wamp.URI  `json:"topic"`
	Publication wamp.ID   `json:"publication"`
	Args        wamp.List `json:"args"`
	Kwargs      wamp.Dict `json:"kwargs"`
	Details     wamp.Dict `json:"details"`
}

// enqueue is h's event handler: it stores the event as a task, and does
// nothing else, so that the session keeps up with the router.
func (d *Dispatcher) enqueue(h *hook) client.EventHandler {
	return func(ctx context.Context, e *client.Event) {
		ev := event{Hook: h.Name, Topic: e.Topic(), Publication: e.Publication, Args: e.Args, Kwargs: e.Kwargs, Details: e.Details}
		if ev.Args == nil {
			ev.Args = wamp.List{}
		}
		if ev.Kwargs == nil {
			ev.Kwargs = wamp.Dict{}
		}
		if ev.Details == nil {
			ev.Details = wamp.Dict{}
		}
		body, err := json.Marshal(ev)
		if err == nil {
			ctx, cancel := context.WithTimeout(ctx, enqueueTimeout)
			_, err = d.q.Enqueue(ctx, h.task, body, &queue.EnqueueOptions{MaxRetries: &h.retries})
			cancel()
		}
		if err != nil {
			d.log.Error("webhook: event dropped: not enqueued", "hook", h.Name, "topic", ev.Topic, "publication", ev.Publication, "err", err)
			h.mu.Lock()
			h.status.Dropped++
			d.metrics.add(h.Name, outcomeDropped)
			h.mu.Unlock()
		}
	}
}

// ended counts the deliveries that end dead.
func (d *Dispatcher) ended(r queue.Result) {
	if r.State == queue.Done {
		return
	}
	h := d.byTask[r.Name]
	if h == nil {
		return
	}
	d.log.Warn("webhook: delivery is a dead letter", "hook", h.Name, "url", h.URL, "id", r.ID, "attempts", r.Attempts, "err", r.Error)
	h.mu.Lock()
	h.status.Dead++
	d.metrics.add(h.Name, outcomeDead)
	h.mu.Unlock()
}

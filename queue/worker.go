package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Start starts the queue's workers: they fetch tasks from NATS, up to
// QueueConfig.Workers at a time, and run their handlers. The handlers'
// contexts carry ctx's values, not its cancellation: Stop ends them. A
// queue starts once: ErrStarted, or ErrStopped after Stop.
func (q *Queue) Start(ctx context.Context) error {
	// The lease is the consumer's, which the last process to open the
	// queue set: renew it at the pace it needs.
	if q.e.isClosed() {
		return ErrClosed
	}
	info, err := q.cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("queue %s: start: %w", q.name, err)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch q.run {
	case runStarted:
		return ErrStarted
	case runStopped:
		return ErrStopped
	}
	q.run = runStarted
	if lease := info.Config.AckWait; lease > 0 {
		q.heartbeat = lease / 3
	}
	q.runCtx, q.cancelRun = context.WithCancelCause(context.WithoutCancel(ctx))
	var fetchCtx context.Context
	fetchCtx, q.cancelFetch = context.WithCancel(context.Background())
	q.workers.Go(func() { q.dispatch(fetchCtx) })
	return nil
}

// errStopping is the cause of the handlers' contexts ending in Stop.
var errStopping = errors.New("queue: stopping")

// Stop stops fetching tasks and waits until the tasks in progress have
// ended, or until ctx ends: the handlers' contexts then end, and their
// tasks go back to the queue at once (these attempts do not count), and
// Stop returns ctx's error without waiting for the handlers to return.
// A handler that ignores its context goes on in its goroutine; whatever
// it returns is dropped. Stop also works on a queue never started, and
// calling it again waits for the first call to end.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	switch {
	case q.run == runStopped:
		q.mu.Unlock()
		select {
		case <-q.stopped:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case q.run == runNew:
		q.run = runStopped
		close(q.stopped)
		q.mu.Unlock()
		return nil
	}
	q.run = runStopped
	q.mu.Unlock()
	q.cancelFetch()

	idle := make(chan struct{})
	go func() {
		q.workers.Wait()
		close(idle)
	}()
	var err error
	select {
	case <-idle:
	case <-ctx.Done():
		err = ctx.Err()
		q.cancelRun(errStopping)
		close(q.abandon)
		<-idle
	}
	q.cancelRun(nil)
	close(q.stopped)
	return err
}

// Stopped returns a channel closed once Stop has ended.
func (q *Queue) Stopped() <-chan struct{} { return q.stopped }

// dispatch fetches tasks while workers are free, one goroutine per task,
// until ctx ends. Fetching only for free workers keeps tasks from waiting
// in this process, their leases running, while others could run them.
func (q *Queue) dispatch(ctx context.Context) {
	free := make(chan struct{}, q.cfg.Workers)
	for range q.cfg.Workers {
		free <- struct{}{}
	}
	var pause time.Duration // after a failed fetch
	for {
		select {
		case <-free:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < q.cfg.Workers {
			select {
			case <-free:
				n++
			default:
				break more
			}
		}
		if !q.waitResumed(ctx) {
			return
		}
		// The pull request ends when ctx does; the server skips a
		// request whose client has left, so no task is lost in it.
		batch, err := q.cons.Fetch(n, jetstream.FetchContext(ctx))
		got := 0
		if err == nil {
			for m := range batch.Messages() {
				got++
				if ctx.Err() != nil || q.Paused() {
					_ = m.Nak() // stopping or paused: a worker will take it
					free <- struct{}{}
					continue
				}
				q.workers.Go(func() {
					defer func() { free <- struct{}{} }()
					q.process(m)
				})
			}
			err = batch.Error()
		}
		for ; got < n; got++ {
			free <- struct{}{}
		}
		if err == nil || ctx.Err() != nil {
			pause = 0
			continue
		}
		pause = min(max(2*pause, 100*time.Millisecond), 5*time.Second)
		q.log.Warn("queue: fetch failed", "err", err, "retry_in", pause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return
		}
	}
}

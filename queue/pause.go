package queue

import (
	"context"
	"sync"
	"sync/atomic"
)

// pauseState is a queue's pause switch for this process (Pause).
type pauseState struct {
	mu sync.Mutex
	// resumed is nil while running; while paused, a channel closed by
	// Resume, on which the dispatcher waits.
	resumed chan struct{}
	// cancelFetch ends the dispatcher's pull request in flight, so that
	// a pause takes effect at once; nil between fetches.
	cancelFetch context.CancelFunc
	// processed counts the attempts that ended here (Processed).
	processed atomic.Uint64
}

// Pause stops this process's workers from taking tasks of the queue:
// those running finish, the others wait in the queue for Resume or for
// another process. Nothing is lost, and enqueuing goes on. Pausing a
// paused queue does nothing.
func (q *Queue) Pause() {
	p := &q.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resumed != nil {
		return
	}
	p.resumed = make(chan struct{})
	if p.cancelFetch != nil {
		// The server skips a pull request whose client has left: no task
		// is lost in it.
		p.cancelFetch()
	}
	q.log.Info("queue: paused", "queue", q.name)
}

// Resume lets this process's workers take tasks again after Pause.
func (q *Queue) Resume() {
	p := &q.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resumed == nil {
		return
	}
	close(p.resumed)
	p.resumed = nil
	q.log.Info("queue: resumed", "queue", q.name)
}

// Paused reports whether Pause holds the queue's workers here.
func (q *Queue) Paused() bool {
	q.pause.mu.Lock()
	defer q.pause.mu.Unlock()
	return q.pause.resumed != nil
}

// Processed counts the attempts that ended in this process since the
// queue was opened, whatever their outcome: dashboards derive a rate
// from it.
func (q *Queue) Processed() uint64 { return q.pause.processed.Load() }

// fetchContext waits while the queue is paused, then returns the context
// of the next pull request, which Pause cancels; ok is false once ctx has
// ended.
func (q *Queue) fetchContext(ctx context.Context) (fctx context.Context, done func(), ok bool) {
	p := &q.pause
	for {
		p.mu.Lock()
		resumed := p.resumed
		if resumed == nil {
			fctx, cancel := context.WithCancel(ctx)
			p.cancelFetch = cancel
			p.mu.Unlock()
			return fctx, func() {
				p.mu.Lock()
				p.cancelFetch = nil
				p.mu.Unlock()
				cancel()
			}, true
		}
		p.mu.Unlock()
		select {
		case <-resumed:
		case <-ctx.Done():
			return nil, nil, false
		}
	}
}

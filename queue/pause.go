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
	// processed counts the attempts that ended here (Processed).
	processed atomic.Uint64
}

// Pause stops this process's workers from taking tasks of the queue:
// those running finish, the others wait in the queue for Resume or for
// another process. A task that the pull request in flight brings during
// the pause is given back at once (it does not count as an attempt).
// Nothing is lost, and enqueuing goes on. Pausing a paused queue does
// nothing.
func (q *Queue) Pause() {
	p := &q.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.resumed != nil {
		return
	}
	p.resumed = make(chan struct{})
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

// waitResumed waits while the queue is paused, and reports false if ctx
// ends first. A pull request in flight is not cut short: the server
// would go on handing it tasks, which would wait out their lease.
func (q *Queue) waitResumed(ctx context.Context) bool {
	q.pause.mu.Lock()
	resumed := q.pause.resumed
	q.pause.mu.Unlock()
	if resumed == nil {
		return true
	}
	select {
	case <-resumed:
		return true
	case <-ctx.Done():
		return false
	}
}

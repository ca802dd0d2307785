package transport

import (
	"sync"

	"github.com/junction-run/junction/wamp"
)

// item is one queued outbound message: either a message of its own or a
// shared one.
type item struct {
	msg    wamp.Message
	shared *Shared
}

func (it item) message() wamp.Message {
	if it.shared != nil {
		return it.shared.Msg
	}
	return it.msg
}

// queue is a bounded multi-producer, single-consumer message queue. The
// consumer swaps the whole backlog out in one step, so that its writer can
// coalesce everything queued into a single write.
type queue struct {
	mu     sync.Mutex
	items  []item
	max    int
	closed bool
	ready  chan struct{} // has a token while items is non-empty or closed
}

func newQueue(max int) *queue {
	return &queue{max: max, ready: make(chan struct{}, 1)}
}

// push adds it; it fails with ErrClosed or, when full, ErrSlowConsumer
// (and the queue is then closed).
func (q *queue) push(it item) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if len(q.items) >= q.max {
		q.closed = true
		q.items = nil
		q.mu.Unlock()
		q.signal()
		return ErrSlowConsumer
	}
	q.items = append(q.items, it)
	first := len(q.items) == 1
	q.mu.Unlock()
	if first {
		q.signal()
	}
	return nil
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns everything queued, handing spare (emptied) back for reuse,
// and whether the queue is closed.
func (q *queue) take(spare []item) ([]item, bool) {
	q.mu.Lock()
	items := q.items
	q.items = spare[:0]
	closed := q.closed
	q.mu.Unlock()
	return items, closed
}

// close stops further pushes; what is queued stays for a final take.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// empty reports whether nothing is queued.
func (q *queue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) == 0
}

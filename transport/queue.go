package transport

import (
	"sync"
	"sync/atomic"

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
	free   []item // a spare array for items, handed back by recycle
	max    int
	closed bool
	// n is len(items), for Backlog to read without the lock.
	n atomic.Int64
	// drained are closed when the consumer next takes the backlog, or
	// the queue closes (see Backlogger.Drained).
	drained []chan struct{}
	// ready has a token while items is non-empty or the queue is closed,
	// for a consumer that blocks on it; nil for one that is started on
	// demand instead (a WebSocket writer), which saves it per connection.
	ready chan struct{}
}

// newQueue returns a queue of at most max items; blocking gives it the
// ready channel.
func newQueue(max int, blocking bool) *queue {
	q := &queue{max: max}
	if blocking {
		q.ready = make(chan struct{}, 1)
	}
	return q
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
	q.n.Store(int64(len(q.items)))
	first := len(q.items) == 1
	q.mu.Unlock()
	if first {
		q.signal()
	}
	return nil
}

func (q *queue) signal() {
	if q.ready == nil {
		return
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns everything queued and whether the queue is closed. The
// caller owns the returned slice until it hands it back with recycle;
// the queue fills a spare array meanwhile, so that the two never alias.
func (q *queue) take() ([]item, bool) {
	q.mu.Lock()
	items := q.items
	q.items, q.free = q.free, nil
	q.n.Store(0)
	closed := q.closed
	waiters := q.takeDrained()
	q.mu.Unlock()
	closeAll(waiters)
	return items, closed
}

// recycle hands back a slice returned by take, for reuse unless it grew
// large.
func (q *queue) recycle(items []item) {
	clear(items)
	if cap(items) == 0 || cap(items) > 1024 {
		return
	}
	q.mu.Lock()
	if q.free == nil {
		q.free = items[:0]
	}
	q.mu.Unlock()
}

// close stops further pushes; what is queued stays for a final take.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	waiters := q.takeDrained()
	q.mu.Unlock()
	closeAll(waiters)
	q.signal()
}

// takeDrained hands over the Drained waiters, to be closed once q.mu is
// released. q.mu must be held.
func (q *queue) takeDrained() []chan struct{} {
	w := q.drained
	q.drained = nil
	return w
}

func closeAll(chs []chan struct{}) {
	for _, ch := range chs {
		close(ch)
	}
}

// backlog returns how many items wait, and the bound.
func (q *queue) backlog() (int, int) { return int(q.n.Load()), q.max }

// drainedTo returns a channel closed once at most n items wait: at the
// consumer's next take (which empties the queue), or when it closes.
func (q *queue) drainedTo(n int) <-chan struct{} {
	ch := make(chan struct{})
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) <= n || q.closed {
		close(ch)
		return ch
	}
	q.drained = append(q.drained, ch)
	return ch
}

// pending reports whether the consumer has something to take: items, or
// the news that the queue is closed.
func (q *queue) pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 || q.closed
}

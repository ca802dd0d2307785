package transport

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/junction-run/junction/wamp"
)

// A Batch lets one connection's reader write what it routes to other
// connections itself, once per read instead of once per message, as a
// NATS server flushes its pending clients after each read of a client's
// socket. Without it, the first message queued to an idle connection
// starts a writer goroutine, and on a machine with an idle core that
// costs a thread wake-up (a futex call and a context switch) for every
// burst; a reader that queues thirty INVOCATIONs to one callee out of one
// read of its socket then writes them with one non-blocking write, on its
// own goroutine, before it reads again.
//
// A connection's Batch belongs to its reading goroutine: messages are
// queued through it (Send) only while routing what that goroutine read,
// and the connection flushes it before each read of its socket. Code that
// may block while routing calls Flush first, so that nothing queued waits
// on that wait. Deferring is only ever a delay: a message sent through a
// Batch is in the target's queue at once, and any writer that runs
// meanwhile (started by a send from elsewhere) writes it.
//
// Its methods may be called on a nil *Batch, which defers nothing.
type Batch struct {
	conns []*streamConn
}

// batchMax bounds the connections one read's flush writes itself; beyond
// them writers start at once, as without a Batch, and the cores share the
// writing.
const batchMax = 8

// Batcher is implemented by the peers that read in batches (this
// package's WebSocket and RawSocket peers).
type Batcher interface {
	// Batch returns the batch that the peer's reader flushes before each
	// read of its socket.
	Batch() *Batch
}

// Batch implements Batcher. Only the reading goroutine may call it.
func (s *streamConn) Batch() *Batch {
	if s.batch == nil {
		s.batch = new(Batch)
		s.br.batch = s.batch
	}
	return s.batch
}

// batchable is implemented by the peers whose sends a Batch can defer.
type batchable interface {
	sendVia(b *Batch, m wamp.Message) error
}

// Send queues m to p as p.Send does, deferring the writing to b's flush
// where p is a connection that can be written without blocking.
func (b *Batch) Send(p Peer, m wamp.Message) error {
	if bp, ok := p.(batchable); ok && b != nil {
		return bp.sendVia(b, m)
	}
	return p.Send(m)
}

// add takes s, which was just queued to, into the next flush, and reports
// whether it did; if not, the caller starts its writer.
func (b *Batch) add(s *streamConn) bool {
	if b == nil || s.br.raw == nil {
		return false
	}
	if s.writing.Load() {
		// A writer runs: it takes what was queued before it stops (see
		// writeLoop), so there is nothing to flush.
		return true
	}
	for _, c := range b.conns {
		if c == s {
			return true
		}
	}
	if len(b.conns) == batchMax {
		return false
	}
	b.conns = append(b.conns, s)
	return true
}

// Pending reports whether a flush has anything to write.
func (b *Batch) Pending() bool { return b != nil && len(b.conns) > 0 }

// Flush writes what was queued through b to each connection that no
// writer is writing already, without blocking: what a socket does not take
// at once is left to a writer goroutine.
func (b *Batch) Flush() {
	if b == nil {
		return
	}
	for i, s := range b.conns {
		b.conns[i] = nil
		s.flushInline()
	}
	b.conns = b.conns[:0]
}

// sendVia implements batchable.
func (s *streamConn) sendVia(b *Batch, m wamp.Message) error {
	return s.enqueue(b, item{msg: m})
}

// flushInline writes the queue from the calling goroutine if no writer
// runs, as writeLoop would but without blocking.
func (s *streamConn) flushInline() {
	if !s.writing.CompareAndSwap(false, true) {
		return // a writer runs, and writes what is queued
	}
	if _, held := s.writeOnce(); held && s.release() {
		go s.writer()
	}
}

// writeOnce writes what is queued without blocking, the caller holding
// s.writing. It reports whether it wrote anything, and whether the
// caller still holds the writing: it does not once the rest of a write
// the socket refused, a close frame or a closed queue's end is handed to
// a writer goroutine, or the write failed and the connection ended.
func (s *streamConn) writeOnce() (wrote, held bool) {
	items, closed := s.q.take()
	if len(items) == 0 {
		s.q.recycle(items)
		if closed {
			// A closed queue's writer reports it flushed.
			go s.writer()
			return false, false
		}
		return false, true
	}
	buf, last := s.frameAll(items)
	n, err := s.tryWrite(buf.Bytes())
	if err != nil {
		putWriteBuf(buf)
		s.endWrites()
		return true, false
	}
	if n < buf.Len() || last || closed {
		// The socket's buffer is full, or what follows needs a writer's
		// ending: hand the rest over.
		buf.Next(n)
		s.carry = &carry{buf: buf, last: last}
		go s.writer()
		return true, false
	}
	putWriteBuf(buf)
	return true, true
}

// tryWrite writes as much of p as the socket takes without waiting.
func (s *streamConn) tryWrite(p []byte) (int, error) {
	w := rawWriters.Get().(*rawWriter)
	w.p, w.n, w.err = p, 0, nil
	err := s.br.raw.Write(w.fn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The deadline of the last writer's write, long past: nobody
		// waits on it, and this write does not wait at all.
		s.conn.SetWriteDeadline(time.Time{})
		err = s.br.raw.Write(w.fn)
	}
	n, werr := w.n, w.err
	w.p, w.err = nil, nil
	rawWriters.Put(w)
	if err != nil {
		return n, err
	}
	if werr != nil {
		return n, os.NewSyscallError("write", werr)
	}
	return n, nil
}

// rawWriter is a non-blocking write in progress. Pooled, with its
// callback made once, rather than held by every connection (most are
// idle) or made per write (a closure allocates).
type rawWriter struct {
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool // w.write
}

var rawWriters = sync.Pool{New: func() any {
	w := new(rawWriter)
	w.fn = w.write
	return w
}}

// write is the RawConn callback: it writes what the socket takes and
// never asks to wait.
func (w *rawWriter) write(fd uintptr) bool {
	for w.n < len(w.p) {
		n, err := writeNonblock(int(fd), w.p[w.n:])
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			w.err = err
			break
		}
		w.n += n
	}
	return true
}

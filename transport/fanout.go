package transport

import (
	"runtime"
	"slices"
	"sync"
)

// A Fanout starts the writing of one message delivered to many
// connections (an event and its subscribers) in a few goroutines rather
// than one a connection. Without it, each idle subscriber's queue starts
// a writer goroutine of its own: at 100 subscribers and a light load,
// 100 goroutines are started, scheduled, yielded and ended for each
// event. With it, the connections whose writers would start are split
// into chunks of up to fanoutChunk, and one goroutine a chunk writes
// each of its connections without blocking (see writeChunk), so the
// cores still share the writing. Measured at 100 subscribers and 200
// events/s on 2 cores: a tenth less router CPU per event; under a flood
// of events, the same as a writer a connection.
//
// Deferring is only a delay, until Flush: a message sent through a
// Fanout is in the target's queue at once, and any writer that runs
// meanwhile writes it. A Fanout belongs to one goroutine, from NewFanout
// to Flush. Its methods may be called on a nil *Fanout, which defers
// nothing.
type Fanout struct {
	conns []*streamConn
}

var fanouts = sync.Pool{New: func() any { return new(Fanout) }}

// NewFanout returns an empty Fanout. Flush gives it back.
func NewFanout() *Fanout { return fanouts.Get().(*Fanout) }

// fanoutChunk is the most connections one goroutine of a Flush writes.
// Writing a connection costs a few microseconds (a loopback write, most
// of it in the kernel): a chunk is done in about a tenth of a
// millisecond, and a hundred subscribers still spread over every core.
// Measured at 100 subscribers and 200 events/s on 2 cores, chunks of 8,
// 16, 32 and 50 saved about as much router CPU as each other; 32 starts
// the fewest goroutines of those that still give every core a share.
const fanoutChunk = 32

// fanoutAlone: up to this many connections, each gets its writer as
// without a Fanout: a chunk's goroutine would save nothing.
const fanoutAlone = 2

// sharedSender is implemented by the peers whose SendShared a Fanout can
// defer.
type sharedSender interface {
	sendSharedVia(f *Fanout, sh *Shared) error
}

// SendShared queues sh to p as p.SendShared does, leaving the start of
// p's writing to f's Flush where p is a connection that can be written
// without blocking.
func (f *Fanout) SendShared(p Peer, sh *Shared) error {
	if sp, ok := p.(sharedSender); ok && f != nil {
		return sp.sendSharedVia(f, sh)
	}
	return p.SendShared(sh)
}

// add takes s, which was just queued to, into the Flush, and reports
// whether it did; if not, the caller starts its writer.
func (f *Fanout) add(s *streamConn) bool {
	if f == nil || s.br.raw == nil {
		return false
	}
	if s.writing.Load() {
		// A writer runs, or a flush: it takes what was queued before it
		// stops (see release).
		return true
	}
	f.conns = append(f.conns, s)
	return true
}

// Flush starts the writing of every connection sent to, and gives f
// back: f must not be used after.
func (f *Fanout) Flush() {
	if f == nil {
		return
	}
	conns := f.conns
	if len(conns) <= fanoutAlone {
		for _, s := range conns {
			s.kick()
		}
	} else {
		// As few chunks as fanoutChunk allows, of even sizes, cut from
		// one copy (f goes back to the pool): an allocation per event,
		// not per chunk. Each chunk is capped at its end, as writeChunk
		// filters it in place.
		all := slices.Clone(conns)
		chunks := (len(all) + fanoutChunk - 1) / fanoutChunk
		size := (len(all) + chunks - 1) / chunks
		for len(all) > 0 {
			n := min(len(all), size)
			startChunk(all[:n:n])
			all = all[n:]
		}
	}
	clear(f.conns)
	f.conns = f.conns[:0]
	fanouts.Put(f)
}

// startChunk starts the writing of one chunk of a Flush. Tests watch it.
var startChunk = func(conns []*streamConn) { go writeChunk(conns) }

// writeChunk is the writer of a chunk's connections, those that no
// writer is writing already: it writes each without blocking, and goes
// round again while any had something, as writeLoop does for one
// connection (and, as it does, lets the producers run once before it
// gives up). Until then, what else is queued to them is left to it. A
// connection whose socket does not take a write at once gets a writer
// goroutine of its own for the rest.
func writeChunk(conns []*streamConn) {
	held := conns[:0]
	for _, s := range conns {
		if s.writing.CompareAndSwap(false, true) {
			held = append(held, s)
		}
	}
	lingered := false
	for len(held) > 0 {
		wrote := false
		kept := held[:0]
		for _, s := range held {
			w, h := s.writeOnce()
			wrote = wrote || w
			if h {
				kept = append(kept, s)
			}
		}
		held = kept
		if wrote {
			lingered = false
			continue
		}
		if lingered {
			break
		}
		lingered = true
		runtime.Gosched()
	}
	for _, s := range held {
		if s.release() {
			go s.writer()
		}
	}
}

// sendSharedVia implements sharedSender.
func (s *streamConn) sendSharedVia(f *Fanout, sh *Shared) error {
	return s.enqueue(f, item{shared: sh})
}

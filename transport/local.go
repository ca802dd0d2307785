package transport

import (
	"errors"
	"sync"

	"github.com/junction-run/junction/wamp"
)

// Pipe returns the two ends of an in-process connection, for an app that
// embeds the router. Messages cross it as Go values: nothing is encoded.
// Each end's inbound queue is bounded by cfg.OutboundQueue like any other
// peer's.
func Pipe(cfg Config) (Peer, Peer) {
	cfg = cfg.withDefaults()
	done := make(chan struct{})
	p := &pipeShared{done: done}
	a := &localPeer{in: newQueue(cfg.OutboundQueue, true), shared: p}
	b := &localPeer{in: newQueue(cfg.OutboundQueue, true), shared: p}
	a.other, b.other = b, a
	return a, b
}

type pipeShared struct {
	once sync.Once
	done chan struct{}
}

type localPeer struct {
	in     *queue
	batch  []item // the last backlog taken from in, read from next on
	next   int
	other  *localPeer
	shared *pipeShared
}

func (p *localPeer) Info() Info            { return Info{Transport: "local", RemoteAddr: "in-process"} }
func (p *localPeer) Done() <-chan struct{} { return p.shared.done }

func (p *localPeer) Send(m wamp.Message) error { return p.deliver(item{msg: m}) }

// Backlog implements Backlogger: what waits for the other end to read.
func (p *localPeer) Backlog() (int, int) { return p.other.in.backlog() }

// Drained implements Backlogger.
func (p *localPeer) Drained(n int) <-chan struct{} { return p.other.in.drainedTo(n) }

func (p *localPeer) SendShared(s *Shared) error { return p.deliver(item{shared: s}) }

func (p *localPeer) deliver(it item) error {
	err := p.other.in.push(it)
	if errors.Is(err, ErrSlowConsumer) {
		p.Close()
	}
	return err
}

// Read returns messages in the order they were sent; after Close it
// returns what was already sent, then ErrClosed.
func (p *localPeer) Read() (wamp.Message, error) {
	for {
		if p.next < len(p.batch) {
			it := p.batch[p.next]
			p.batch[p.next] = item{}
			p.next++
			return it.message(), nil
		}
		if p.batch != nil {
			// Handed back, the array takes the next backlog: no
			// allocation per batch.
			p.in.recycle(p.batch)
			p.batch, p.next = nil, 0
		}
		items, closed := p.in.take()
		if len(items) > 0 {
			p.batch = items
			continue
		}
		if closed {
			return nil, ErrClosed
		}
		<-p.in.ready
	}
}

// Close closes both ends.
func (p *localPeer) Close() error {
	p.shared.once.Do(func() {
		close(p.shared.done)
		p.in.close()
		p.other.in.close()
	})
	return nil
}

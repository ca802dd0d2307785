package transport

import (
	"errors"
	"sync/atomic"
	"time"
)

// ErrParked is what Read returns, instead of a message, once a peer that
// was told to park (Parker) has let its reading goroutine go. The caller
// returns without touching the peer; the resume function it gave calls
// Read again, from a new goroutine, when there is something to read.
var ErrParked = errors.New("transport: parked while idle")

// Parker is implemented by peers that can wait for input without a
// goroutine. Thousands of quiet connections each holding a goroutine
// blocked in a read cost a goroutine stack apiece (4 KiB at the least);
// a parked connection waits in a poller of the package's instead (epoll
// on Linux), and costs a few hundred bytes.
type Parker interface {
	// ParkWhenIdle lets Read return ErrParked once the connection has
	// been quiet for Config.ParkAfter. After each park, resume is called
	// once, on a goroutine of its own (it may run the reading loop
	// there): when input arrives, when a keep-alive ping is due, or when
	// the connection is closed. It reports whether the peer can park at all:
	// not over TLS, whose records crypto/tls may hold decrypted, not
	// where the poller is missing (other systems than Linux), nor when
	// ParkAfter is negative. Call it from the reading goroutine, before
	// the Read that may park.
	ParkWhenIdle(resume func()) bool
}

// Park states.
const (
	running int32 = iota // a goroutine reads, or will
	parked               // nobody reads: the poller or a timer will resume
)

// parking is a parkable connection's state, set up by ParkWhenIdle.
// Its fields are written before the first park, or (registered, timer)
// by the parking goroutine before it publishes the parked state, and
// only read by the goroutines that wake it.
type parking struct {
	state      atomic.Int32
	token      uint32      // the poller's key for it
	registered bool        // the fd is in the poller's set
	timer      *time.Timer // resumes the reader when a ping is due
	ping       atomic.Bool // set when timer resumed the reader: send the ping
	resume     func()
}

// ParkWhenIdle implements Parker.
func (s *streamConn) ParkWhenIdle(resume func()) bool {
	if s.cfg.ParkAfter <= 0 || s.br.raw == nil || !pollerSupported {
		return false
	}
	pk := &parking{resume: resume}
	if pk.token = thePoller.add(pk); pk.token == 0 {
		return false
	}
	s.pk.Store(pk)
	select {
	case <-s.done: // aborted meanwhile, perhaps before s.pk was set
		thePoller.forget(pk)
		s.pk.Store(nil)
		return false
	default:
	}
	return true
}

// canPark reports whether the reader may park rather than wait wait. A
// parked reader is woken by the poller or the ping timer: with pings off
// and a read timeout, nothing would end a silent connection, so it waits
// itself.
func (s *streamConn) canPark(wait time.Duration) bool {
	if s.pk.Load() == nil {
		return false
	}
	if s.cfg.PingInterval <= 0 {
		return s.cfg.ReadTimeout <= 0
	}
	return s.cfg.ParkAfter < wait
}

// park lets the reading goroutine go; it reports false if the connection
// could not be handed to the poller, and the reader then goes on waiting
// itself. pingIn is how long until a ping is due, 0 for never. Once the
// state says parked another goroutine may be reading: what follows only
// arms the timer and the poller.
func (s *streamConn) park(pingIn time.Duration) bool {
	pk := s.pk.Load()
	if !pk.registered {
		if s.epollCtl(pk, thePoller.register) != nil {
			return false
		}
		pk.registered = true
	}
	if pk.timer == nil {
		pk.timer = time.AfterFunc(time.Hour, pk.pingDue)
		pk.timer.Stop()
	}
	pk.state.Store(parked)
	if pingIn > 0 {
		pk.timer.Reset(pingIn)
	}
	select {
	case <-s.done:
		// Aborted while parking: abort may have looked before the
		// state was set, and woken nobody.
		pk.wake()
		return true
	default:
	}
	if s.epollCtl(pk, thePoller.arm) != nil {
		// The reader goes on waiting itself, if nobody resumed it yet.
		return !pk.state.CompareAndSwap(parked, running)
	}
	return true
}

// epollCtl runs op on the connection's fd, which stays open meanwhile
// (a closed fd's number could be another connection's by now).
func (s *streamConn) epollCtl(pk *parking, op func(pk *parking, fd int) error) error {
	var err error
	if cerr := s.br.raw.Control(func(fd uintptr) { err = op(pk, int(fd)) }); cerr != nil {
		return cerr
	}
	return err
}

// wake resumes the reader if it is parked; it reports whether it did.
func (pk *parking) wake() bool {
	if !pk.state.CompareAndSwap(parked, running) {
		return false
	}
	pk.timer.Stop()
	go pk.resume()
	return true
}

// pingDue is the timer's: the reader resumes to send a ping and wait for
// the answer as usual.
func (pk *parking) pingDue() {
	pk.ping.Store(true)
	if !pk.wake() {
		pk.ping.Store(false)
	}
}

// unpark runs once the connection is aborted: a parked reader resumes to
// find it closed and end the session.
func (s *streamConn) unpark() {
	if pk := s.pk.Load(); pk != nil {
		thePoller.forget(pk)
		pk.wake()
	}
}

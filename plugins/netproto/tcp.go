package netproto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves one TCP connection: it reads from c until it is done
// or a read fails, and returns. The server then flushes what the handler
// queued and closes c. ctx ends when the server stops. An error other
// than io.EOF, ErrClosed and ErrServerClosed is logged.
type Handler interface {
	ServeConn(ctx context.Context, c *Conn) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn) error

// ServeConn calls f(ctx, c).
func (f HandlerFunc) ServeConn(ctx context.Context, c *Conn) error { return f(ctx, c) }

// TCPServer serves a Handler on TCP connections. Set its fields, then
// Start it; Stop stops it. It must not be copied after Start.
type TCPServer struct {
	// Config bounds the server; read at Start.
	Config Config
	// Handler serves each connection.
	Handler Handler
	// Framing is the framing of Conn.ReadFrame and Conn.WriteFrame.
	// Default Lines.
	Framing Framing
	// Logger receives handler errors and panics. Default: none.
	Logger *slog.Logger
	// BaseContext, if set, returns the context the handlers' contexts
	// derive from. Default context.Background.
	BaseContext func() context.Context

	mu      sync.Mutex
	ln      net.Listener
	conns   map[*Conn]struct{}
	cancel  context.CancelFunc
	state   int // 0 new, 1 running, 2 stopping
	stopped chan struct{}
	wg      sync.WaitGroup // the accept loop and the connections
	stats   stats
}

// Start listens on Config.Listen and serves connections in the
// background. It fails if the address cannot be listened on, if the
// Config or Handler is bad, or if the server was started before.
func (s *TCPServer) Start(ctx context.Context) error {
	if err := s.Config.Validate(); err != nil {
		return err
	}
	if s.Handler == nil {
		return errors.New("netproto: no handler")
	}
	cfg := s.Config.withDefaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return errors.New("netproto: the server was already started")
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("netproto: listen: %w", err)
	}
	base := context.Background()
	if s.BaseContext != nil {
		base = s.BaseContext()
	}
	hctx, cancel := context.WithCancel(base)
	s.ln, s.cancel, s.state = ln, cancel, 1
	s.conns = make(map[*Conn]struct{})
	s.stopped = make(chan struct{})
	s.wg.Go(func() { s.accept(hctx, cfg) })
	return nil
}

// Addr returns the address the server listens on, nil before Start.
func (s *TCPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *TCPServer) framing() Framing {
	if s.Framing == nil {
		return Lines
	}
	return s.Framing
}

func (s *TCPServer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// accept accepts connections until the listener closes.
func (s *TCPServer) accept(ctx context.Context, cfg Config) {
	var delay time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, as
			// net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger().Warn("netproto: accept failed; retrying", "err", err, "in", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		delay = 0
		c := newConn(s, nc, cfg)
		s.mu.Lock()
		if s.state != 1 || len(s.conns) >= cfg.MaxConnections {
			s.mu.Unlock()
			s.stats.refused.Add(1)
			nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.stats.accepted.Add(1)
		s.wg.Add(2)
		s.mu.Unlock()
		go func() { defer s.wg.Done(); c.writeLoop() }()
		go func() { defer s.wg.Done(); s.serve(ctx, c) }()
	}
}

// serve runs the handler on c, then flushes and closes it.
func (s *TCPServer) serve(ctx context.Context, c *Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	err := s.handle(ctx, c)
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, ErrClosed), errors.Is(err, ErrServerClosed):
	case errors.Is(err, ErrFrameTooLarge), errors.Is(err, ErrMalformedFrame), errors.Is(err, ErrReadTimeout), errors.Is(err, ErrSlowConsumer):
		s.logger().Info("netproto: connection closed", "remote", c.RemoteAddr().String(), "err", err)
	default:
		s.logger().Warn("netproto: handler failed", "remote", c.RemoteAddr().String(), "err", err)
	}
}

// handle runs the handler, turning a panic into an error.
func (s *TCPServer) handle(ctx context.Context, c *Conn) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger().Error("netproto: handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("netproto: handler panicked: %v", r)
		}
	}()
	return s.Handler.ServeConn(ctx, c)
}

// Stop stops the server: it stops accepting, ends the handlers'
// contexts and interrupts their reads (which return ErrServerClosed),
// and waits for them to return and for their queued bytes to be
// written. When ctx ends first, it closes the remaining connections at
// once and returns ctx's error once their goroutines are gone. Calling
// it again, or before Start, does nothing.
func (s *TCPServer) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state != 1 {
		s.mu.Unlock()
		return nil
	}
	s.state = 2
	s.ln.Close()
	s.cancel()
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.interrupt()
	}
	defer close(s.stopped)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	<-done
	return fmt.Errorf("netproto: stop: connections closed before their handlers returned: %w", ctx.Err())
}

// Stopped is closed once Stop has returned; nil before Start.
func (s *TCPServer) Stopped() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// Stats are a server's counters since Start.
type Stats struct {
	Open          int    // connections open now
	Accepted      uint64 // connections served
	Refused       uint64 // connections closed at once: over MaxConnections
	SlowConsumers uint64 // connections closed for their write queue or write deadline
	Malformed     uint64 // frames too large or malformed (TCP), datagrams too large (UDP)
	ReadTimeouts  uint64 // connections that sent nothing for ReadTimeout
	PeakBuffered  int    // the most bytes ever queued for one connection
	Dropped       uint64 // UDP: datagrams dropped over MaxInFlight
}

type stats struct {
	accepted, refused, slowConsumers, malformed, readTimeouts, dropped atomic.Uint64
	peak                                                               atomic.Int64
}

func (st *stats) notePeak(n int) {
	for {
		p := st.peak.Load()
		if int64(n) <= p || st.peak.CompareAndSwap(p, int64(n)) {
			return
		}
	}
}

func (st *stats) snapshot() Stats {
	return Stats{
		Accepted:      st.accepted.Load(),
		Refused:       st.refused.Load(),
		SlowConsumers: st.slowConsumers.Load(),
		Malformed:     st.malformed.Load(),
		ReadTimeouts:  st.readTimeouts.Load(),
		PeakBuffered:  int(st.peak.Load()),
		Dropped:       st.dropped.Load(),
	}
}

// Stats returns the server's counters.
func (s *TCPServer) Stats() Stats {
	st := s.stats.snapshot()
	s.mu.Lock()
	st.Open = len(s.conns)
	s.mu.Unlock()
	return st
}

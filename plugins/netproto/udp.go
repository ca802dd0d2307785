package netproto

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"
)

// PacketHandler serves one UDP datagram. ctx ends when the server stops.
// An error is logged.
type PacketHandler interface {
	ServePacket(ctx context.Context, p *Packet) error
}

// PacketHandlerFunc adapts a function to PacketHandler.
type PacketHandlerFunc func(ctx context.Context, p *Packet) error

// ServePacket calls f(ctx, p).
func (f PacketHandlerFunc) ServePacket(ctx context.Context, p *Packet) error { return f(ctx, p) }

// Packet is a datagram received by a UDPServer.
type Packet struct {
	// Data is the datagram, the handler's to keep.
	Data []byte
	// Addr is the sender's address.
	Addr net.Addr

	srv *UDPServer
}

// Reply sends b to the packet's sender from the server's address.
func (p *Packet) Reply(b []byte) error {
	if len(b) > p.srv.cfg.MaxDatagram {
		return fmt.Errorf("%w: a reply of %d bytes, over %d", ErrFrameTooLarge, len(b), p.srv.cfg.MaxDatagram)
	}
	_, err := p.srv.pc.WriteTo(b, p.Addr)
	return err
}

// UDPServer serves a PacketHandler on UDP datagrams, each handled on a
// goroutine of its own, at most UDPConfig.MaxInFlight at once: the read
// loop never waits for a handler, it drops what it cannot handle.
type UDPServer struct {
	// Config bounds the server; read at Start.
	Config UDPConfig
	// Handler serves each datagram.
	Handler PacketHandler
	// Logger receives handler errors and panics. Default: none.
	Logger *slog.Logger
	// BaseContext, if set, returns the context the handlers' contexts
	// derive from. Default context.Background.
	BaseContext func() context.Context

	mu       sync.Mutex
	cfg      UDPConfig
	pc       net.PacketConn
	cancel   context.CancelFunc
	state    int // 0 new, 1 running, 2 stopping
	stopped  chan struct{}
	reading  sync.WaitGroup // the read loop
	handlers sync.WaitGroup
	stats    stats
}

// Start listens on Config.Listen and serves datagrams in the
// background.
func (s *UDPServer) Start(ctx context.Context) error {
	if err := s.Config.Validate(); err != nil {
		return err
	}
	if s.Handler == nil {
		return errors.New("netproto: no handler")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != 0 {
		return errors.New("netproto: the server was already started")
	}
	s.cfg = s.Config.withDefaults()
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("netproto: listen: %w", err)
	}
	base := context.Background()
	if s.BaseContext != nil {
		base = s.BaseContext()
	}
	hctx, cancel := context.WithCancel(base)
	s.pc, s.cancel, s.state = pc, cancel, 1
	s.stopped = make(chan struct{})
	s.reading.Go(func() { s.read(hctx) })
	return nil
}

// Addr returns the address the server listens on, nil before Start.
func (s *UDPServer) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc == nil {
		return nil
	}
	return s.pc.LocalAddr()
}

func (s *UDPServer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// read reads datagrams until Stop.
func (s *UDPServer) read(ctx context.Context) {
	sem := make(chan struct{}, s.cfg.MaxInFlight)
	buf := make([]byte, s.cfg.MaxDatagram+1) // one more byte tells a datagram too large
	for {
		n, addr, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return // Stop
			}
			s.logger().Warn("netproto: udp read failed", "err", err)
			continue
		}
		if n > s.cfg.MaxDatagram {
			s.stats.malformed.Add(1)
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			s.stats.dropped.Add(1)
			continue
		}
		p := &Packet{Data: append([]byte(nil), buf[:n]...), Addr: addr, srv: s}
		s.stats.accepted.Add(1)
		s.handlers.Go(func() {
			defer func() { <-sem }()
			if err := s.handle(ctx, p); err != nil {
				s.logger().Warn("netproto: packet handler failed", "remote", addr.String(), "err", err)
			}
		})
	}
}

func (s *UDPServer) handle(ctx context.Context, p *Packet) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.logger().Error("netproto: packet handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("netproto: handler panicked: %v", r)
		}
	}()
	return s.Handler.ServePacket(ctx, p)
}

// Stop stops reading, ends the handlers' contexts, waits for the
// running handlers (which may still Reply) until ctx ends, then closes
// the socket. Calling it again, or before Start, does nothing.
func (s *UDPServer) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.state != 1 {
		s.mu.Unlock()
		return nil
	}
	s.state = 2
	s.mu.Unlock()
	defer close(s.stopped)
	s.pc.SetReadDeadline(time.Unix(1, 0))
	s.reading.Wait()
	s.cancel()
	done := make(chan struct{})
	go func() { s.handlers.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("netproto: stop: handlers still running: %w", ctx.Err())
	}
	if cerr := s.pc.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("netproto: stop: %w", cerr)
	}
	return err
}

// Stopped is closed once Stop has returned; nil before Start.
func (s *UDPServer) Stopped() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopped
}

// Stats returns the server's counters: Accepted counts datagrams
// handled, Dropped those over MaxInFlight, Malformed those too large.
func (s *UDPServer) Stats() Stats { return s.stats.snapshot() }

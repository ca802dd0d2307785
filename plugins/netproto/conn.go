package netproto

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Conn is a TCP connection served by a TCPServer's handler. Its reads
// (Read, ReadFrame) belong to the handler's goroutine; its writes
// (Write, WriteFrame) may come from any goroutine: they queue bytes that
// the connection's writer goroutine sends in order.
type Conn struct {
	srv *TCPServer
	nc  net.Conn
	br  *bufio.Reader
	cfg Config

	// mu guards what follows; cond wakes the writer.
	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte // queued, not yet taken by the writer
	queued   int    // bytes queued or being written
	closing  bool   // no more writes: the writer flushes and ends
	err      error  // why writes stopped, nil while they work
	stopping bool   // the server is stopping: reads end
	done     chan struct{}
}

func newConn(srv *TCPServer, nc net.Conn, cfg Config) *Conn {
	c := &Conn{srv: srv, nc: nc, br: bufio.NewReaderSize(nc, 4096), cfg: cfg, done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// LocalAddr returns the server's address of the connection.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// Read reads bytes as they come, as net.Conn's Read, within the read
// deadline.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.armRead(); err != nil {
		return 0, err
	}
	n, err := c.br.Read(p)
	return n, c.readErr(err)
}

// ReadFrame reads the next frame with the server's Framing, at most
// Config.MaxFrame bytes. After ErrFrameTooLarge or ErrMalformedFrame the
// stream cannot be trusted: return from the handler.
func (c *Conn) ReadFrame() ([]byte, error) {
	if err := c.armRead(); err != nil {
		return nil, err
	}
	f, err := c.srv.framing().ReadFrame(c.br, c.cfg.MaxFrame)
	if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrMalformedFrame) {
		c.srv.stats.malformed.Add(1)
	}
	return f, c.readErr(err)
}

// armRead sets the read deadline, unless the server is stopping: under
// mu, so that Stop's interruption is never undone.
func (c *Conn) armRead() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return ErrServerClosed
	}
	return c.nc.SetReadDeadline(time.Now().Add(c.cfg.ReadTimeout))
}

// interrupt ends the handler's reads, for Stop.
func (c *Conn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	c.nc.SetReadDeadline(time.Unix(1, 0))
}

// readErr names why a read failed.
func (c *Conn) readErr(err error) error {
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrMalformedFrame) {
		return err
	}
	c.mu.Lock()
	stopping, werr := c.stopping, c.err
	c.mu.Unlock()
	switch {
	case stopping:
		return ErrServerClosed
	case werr != nil:
		return werr // the writer closed the connection: say why
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.srv.stats.readTimeouts.Add(1)
		return ErrReadTimeout
	case errors.Is(err, net.ErrClosed):
		return ErrClosed
	}
	return err
}

// Write queues p for the peer and returns at once. Past
// Config.MaxBuffered bytes queued, the connection is closed and Write
// returns ErrSlowConsumer; after a failed write to the socket it returns
// that failure.
func (c *Conn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.writable(); err != nil {
		return 0, err
	}
	if c.queued+len(p) > c.cfg.MaxBuffered {
		c.failLocked(ErrSlowConsumer)
		return 0, ErrSlowConsumer
	}
	c.buf = append(c.buf, p...)
	c.queued += len(p)
	c.srv.stats.notePeak(c.queued)
	c.cond.Signal()
	return len(p), nil
}

// WriteFrame queues payload framed by the server's Framing; see Write.
func (c *Conn) WriteFrame(payload []byte) error {
	f, err := c.srv.framing().AppendFrame(nil, payload)
	if err != nil {
		return err
	}
	_, err = c.Write(f)
	return err
}

// writable reports why writes are refused, nil if they are not. mu is
// held.
func (c *Conn) writable() error {
	switch {
	case c.err != nil:
		return c.err
	case c.closing:
		return ErrClosed
	}
	return nil
}

// Buffered returns the bytes queued for the peer and not yet written.
func (c *Conn) Buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued
}

// failLocked stops the connection now for err: the queue is dropped and
// the socket closed, which ends the handler's reads and the writer. mu
// is held.
func (c *Conn) failLocked(err error) {
	if c.err == nil {
		c.err = err
		if err == ErrSlowConsumer { // counted once per connection
			c.srv.stats.slowConsumers.Add(1)
		}
	}
	c.closing = true
	c.buf = nil
	c.nc.Close()
	c.cond.Signal()
}

// Close flushes what is queued (each write within Config.WriteTimeout),
// then closes the connection. The server does it when the handler
// returns; calling it again does nothing.
func (c *Conn) Close() error {
	c.mu.Lock()
	c.closing = true
	c.cond.Signal()
	c.mu.Unlock()
	<-c.done
	return c.nc.Close()
}

// abort closes the connection without flushing, for a Stop whose
// context ended.
func (c *Conn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(ErrServerClosed)
}

// writeLoop owns the socket's writes: it takes what is queued and
// writes it, with a deadline, until the connection closes.
func (c *Conn) writeLoop() {
	defer close(c.done)
	var out []byte
	for {
		c.mu.Lock()
		for len(c.buf) == 0 && !c.closing {
			c.cond.Wait()
		}
		if len(c.buf) == 0 || c.err != nil {
			c.mu.Unlock()
			return
		}
		out, c.buf = c.buf, out[:0]
		c.mu.Unlock()

		err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
		if err == nil {
			_, err = c.nc.Write(out)
		}
		c.mu.Lock()
		c.queued -= len(out)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = ErrSlowConsumer
			}
			c.failLocked(err)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		if cap(out) > 64<<10 {
			out = nil // an idle connection keeps no big buffer
		}
	}
}

package transport

import (
	"bufio"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// connReader buffers a connection's input, holding a buffer only while it
// has unread bytes. An idle connection waits on a one-byte read and gives
// its buffer back to a pool: thousands of idle sessions cost no read
// buffers at all.
type connReader struct {
	conn net.Conn
	// raw reads the socket directly where conn offers it (TCP and Unix
	// connections, not TLS): waiting for input then takes no buffer and
	// costs no syscall, and the one read that follows fills the buffer.
	raw syscall.RawConn
	// rawRead is c.readRaw as a func value, made once: a closure made per
	// wait would cost allocations per message. rn and rerr are its results.
	rawRead func(fd uintptr) bool
	rn      int
	rerr    error
	bp      *[]byte // pooled buffer, nil while idle or when buf is not pooled
	buf     []byte
	r, w    int
	one     [1]byte
	// nowait makes readRaw return at once when nothing is there (see
	// fillRaw), where it would otherwise ask to wait.
	nowait bool
	// timeout, if positive, bounds every read of a message's bytes: a
	// message must keep arriving, however long the connection has been
	// busy. Waiting for the next message is bounded by the caller.
	timeout time.Duration
	// batch is flushed before every read of the socket (see Batch).
	batch *Batch
}

// readBufferSize is the pooled read buffer. Frames up to this size are
// decoded in place; larger ones are read straight into their own buffer.
const readBufferSize = 2048

var readBuffers = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// newConnReader reads conn, first returning what br (the HTTP server's or
// the dialer's reader, possibly nil) had already buffered.
func newConnReader(conn net.Conn, br *bufio.Reader) *connReader {
	c := &connReader{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
			c.rawRead = c.readRaw
		}
	}
	if br != nil && br.Buffered() > 0 {
		n := br.Buffered()
		if n > readBufferSize {
			c.buf = make([]byte, n)
		} else {
			c.acquire()
		}
		c.w, _ = io.ReadFull(br, c.buf[:n])
	}
	return c
}

func (c *connReader) acquire() {
	if c.buf == nil {
		c.bp = readBuffers.Get().(*[]byte)
		c.buf = *c.bp
	}
}

// release returns the buffer to the pool if nothing is left in it.
func (c *connReader) release() {
	if c.r != c.w || c.buf == nil {
		return
	}
	if c.bp != nil {
		readBuffers.Put(c.bp)
	}
	c.bp, c.buf, c.r, c.w = nil, nil, 0, 0
}

// Buffered returns how many bytes can be read without blocking.
func (c *connReader) Buffered() int { return c.w - c.r }

// Size is the largest Peek.
func (c *connReader) Size() int { return readBufferSize }

// wait blocks until input arrives, without holding a buffer meanwhile.
func (c *connReader) wait() error {
	if c.Buffered() > 0 {
		return nil
	}
	c.batch.Flush()
	c.release()
	if c.raw != nil {
		return c.waitRaw()
	}
	for {
		n, err := c.conn.Read(c.one[:])
		if n == 1 {
			c.acquire()
			c.buf[0] = c.one[0]
			c.r, c.w = 0, 1
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// waitRaw waits in the runtime's poller for the socket to be readable,
// holding no buffer, then reads what is there into a pooled buffer: one
// syscall for a whole small message, where a blocking one-byte read and
// another for the rest would take two (or three, with the EAGAIN).
func (c *connReader) waitRaw() error {
	err := c.raw.Read(c.rawRead)
	n, rerr := c.rn, c.rerr
	c.rerr = nil
	switch {
	case err != nil: // deadline, or the connection closed
		c.release()
		return err
	case rerr != nil:
		c.release()
		return os.NewSyscallError("read", rerr)
	case n == 0:
		c.release()
		return io.EOF
	}
	c.r, c.w = 0, n
	return nil
}

// readRaw is the RawConn callback of waitRaw: it reads into a pooled
// buffer, or gives the buffer back and asks to wait if nothing is there.
func (c *connReader) readRaw(fd uintptr) bool {
	c.acquire()
	for {
		c.rn, c.rerr = readNonblock(int(fd), c.buf[c.w:])
		if c.rerr != syscall.EINTR {
			break
		}
	}
	if c.rerr == syscall.EAGAIN {
		c.rn, c.rerr = 0, nil
		if c.nowait {
			return true
		}
		c.release() // nothing read: the buffer goes back while waiting
		return false
	}
	return true
}

// fillRaw reads what the socket already holds after the buffered bytes,
// without waiting, and reports whether it read anything. The rest of a
// frame that a read split usually is there: one read(2), where c.read
// would also renew the deadline and tell the scheduler of the call.
// Whatever else happens (nothing there, the end of the stream, an error)
// is left to c.read to find again and report.
func (c *connReader) fillRaw() bool {
	c.nowait = true
	err := c.raw.Read(c.rawRead)
	c.nowait = false
	n := c.rn
	c.rn, c.rerr = 0, nil
	if err != nil || n <= 0 {
		return false
	}
	c.w += n
	return true
}

// fill reads more input, after compacting the buffer.
func (c *connReader) fill() error {
	c.acquire()
	if c.r > 0 {
		copy(c.buf, c.buf[c.r:c.w])
		c.w -= c.r
		c.r = 0
	}
	if c.raw != nil && c.fillRaw() {
		return nil
	}
	n, err := c.read(c.buf[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// read reads the connection under a renewed deadline.
func (c *connReader) read(p []byte) (int, error) {
	c.batch.Flush()
	if c.timeout > 0 {
		c.conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	return c.conn.Read(p)
}

// Read implements io.Reader; reads larger than the buffer bypass it.
func (c *connReader) Read(p []byte) (int, error) {
	if c.Buffered() == 0 {
		if len(p) >= readBufferSize {
			return c.read(p)
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.buf[c.r:c.w])
	c.r += n
	return n, nil
}

// Peek returns the next n bytes (n <= Size) without consuming them; they
// stay valid until the next read.
func (c *connReader) Peek(n int) ([]byte, error) {
	for c.Buffered() < n {
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
	return c.buf[c.r : c.r+n], nil
}

// Discard consumes n buffered bytes.
func (c *connReader) Discard(n int) { c.r += n }

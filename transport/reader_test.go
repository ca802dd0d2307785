package transport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// unixPair returns the two ends of a connected Unix stream socket pair:
// what one end writes is in the other's receive queue when Write returns.
func unixPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*net.UnixConn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
		t.Cleanup(func() { c.Close() })
	}
	return conns[0], conns[1]
}

// countingConn counts the reads made through net.Conn's Read, which
// waits under a deadline; those made through its RawConn are not counted.
type countingConn struct {
	*net.UnixConn
	reads atomic.Int32
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.UnixConn.Read(p)
}

// peekSplit has r wait for input, takes the first 1500 bytes of a read
// of the 2 KiB buffer, and peeks at the next 1000, which the read split.
func peekSplit(r *connReader) ([]byte, error) {
	if err := r.wait(); err != nil {
		return nil, err
	}
	if r.Buffered() != readBufferSize {
		return nil, fmt.Errorf("first read took %d bytes, want the whole %d-byte buffer", r.Buffered(), readBufferSize)
	}
	r.Discard(1500)
	return r.Peek(1000)
}

func TestFillReadsTheRestOfASplitFrameWithoutWaiting(t *testing.T) {
	a, b := unixPair(t)
	c := &countingConn{UnixConn: b}
	r := newConnReader(c, nil)
	data := make([]byte, 2500)
	for i := range data {
		data[i] = byte(i % 251)
	}
	if _, err := a.Write(data); err != nil {
		t.Fatal(err)
	}
	p, err := peekSplit(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, data[1500:]) {
		t.Fatal("the peeked bytes are not the frame's")
	}
	if n := c.reads.Load(); n != 0 {
		t.Fatalf("%d reads through the deadline path for bytes already there, want 0", n)
	}
}

func TestFillWaitsForTheRestOfASplitFrame(t *testing.T) {
	a, b := unixPair(t)
	c := &countingConn{UnixConn: b}
	r := newConnReader(c, nil)
	data := bytes.Repeat([]byte{7}, 2500)
	if _, err := a.Write(data[:readBufferSize]); err != nil {
		t.Fatal(err)
	}
	type peeked struct {
		p   []byte
		err error
	}
	done := make(chan peeked, 1)
	go func() {
		p, err := peekSplit(r)
		done <- peeked{bytes.Clone(p), err}
	}()
	// Nothing more is there: the reader goes on to the read that waits.
	deadline := time.Now().Add(10 * time.Second)
	for c.reads.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reader never waited for the rest of the frame")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := a.Write(data[readBufferSize:]); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if got.err != nil || !bytes.Equal(got.p, data[1500:]) {
		t.Fatalf("peek after waiting: %v, %d bytes", got.err, len(got.p))
	}
}

func TestFillReportsTheEndOfAStreamMidFrame(t *testing.T) {
	a, b := unixPair(t)
	r := newConnReader(&countingConn{UnixConn: b}, nil)
	if _, err := a.Write(make([]byte, readBufferSize+100)); err != nil {
		t.Fatal(err)
	}
	a.Close()
	_, err := peekSplit(r)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("peek past the end of the stream: %v, want EOF", err)
	}
}

package netproto

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// echoLines writes back each line it reads.
var echoLines = HandlerFunc(func(ctx context.Context, c *Conn) error {
	for {
		f, err := c.ReadFrame()
		if err != nil {
			return err
		}
		if err := c.WriteFrame(f); err != nil {
			return err
		}
	}
})

func startTCP(t *testing.T, s *TCPServer) *TCPServer {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("listening on %s", s.Addr())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

func dialTCP(t *testing.T, s *TCPServer) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor waits until cond holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readEOF reads c until it ends, within a deadline, and returns what it
// read and how the reading ended.
func readEOF(t *testing.T, c net.Conn) (string, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if errors.Is(err, net.ErrClosed) || isReset(err) {
		err = nil
	}
	return string(b), err
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func TestTCPEchoUnderLoadFromManyClients(t *testing.T) {
	const clients, lines = 50, 200
	s := startTCP(t, &TCPServer{Handler: echoLines})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			go func() {
				w := bufio.NewWriter(c)
				for j := range lines {
					fmt.Fprintf(w, "client %d line %d\r\n", i, j)
				}
				w.Flush()
			}()
			r := bufio.NewScanner(c)
			for j := range lines {
				if !r.Scan() {
					errs <- fmt.Errorf("client %d: line %d: %v", i, j, r.Err())
					return
				}
				if want := fmt.Sprintf("client %d line %d", i, j); r.Text() != want {
					errs <- fmt.Errorf("client %d: got %q, want %q", i, r.Text(), want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.Stats(); st.Accepted != clients || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTCPClientThatNeverReadsCostsBoundedMemory(t *testing.T) {
	const maxBuffered = 64 << 10
	s := startTCP(t, &TCPServer{Handler: echoLines, Config: Config{MaxBuffered: maxBuffered, WriteTimeout: 2 * time.Second}})
	c := dialTCP(t, s).(*net.TCPConn)
	// A small receive buffer makes the server block sooner; not a tiny
	// one: with 4 KiB, Linux on loopback at times stopped taking our
	// writes at all (the server idle, its queue empty, our write timing
	// out after 20 s), seen 4 times in 80 runs under load.
	c.SetReadBuffer(64 << 10)
	line := []byte(strings.Repeat("x", 1000) + "\n")
	sent := 0
	var werr error
	c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	for sent < 512<<20 { // bounded: the server must cut us off long before
		var n int
		n, werr = c.Write(line)
		sent += n
		if werr != nil {
			break
		}
		if s.Stats().SlowConsumers > 0 {
			break
		}
	}
	waitFor(t, "the slow consumer to be cut off", func() bool { return s.Stats().SlowConsumers == 1 })
	waitFor(t, "its connection to close", func() bool { return s.Stats().Open == 0 })
	if st := s.Stats(); st.PeakBuffered > maxBuffered {
		t.Errorf("%d bytes queued at the peak, over the bound %d", st.PeakBuffered, maxBuffered)
	}
	t.Logf("sent %d bytes before the cut (last write: %v); stats %+v", sent, werr, s.Stats())

	// Others are served as before.
	o := dialTCP(t, s)
	fmt.Fprintf(o, "still there\n")
	o.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := bufio.NewReader(o).ReadString('\n')
	if err != nil || got != "still there\n" {
		t.Errorf("another client got %q, %v", got, err)
	}
}

func TestTCPMalformedFramesCloseOnlyTheirConnection(t *testing.T) {
	for _, c := range []struct {
		name    string
		framing Framing
		send    string
		wantErr error
	}{
		{"line too long", Lines, strings.Repeat("y", 100) + "\n", ErrFrameTooLarge},
		{"line without end", Lines, "abc", io.ErrUnexpectedEOF},
		{"length over the limit", LengthPrefixed(2), "\x03\xe8", ErrFrameTooLarge},
		{"truncated frame", LengthPrefixed(4), "\x00\x00\x00\x05ab", io.ErrUnexpectedEOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			handlerErr := make(chan error, 2)
			s := startTCP(t, &TCPServer{Framing: c.framing, Config: Config{MaxFrame: 16},
				Handler: HandlerFunc(func(ctx context.Context, conn *Conn) error {
					err := echoLines(ctx, conn)
					handlerErr <- err
					return err
				})})
			bad := dialTCP(t, s)
			good := dialTCP(t, s)
			io.WriteString(bad, c.send)
			if c.wantErr == io.ErrUnexpectedEOF {
				bad.(*net.TCPConn).CloseWrite()
			}
			if _, err := readEOF(t, bad); err != nil {
				t.Fatalf("the bad connection: %v", err)
			}
			if err := <-handlerErr; !errors.Is(err, c.wantErr) {
				t.Errorf("handler error %v, want %v", err, c.wantErr)
			}
			frame, _ := c.framing.AppendFrame(nil, []byte("fine"))
			good.Write(frame)
			good.SetReadDeadline(time.Now().Add(10 * time.Second))
			f, err := c.framing.ReadFrame(bufio.NewReader(good), 16)
			if err != nil || string(f) != "fine" {
				t.Errorf("the good connection got %q, %v", f, err)
			}
			if c.wantErr == ErrFrameTooLarge && s.Stats().Malformed != 1 {
				t.Errorf("stats %+v", s.Stats())
			}
		})
	}
}

func TestTCPShutdownWithOpenConnections(t *testing.T) {
	s := &TCPServer{Handler: HandlerFunc(func(ctx context.Context, c *Conn) error {
		err := echoLines(ctx, c)
		if errors.Is(err, ErrServerClosed) {
			c.WriteFrame([]byte("bye")) // flushed before the connection closes
		}
		return err
	})}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 20 {
		c := dialTCP(t, s)
		fmt.Fprintf(c, "hi\n")
		conns = append(conns, c)
	}
	for _, c := range conns { // every handler is running
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-s.Stopped():
	default:
		t.Error("Stopped is not closed")
	}
	for i, c := range conns {
		got, err := readEOF(t, c)
		if err != nil || got != "bye\n" {
			t.Errorf("client %d: got %q, %v; want bye then EOF", i, got, err)
		}
	}
	if _, err := net.DialTimeout("tcp", s.Addr().String(), time.Second); err == nil {
		t.Error("the server still accepts")
	}
}

func TestTCPStopClosesConnectionsWhoseHandlersDoNotReturn(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	running := make(chan struct{}, 1)
	s := &TCPServer{Handler: HandlerFunc(func(ctx context.Context, c *Conn) error {
		running <- struct{}{}
		select { // ignores ctx: a handler stuck elsewhere
		case <-release:
		case <-time.After(time.Minute):
		}
		return nil
	})}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := dialTCP(t, s)
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(ctx) }()
	if _, err := readEOF(t, c); err != nil {
		t.Errorf("the client: %v", err)
	}
	release <- struct{}{}
	if err := <-stopped; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want the deadline", err)
	}
}

func TestTCPBoundsConnections(t *testing.T) {
	s := startTCP(t, &TCPServer{Handler: echoLines, Config: Config{MaxConnections: 3}})
	var open []net.Conn
	for range 3 {
		c := dialTCP(t, s)
		fmt.Fprintf(c, "x\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	extra := dialTCP(t, s)
	if got, err := readEOF(t, extra); got != "" || err != nil {
		t.Errorf("the fourth connection got %q, %v; want it closed", got, err)
	}
	if st := s.Stats(); st.Refused != 1 || st.Open != 3 {
		t.Errorf("stats %+v", st)
	}
	open[0].Close()
	waitFor(t, "the closed connection to be gone", func() bool { return s.Stats().Open == 2 })
	again := dialTCP(t, s)
	fmt.Fprintf(again, "y\n")
	again.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := bufio.NewReader(again).ReadString('\n'); err != nil || got != "y\n" {
		t.Errorf("a connection under the bound again: %q, %v", got, err)
	}
}

func TestTCPReadTimeoutClosesIdleConnections(t *testing.T) {
	s := startTCP(t, &TCPServer{Handler: echoLines, Config: Config{ReadTimeout: 100 * time.Millisecond}})
	c := dialTCP(t, s)
	if _, err := readEOF(t, c); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.ReadTimeouts != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTCPRefusesBadConfigAndSecondStart(t *testing.T) {
	if err := (&TCPServer{Handler: echoLines, Config: Config{MaxFrame: -1}}).Start(context.Background()); err == nil {
		t.Error("a negative MaxFrame was accepted")
	}
	if err := (&TCPServer{}).Start(context.Background()); err == nil {
		t.Error("no handler was accepted")
	}
	s := startTCP(t, &TCPServer{Handler: echoLines})
	if err := s.Start(context.Background()); err == nil {
		t.Error("a second Start was accepted")
	}
}

package connlimit

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// serveHTTP serves a trivial handler behind l, as junction router and
// apps do, with the limiter's idle timeout.
func serveHTTP(t *testing.T, l *Limiter) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:     http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }),
		IdleTimeout: l.Config().IdleTimeout,
	}
	go srv.Serve(l.Wrap(ln, RefuseHTTP))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one keep-alive request on c and returns the status line.
func get(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	resp.Body.Close()
	return resp.Status + " " + strings.TrimSpace(string(body))
}

// TestOneAddressCannotTakeEveryConnection: at its cap, an address is
// refused with a 503 naming the limit, others still get in, and the count
// goes back down as connections close.
func TestOneAddressCannotTakeEveryConnection(t *testing.T) {
	l := New(Config{MaxConnections: 20, MaxConnectionsPerIP: 5}, nil, quietLog())
	addr := serveHTTP(t, l)
	var held []net.Conn
	for range 5 {
		c := dialFrom(t, "127.0.0.1", addr)
		if s := get(t, c); !strings.HasPrefix(s, "200") {
			t.Fatalf("connection within the cap: %s", s)
		}
		held = append(held, c)
	}
	over := dialFrom(t, "127.0.0.1", addr)
	if s := get(t, over); !strings.HasPrefix(s, "503") || !strings.Contains(s, "max_connections_per_ip") {
		t.Fatalf("connection over the per-IP cap: %s", s)
	}
	if n := testutil.ToFloat64(l.refused.WithLabelValues("max_connections_per_ip")); n != 1 {
		t.Fatalf("refusals counted: %v", n)
	}
	// Another address is not affected.
	other := dialFrom(t, "127.0.0.2", addr)
	if s := get(t, other); !strings.HasPrefix(s, "200") {
		t.Fatalf("another address: %s", s)
	}
	if l.Open() != 6 {
		t.Fatalf("open = %d, want 6", l.Open())
	}
	for _, c := range held {
		c.Close()
	}
	waitFor(t, "the closed connections to be released", func() bool { return l.Open() == 1 })
	if s := get(t, dialFrom(t, "127.0.0.1", addr)); !strings.HasPrefix(s, "200") {
		t.Fatalf("after closing: %s", s)
	}
}

func TestTotalCap(t *testing.T) {
	l := New(Config{MaxConnections: 3, MaxConnectionsPerIP: 3}, nil, quietLog())
	addr := serveHTTP(t, l)
	for i := range 3 {
		get(t, dialFrom(t, "127.0.0."+string(rune('1'+i)), addr))
	}
	if s := get(t, dialFrom(t, "127.0.0.9", addr)); !strings.HasPrefix(s, "503") || !strings.Contains(s, "max_connections reached") {
		t.Fatalf("over the total cap: %s", s)
	}
}

// TestIdleKeepAliveConnectionsAreClosed: the descriptor a client leaves
// open after one request comes back after the idle timeout.
func TestIdleKeepAliveConnectionsAreClosed(t *testing.T) {
	l := New(Config{IdleTimeout: 200 * time.Millisecond}, nil, quietLog())
	addr := serveHTTP(t, l)
	c := dialFrom(t, "127.0.0.1", addr)
	get(t, c)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle connection: read %v, want EOF from the server closing it", err)
	}
	waitFor(t, "the idle connection to be released", func() bool { return l.Open() == 0 })
}

func TestRawSocketRefusal(t *testing.T) {
	l := New(Config{MaxConnectionsPerIP: 1}, nil, quietLog())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := l.Wrap(ln, RefuseRawSocket)
	t.Cleanup(func() { wl.Close() })
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := wl.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dialFrom(t, "127.0.0.1", ln.Addr().String()) // holds the one place
	c := <-accepted
	defer c.Close()
	second := dialFrom(t, "127.0.0.1", ln.Addr().String())
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply := make([]byte, 4)
	if _, err := io.ReadFull(second, reply); err != nil || reply[0] != 0x7f || reply[1] != 0x40 {
		t.Fatalf("refusal % x, %v; want 7f 40 (maximum connection count reached)", reply, err)
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{MaxConnections: 10, MaxConnectionsPerIP: 20}).Validate(); err == nil {
		t.Fatal("per-IP cap above the total accepted")
	}
	if err := (Config{IdleTimeout: -time.Second}).Validate(); err == nil {
		t.Fatal("negative idle timeout accepted")
	}
}

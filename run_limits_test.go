package junction

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAppCapsConnectionsPerAddress: one client cannot take every
// descriptor of an app: at its per-address cap it gets 503 while another
// address is served, and an idle keep-alive connection is closed.
func TestAppCapsConnectionsPerAddress(t *testing.T) {
	app, _ := newTestApp(t, "capped", WithSettings(func(s *Settings) {
		s.MaxConnectionsPerIP = 3
		s.IdleTimeout = 300 * time.Millisecond
	}))
	app.HTTP.Get("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong") })
	startApp(t, app)
	addr := app.Addr().String()
	status := func(src string) (string, net.Conn) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.Status + " " + strings.TrimSpace(string(body)), c
	}
	var held []net.Conn
	for range 3 {
		s, c := status("127.0.0.1")
		if s != "200 OK pong" {
			t.Fatalf("within the cap: %s", s)
		}
		held = append(held, c)
	}
	if s, _ := status("127.0.0.1"); !strings.HasPrefix(s, "503") || !strings.Contains(s, "max_connections_per_ip") {
		t.Fatalf("over the cap: %s", s)
	}
	if s, _ := status("127.0.0.2"); s != "200 OK pong" {
		t.Fatalf("another address: %s", s)
	}
	// The server closes the idle keep-alive connections by itself.
	for _, c := range held {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection: %v, want EOF", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for app.connLimit.Open() > 1 { // the 127.0.0.2 one may still be open
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still counted", app.connLimit.Open())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s, _ := status("127.0.0.1"); s != "200 OK pong" {
		t.Fatalf("after the idle ones closed: %s", s)
	}
}

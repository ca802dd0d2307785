package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/router"
)

func TestSpreadURLs(t *testing.T) {
	got, err := spreadURLs("ws://127.0.0.254:8080/ws", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ws://127.0.0.254:8080/ws", "ws://127.0.0.255:8080/ws", "ws://127.0.1.0:8080/ws"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if got, err := spreadURLs("tcp://127.0.0.1:8081", 2); err != nil || got[1] != "tcp://127.0.0.2:8081" {
		t.Errorf("tcp: %q, %v", got, err)
	}
	if got, err := spreadURLs("ws://localhost:8080/ws", 1); err != nil || len(got) != 1 || got[0] != "ws://localhost:8080/ws" {
		t.Errorf("-spread 1: %q, %v", got, err)
	}
	for _, bad := range []string{"ws://localhost:8080/ws", "ws://[::1]:8080/ws", "unix:///tmp/r.sock", "ws://127.0.0.1/ws", "ws://255.255.255.255:1/"} {
		if got, err := spreadURLs(bad, 2); err == nil {
			t.Errorf("spreadURLs(%q, 2) = %q, want an error", bad, got)
		}
	}
}

// addrListener records the local address of every connection it accepts.
type addrListener struct {
	net.Listener
	mu   sync.Mutex
	seen map[string]int
}

func (l *addrListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		host, _, _ := net.SplitHostPort(c.LocalAddr().String())
		l.mu.Lock()
		l.seen[host]++
		l.mu.Unlock()
	}
	return c, err
}

// TestSpreadReachesEveryAddress serves one router on 127.0.0.2 and
// 127.0.0.3 at the same port and checks that -spread 2 sends sessions to
// both.
func TestSpreadReachesEveryAddress(t *testing.T) {
	r, err := router.New(router.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	first, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := first.Addr().(*net.TCPAddr).Port
	second, err := net.Listen("tcp", net.JoinHostPort("127.0.0.3", strconv.Itoa(port)))
	if err != nil {
		first.Close()
		t.Fatalf("listen on 127.0.0.3 at the port of 127.0.0.2: %v", err)
	}
	var servers sync.WaitGroup
	lns := []*addrListener{{Listener: first, seen: map[string]int{}}, {Listener: second, seen: map[string]int{}}}
	srv := &http.Server{Handler: r}
	for _, l := range lns {
		servers.Add(1)
		go func() {
			defer servers.Done()
			srv.Serve(l)
		}()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
		srv.Close()
		servers.Wait()
	})

	url := "ws://" + net.JoinHostPort("127.0.0.2", strconv.Itoa(port)) + "/ws"
	o := testOptions(t, url, "-mode", "idle", "-sessions", "10", "-settle", "0s", "-spread", "2")
	o.PID = os.Getpid() // the router runs in this process
	res, err := runIdle(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sessions != 10 || res.Disconnects != 0 || res.Spread != 2 {
		t.Errorf("sessions %d, disconnects %d, spread %d", res.Sessions, res.Disconnects, res.Spread)
	}
	if c := res.CPU; !c.RouterMeasured || c.Op != "session" || c.Ops != 10 {
		t.Errorf("CPU %+v: want the router measured over 10 sessions", c)
	}
	if res.RouterMaxFiles == 0 {
		t.Error("router open-file limit not read")
	}
	for i, host := range []string{"127.0.0.2", "127.0.0.3"} {
		l := lns[i]
		l.mu.Lock()
		n := l.seen[host]
		l.mu.Unlock()
		if n != 5 {
			t.Errorf("the router accepted %d sessions on %s, want 5", n, host)
		}
	}
}

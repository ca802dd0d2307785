package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/junction-run/junction/wamp"
)

// parkingReader reads a server peer as the router does: its loop returns
// when the peer parks, and the peer's resume function runs it again. A
// resumed loop may start while the parked one is still returning from
// Read, past the last use of the connection's state: that the two never
// share that state is the race detector's to check (the tests run under
// -race), and that every message arrives once and in order is theirs.
type parkingReader struct {
	t       *testing.T
	p       Peer
	msgs    chan wamp.Message
	parks   chan struct{}
	resumes chan struct{}
	errs    chan error
}

func readParking(t *testing.T, p Peer) *parkingReader {
	t.Helper()
	r := &parkingReader{t: t, p: p, msgs: make(chan wamp.Message, 64), parks: make(chan struct{}, 64),
		resumes: make(chan struct{}, 64), errs: make(chan error, 1)}
	pk, ok := p.(Parker)
	if !ok || !pk.ParkWhenIdle(func() { r.resumes <- struct{}{}; r.loop() }) {
		t.Fatal("the peer cannot park")
	}
	go r.loop()
	return r
}

func (r *parkingReader) loop() {
	for {
		m, err := r.p.Read()
		switch {
		case err == ErrParked:
			r.parks <- struct{}{}
			return
		case err != nil:
			r.errs <- err
			return
		}
		r.msgs <- m
	}
}

// wait receives from ch within 5 s.
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// wsPairs returns the server and client ends of n WebSocket connections
// to one test server.
func wsPairs(t *testing.T, n int, server, client Config) (servers, clients []Peer) {
	t.Helper()
	url, peers := upgradeServer(t, server, n)
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := Dial(ctx, url, client)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		s := wait(t, peers, "the server peer")
		t.Cleanup(func() { s.Close() })
		servers, clients = append(servers, s), append(clients, c)
	}
	return servers, clients
}

func wsPair(t *testing.T, server, client Config) (Peer, Peer) {
	s, c := wsPairs(t, 1, server, client)
	return s[0], c[0]
}

// parkPairs are a connection of each transport that parks.
func parkPairs(t *testing.T, server Config) map[string][2]Peer {
	pairs := map[string][2]Peer{}
	s, c := wsPair(t, server, Config{})
	pairs["websocket"] = [2]Peer{s, c}
	for _, network := range rsNetworks {
		s, c := rsPair(t, network, server, Config{})
		pairs["rawsocket/"+network] = [2]Peer{s, c}
	}
	return pairs
}

// TestParkedPeerResumesOnInput: a quiet server peer's Read returns
// ErrParked, and each message the client then sends resumes a reader that
// gets it, one reader at a time; the client leaving resumes it too.
func TestParkedPeerResumesOnInput(t *testing.T) {
	for name, pair := range parkPairs(t, Config{ParkAfter: 20 * time.Millisecond}) {
		t.Run(name, func(t *testing.T) {
			server, client := pair[0], pair[1]
			r := readParking(t, server)
			for i := range 3 {
				wait(t, r.parks, "the reader to park")
				if err := client.Send(&wamp.Publish{Request: wamp.ID(i + 1), Topic: "t"}); err != nil {
					t.Fatal(err)
				}
				wait(t, r.resumes, "the reader to resume")
				m := wait(t, r.msgs, "the message")
				if p, ok := m.(*wamp.Publish); !ok || p.Request != wamp.ID(i+1) {
					t.Fatalf("got %#v, want PUBLISH %d", m, i+1)
				}
			}
			// Answers go out while the reader is parked.
			wait(t, r.parks, "the reader to park")
			if err := server.Send(&wamp.Published{Request: 9, Publication: 1}); err != nil {
				t.Fatal(err)
			}
			if m, err := client.Read(); err != nil {
				t.Fatal(err)
			} else if _, ok := m.(*wamp.Published); !ok {
				t.Fatalf("client got %#v", m)
			}
			client.Close()
			wait(t, r.resumes, "the reader to resume when the client left")
			wait(t, r.errs, "Read to fail once the client left")
		})
	}
}

// TestParkedPeerIsPingedAndTimesOut: the ping timer resumes a parked
// reader, which pings; a pong lets it park again, and silence after the
// next ping ends the connection with a timeout.
func TestParkedPeerIsPingedAndTimesOut(t *testing.T) {
	cfg := Config{ParkAfter: 20 * time.Millisecond, PingInterval: 150 * time.Millisecond, ReadTimeout: 450 * time.Millisecond}
	url, peers := upgradeServer(t, cfg, 1)
	conn, br := rawClient(t, url)
	server := wait(t, peers, "the server peer")
	defer server.Close()
	r := readParking(t, server)
	wait(t, r.parks, "the reader to park")
	f := readFrame(t, conn, br)
	if f.Header.OpCode != ws.OpPing {
		t.Fatalf("got %v, want a ping", f.Header.OpCode)
	}
	wait(t, r.resumes, "the ping timer to resume the reader")
	writeFrame(t, conn, ws.MaskFrame(ws.NewPongFrame(f.Payload)))
	wait(t, r.parks, "the reader to park again after the pong")
	if f := readFrame(t, conn, br); f.Header.OpCode != ws.OpPing {
		t.Fatalf("got %v, want a second ping", f.Header.OpCode)
	}
	err := wait(t, r.errs, "the silent client to time out")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read error %v, want a timeout", err)
	}
}

// TestClosingAParkedPeerResumesItsReader: closing the server end (a
// router ending the session) resumes its parked reader, whose Read then
// fails, so that the session's teardown runs.
func TestClosingAParkedPeerResumesItsReader(t *testing.T) {
	for name, pair := range parkPairs(t, Config{ParkAfter: 20 * time.Millisecond}) {
		t.Run(name, func(t *testing.T) {
			server := pair[0]
			r := readParking(t, server)
			wait(t, r.parks, "the reader to park")
			server.Close()
			wait(t, r.resumes, "the reader to resume")
			if err := wait(t, r.errs, "Read's error"); !errors.Is(err, ErrClosed) {
				t.Fatalf("Read after Close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestParkedPeersHoldNoGoroutine is what parking is for: quiet peers'
// readers are gone until their clients speak.
func TestParkedPeersHoldNoGoroutine(t *testing.T) {
	const n = 50
	servers, clients := wsPairs(t, n, Config{ParkAfter: 10 * time.Millisecond}, Config{PingInterval: -1})
	before := runtime.NumGoroutine() // the server peers have no reader yet
	var readers []*parkingReader
	for _, s := range servers {
		readers = append(readers, readParking(t, s))
	}
	for _, r := range readers {
		wait(t, r.parks, "the reader to park")
	}
	// The readers that parked have returned; their goroutines end.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+n/10 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines with %d parked peers, %d before their readers started", runtime.NumGoroutine(), n, before)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i, c := range clients {
		if err := c.Send(&wamp.Publish{Request: 1, Topic: "t"}); err != nil {
			t.Fatal(err)
		}
		wait(t, readers[i].msgs, "a parked peer's message")
	}
	// Connections that end are forgotten by the poller.
	known := thePoller.size()
	if known < n {
		t.Fatalf("the poller knows %d connections, want at least %d", known, n)
	}
	for i, s := range servers {
		s.Close()
		wait(t, readers[i].errs, "Read to fail after Close")
	}
	if left := thePoller.size(); left != known-n {
		t.Fatalf("the poller knows %d connections after %d of %d closed, want %d", left, n, known, known-n)
	}
}

// TestParkWhenIdleRefused: no parking when it is turned off, nor over
// TLS, whose records crypto/tls may hold already decrypted.
func TestParkWhenIdleRefused(t *testing.T) {
	s, _ := wsPair(t, Config{ParkAfter: -1}, Config{})
	if s.(Parker).ParkWhenIdle(func() {}) {
		t.Error("parking with ParkAfter < 0")
	}
	serverTLS, clientTLS := testTLS(t)
	peers := make(chan Peer, 1)
	wss := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := Upgrade(w, r, Config{ParkAfter: time.Millisecond})
		if err != nil {
			t.Error(err)
			return
		}
		peers <- p
	}))
	wss.TLS = serverTLS
	wss.StartTLS()
	t.Cleanup(wss.Close)
	c, err := Dial(context.Background(), "wss"+strings.TrimPrefix(wss.URL, "https"), Config{TLS: clientTLS})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := wait(t, peers, "the TLS server peer")
	defer p.Close()
	if _, isTLS := p.(*wsConn).conn.(*tls.Conn); !isTLS {
		t.Fatal("the server peer is not over TLS")
	}
	if p.(Parker).ParkWhenIdle(func() {}) {
		t.Error("parking over TLS")
	}
}

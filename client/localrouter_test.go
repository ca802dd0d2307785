package client

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// routerKinds are the ways the tests against a real router reach it: the
// in-process pipe, and WebSocket with each serializer.
var routerKinds = []string{"local", "json", "msgpack", "cbor"}

// realRouter is a real router, in-process, for tests of the advanced
// features end to end.
type realRouter struct {
	r    *router.Router
	url  string // WebSocket URL, "" for the in-process pipe
	kind string
}

// forEachRouter runs f as a subtest against a fresh router for each of
// routerKinds.
func forEachRouter(t *testing.T, f func(t *testing.T, rr *realRouter)) {
	for _, kind := range routerKinds {
		t.Run(kind, func(t *testing.T) { f(t, newRealRouter(t, kind)) })
	}
}

// newRealRouter starts a router reached as kind says, stopped at cleanup
// (after the sessions joined with it, cleanups running last first).
func newRealRouter(t *testing.T, kind string) *realRouter {
	t.Helper()
	r, err := router.New(router.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rr := &realRouter{r: r, kind: kind}
	var srv *httptest.Server
	if kind != "local" {
		srv = httptest.NewServer(r)
		rr.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
		if srv != nil {
			srv.Close()
		}
	})
	return rr
}

// dial opens a connection to the router.
func (rr *realRouter) dial(ctx context.Context) (transport.Peer, error) {
	if rr.kind == "local" {
		return rr.r.LocalPeer()
	}
	c, err := codec.ByName(rr.kind)
	if err != nil {
		return nil, err
	}
	return transport.Dial(ctx, rr.url, transport.Config{Serializers: []codec.Codec{c}})
}

// join opens a session, closed at cleanup. authid, if not empty, is sent
// in HELLO.
func (rr *realRouter) join(t *testing.T, authid string) *Session {
	t.Helper()
	s, _ := rr.joinRecorded(t, authid)
	return s
}

// joinRecorded is join, also returning a record of what the session
// receives.
func (rr *realRouter) joinRecorded(t *testing.T, authid string) (*Session, *recorder) {
	t.Helper()
	ctx := testContext(t)
	peer, err := rr.dial(ctx)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	rec := &recorder{Peer: peer}
	cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if authid != "" {
		cfg.HelloDetails = wamp.Dict{"authid": authid}
	}
	s, err := Join(ctx, rec, cfg)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() { closeSession(t, s) })
	return s, rec
}

// recorder is a peer that records the messages read from it.
type recorder struct {
	transport.Peer
	mu  sync.Mutex
	got []wamp.Message
}

func (r *recorder) Read() (wamp.Message, error) {
	m, err := r.Peer.Read()
	if err == nil {
		r.mu.Lock()
		r.got = append(r.got, m)
		r.mu.Unlock()
	}
	return m, err
}

// errors returns the ERROR messages received in answer to requests of
// type t.
func (r *recorder) errors(t wamp.Type) []*wamp.ErrorMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*wamp.ErrorMessage
	for _, m := range r.got {
		if e, ok := m.(*wamp.ErrorMessage); ok && e.RequestType == t {
			out = append(out, e)
		}
	}
	return out
}

// count returns how many messages of type t were received.
func (r *recorder) count(t wamp.Type) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.got {
		if m.Type() == t {
			n++
		}
	}
	return n
}

// sync makes a round trip through the router on s: whatever the router
// sent s before handling it has been read (and handled) once it returns.
func syncSession(t *testing.T, s *Session) {
	t.Helper()
	if _, err := s.Publish(testContext(t), "test.sync", nil, nil, &PublishOptions{Acknowledge: true}); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

// collector gathers values from handlers running on other goroutines.
type collector[T any] struct {
	mu  sync.Mutex
	got []T
}

func (c *collector[T]) add(v T) {
	c.mu.Lock()
	c.got = append(c.got, v)
	c.mu.Unlock()
}

func (c *collector[T]) all() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.got...)
}

func (c *collector[T]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// wait fails the test unless ch is closed within 5s.
func wait(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// waitValue receives from ch, failing the test after 5s.
func waitValue[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// equalDicts compares dicts of scalar values.
func equalDicts(a, b wamp.Dict) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

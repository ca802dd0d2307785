package router

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// writeJSONBatch writes msgs as WebSocket frames in one write, so that
// the router reads them in one read and routes them as one batch (see
// transport.Batch).
func writeJSONBatch(t *testing.T, conn interface{ Write([]byte) (int, error) }, msgs ...string) {
	t.Helper()
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := ws.WriteFrame(&buf, ws.MaskFrame(ws.NewTextFrame([]byte(m)))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// TestBatchIsFlushedBeforeAnAuthorizerIsAsked: a caller's reader that
// waits for the dynamic authorizer first sends what it routed before, out
// of the same read. Here the authorizer answers only once the earlier
// call's INVOCATION has reached its callee: held in the batch through
// the wait, it never would.
func TestBatchIsFlushedBeforeAnAuthorizerIsAsked(t *testing.T) {
	rc := dynamicRealm()
	rc.Anonymous = &AnonymousAuth{Role: "user"}
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{rc}})
	h.r.realm("dyn").authz.timeout = time.Minute
	authzSession := h.joinRole("json", "dyn", "authorizer")
	backend := h.joinRole("json", "dyn", "backend")

	invoked := make(chan struct{})
	mustRegister(t, backend, "com.static", func(context.Context, *client.Invocation) (*client.Result, error) {
		close(invoked)
		return &client.Result{Values: client.Values{Args: wamp.List{"a"}}}, nil
	}, nil)
	mustRegister(t, backend, "com.dyn.b", func(context.Context, *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: wamp.List{"b"}}}, nil
	}, nil)
	mustRegister(t, authzSession, testAuthorizerURI, func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		select {
		case <-invoked:
			return &client.Result{Values: client.Values{Args: wamp.List{true}}}, nil
		case <-time.After(10 * time.Second):
			return &client.Result{Values: client.Values{Args: wamp.List{false}}}, nil
		}
	}, nil)

	conn, br := rawWS(t, h.url)
	writeJSON(t, conn, `[1,"dyn",{"roles":{"caller":{}}}]`)
	if m := readJSON(t, conn, br); !strings.HasPrefix(m, "[2,") {
		t.Fatalf("got %s, want WELCOME", m)
	}
	// com.static is allowed by the user's role, com.dyn.b by asking.
	writeJSONBatch(t, conn, `[48,1,{},"com.static"]`, `[48,2,{},"com.dyn.b"]`)
	got := map[string]bool{}
	for range 2 {
		got[readJSON(t, conn, br)] = true
	}
	for _, want := range []string{`[50,1,{},["a"]]`, `[50,2,{},["b"]]`} {
		if !got[want] {
			t.Errorf("got %v, want %s among them", got, want)
		}
	}
}

// wsPeers returns the server and client ends of a loopback WebSocket
// connection.
func wsPeers(t *testing.T) (server, client transport.Peer) {
	t.Helper()
	servers := make(chan transport.Peer, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := transport.Upgrade(w, r, transport.Config{})
		if err != nil {
			t.Error(err)
			return
		}
		servers <- p
	}))
	t.Cleanup(srv.Close)
	c, err := transport.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	select {
	case s := <-servers:
		t.Cleanup(func() { s.Close() })
		return s, c
	case <-time.After(5 * time.Second):
		t.Fatal("no server peer")
	}
	return nil, nil
}

// backlogAt is a subscriber's outbound queue as stall sees it: over half
// full until drained is closed.
type backlogAt struct{ drained chan struct{} }

func (b backlogAt) Backlog() (int, int) { return 5, 8 }

func (b backlogAt) Drained(int) <-chan struct{} { return b.drained }

// TestBatchIsFlushedBeforeAPublisherStalls: a publisher held back for a
// subscriber first sends what its reader routed before (here an
// INVOCATION): the stall could otherwise hold it for stallMax.
func TestBatchIsFlushedBeforeAPublisherStalls(t *testing.T) {
	h := newHarness(t, Config{})
	h.r.stallMax.Store(int64(time.Minute))
	b := h.r.realm("realm1").broker
	pubPeer, _ := wsPeers(t)
	callee, calleeClient := wsPeers(t)
	subPeer, _ := wsPeers(t)
	pub := &session{peer: pubPeer}
	sub := &session{peer: subPeer, backlog: backlogAt{drained: make(chan struct{})}}

	// The test plays the publisher's reader, which routed an INVOCATION
	// through its batch and now stalls.
	if err := pub.batch().Send(callee, &wamp.Invocation{Request: 1, Registration: 2, Details: wamp.Dict{}}); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		m, err := calleeClient.Read()
		if err == nil {
			if _, ok := m.(*wamp.Invocation); !ok {
				err = fmt.Errorf("got %s, want INVOCATION", m.Type())
			}
		}
		got <- err
		close(sub.backlog.(backlogAt).drained) // the stall ends
	}()
	stalled := make(chan struct{})
	go func() {
		b.stall(pub, sub)
		close(stalled)
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the INVOCATION was held through the stall")
	}
	<-stalled
}

// TestBatchIsFlushedWhenTheSessionEnds: what a session's reader routed
// just before the session ends goes out, though no later read flushes
// it.
func TestBatchIsFlushedWhenTheSessionEnds(t *testing.T) {
	h := newHarness(t, Config{})
	sub := h.join("json")
	sub.subscribe("t")

	conn, br := rawWS(t, h.url)
	writeJSON(t, conn, `[1,"realm1",{"roles":{"publisher":{}}}]`)
	if m := readJSON(t, conn, br); !strings.HasPrefix(m, "[2,") {
		t.Fatalf("got %s, want WELCOME", m)
	}
	writeJSONBatch(t, conn, `[16,1,{},"t",[7]]`, `[6,{},"wamp.close.close_realm"]`)
	if m := readJSON(t, conn, br); !strings.HasPrefix(m, "[6,") {
		t.Fatalf("got %s, want GOODBYE", m)
	}
	ev := expect[*wamp.Event](sub)
	if args := ev.Payload.Args; len(args) != 1 || args[0] != int64(7) {
		t.Fatalf("event args %v", args)
	}
}

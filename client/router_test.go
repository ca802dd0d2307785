package client

import (
	"context"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// TestMain fails the run if a session goroutine outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(3 * time.Second)
		for {
			leaked := sessionGoroutines()
			if leaked == "" {
				break
			}
			if time.Now().After(deadline) {
				os.Stderr.WriteString("leaked goroutines:\n" + leaked)
				code = 1
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	os.Exit(code)
}

func sessionGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "junction/client.") && !strings.Contains(g, "client.TestMain") &&
			!strings.Contains(g, "client.sessionGoroutines") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}

// fakeRouter is a one-session WAMP router good enough for these tests: it
// sends events back to the publishing session and invocations back to the
// calling one.
type fakeRouter struct {
	peer transport.Peer
	// dealerFeatures are announced in WELCOME.
	dealerFeatures wamp.Dict
	done           chan struct{}

	mu      sync.Mutex
	seen    []wamp.Message
	subs    map[wamp.URI]wamp.ID
	regs    map[wamp.URI]wamp.ID
	procs   map[wamp.ID]wamp.URI
	calls   map[wamp.ID]wamp.ID // invocation request -> call request
	nextID  wamp.ID
	welcome wamp.ID
}

// newRouter starts a fake router and returns the client's end of the pipe.
func newRouter(t *testing.T, dealerFeatures wamp.Dict) (transport.Peer, *fakeRouter) {
	t.Helper()
	client, server := transport.Pipe(transport.Config{})
	r := &fakeRouter{
		peer:           server,
		dealerFeatures: dealerFeatures,
		done:           make(chan struct{}),
		subs:           map[wamp.URI]wamp.ID{},
		regs:           map[wamp.URI]wamp.ID{},
		procs:          map[wamp.ID]wamp.URI{},
		calls:          map[wamp.ID]wamp.ID{},
	}
	go r.run()
	t.Cleanup(func() {
		r.drop()
		<-r.done
	})
	return client, r
}

func (r *fakeRouter) run() {
	defer close(r.done)
	for {
		m, err := r.peer.Read()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.seen = append(r.seen, m)
		r.mu.Unlock()
		r.handle(m)
	}
}

func (r *fakeRouter) id() wamp.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	return r.nextID
}

func (r *fakeRouter) send(m wamp.Message) { _ = r.peer.Send(m) }

func (r *fakeRouter) handle(m wamp.Message) {
	switch m := m.(type) {
	case *wamp.Hello:
		if m.Realm == "nope" {
			r.send(&wamp.Abort{Details: wamp.Dict{"message": "no such realm"}, Reason: wamp.URINoSuchRealm})
			return
		}
		r.mu.Lock()
		r.welcome = wamp.GlobalID()
		id := r.welcome
		r.mu.Unlock()
		roles := wamp.Dict{"broker": wamp.Dict{"features": wamp.Dict{}}, "dealer": wamp.Dict{"features": r.dealerFeatures}}
		r.send(&wamp.Welcome{Session: id, Details: wamp.Dict{"roles": roles}})
	case *wamp.Subscribe:
		r.mu.Lock()
		id, ok := r.subs[m.Topic]
		r.mu.Unlock()
		if !ok {
			id = r.id()
			r.mu.Lock()
			r.subs[m.Topic] = id
			r.mu.Unlock()
		}
		r.send(&wamp.Subscribed{Request: m.Request, Subscription: id})
	case *wamp.Unsubscribe:
		r.mu.Lock()
		for topic, id := range r.subs {
			if id == m.Subscription {
				delete(r.subs, topic)
			}
		}
		r.mu.Unlock()
		r.send(&wamp.Unsubscribed{Request: m.Request})
	case *wamp.Publish:
		ack, _ := wamp.DictBool(m.Options, "acknowledge")
		if m.Topic == "test.denied" {
			if ack {
				r.send(&wamp.ErrorMessage{RequestType: wamp.TypePublish, Request: m.Request, Details: wamp.Dict{}, Error: wamp.URINotAuthorized})
			}
			return
		}
		pub := r.id()
		r.mu.Lock()
		sub, ok := r.subs[m.Topic]
		r.mu.Unlock()
		if ok {
			r.send(&wamp.Event{Subscription: sub, Publication: pub, Details: wamp.Dict{}, Payload: m.Payload})
		}
		if ack {
			r.send(&wamp.Published{Request: m.Request, Publication: pub})
		}
	case *wamp.Register:
		r.mu.Lock()
		_, dup := r.regs[m.Procedure]
		r.mu.Unlock()
		if dup {
			r.send(&wamp.ErrorMessage{RequestType: wamp.TypeRegister, Request: m.Request, Details: wamp.Dict{}, Error: wamp.URIProcedureAlreadyExists})
			return
		}
		id := r.id()
		r.mu.Lock()
		r.regs[m.Procedure], r.procs[id] = id, m.Procedure
		r.mu.Unlock()
		r.send(&wamp.Registered{Request: m.Request, Registration: id})
	case *wamp.Unregister:
		r.mu.Lock()
		delete(r.regs, r.procs[m.Registration])
		delete(r.procs, m.Registration)
		r.mu.Unlock()
		r.send(&wamp.Unregistered{Request: m.Request})
	case *wamp.Call:
		if m.Procedure == "test.hang" {
			return
		}
		r.mu.Lock()
		reg, ok := r.regs[m.Procedure]
		r.mu.Unlock()
		if !ok {
			r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: m.Request, Details: wamp.Dict{}, Error: wamp.URINoSuchProcedure})
			return
		}
		inv := r.id()
		r.mu.Lock()
		r.calls[inv] = m.Request
		r.mu.Unlock()
		r.send(&wamp.Invocation{Request: inv, Registration: reg, Details: wamp.Dict{}, Payload: m.Payload})
	case *wamp.Yield:
		// Send the RESULT through JSON so the client sees a raw payload,
		// as it does from a WebSocket router.
		res := &wamp.Result{Request: r.callFor(m.Request), Details: wamp.Dict{}, Payload: m.Payload}
		data, err := codec.Encode(codec.JSON, res)
		if err != nil {
			panic(err)
		}
		raw, err := codec.JSON.Decode(data)
		if err != nil {
			panic(err)
		}
		r.send(raw)
	case *wamp.ErrorMessage:
		r.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: r.callFor(m.Request), Details: wamp.Dict{}, Error: m.Error, Payload: m.Payload})
	case *wamp.Goodbye:
		if m.Reason != wamp.URICloseGoodbyeAndOut {
			r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseGoodbyeAndOut})
		}
		r.peer.Close()
	}
}

func (r *fakeRouter) callFor(inv wamp.ID) wamp.ID {
	r.mu.Lock()
	defer r.mu.Unlock()
	call := r.calls[inv]
	delete(r.calls, inv)
	return call
}

// drop breaks the connection.
func (r *fakeRouter) drop() { r.peer.Close() }

// received returns the messages of type t the router has read.
func (r *fakeRouter) received(t wamp.Type) []wamp.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wamp.Message
	for _, m := range r.seen {
		if m.Type() == t {
			out = append(out, m)
		}
	}
	return out
}

// eventually fails the test unless cond becomes true within 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// join opens a session on a fresh fake router, closed at cleanup.
func join(t *testing.T, dealerFeatures wamp.Dict) (*Session, *fakeRouter) {
	t.Helper()
	peer, r := newRouter(t, dealerFeatures)
	s, err := Join(testContext(t), peer, Config{})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() { closeSession(t, s) })
	return s, r
}

func closeSession(t *testing.T, s *Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

package link

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// wait bounds every wait of the tests: generous, since the machine may
// be busy; a passing test waits far less.
const wait = 20 * time.Second

// testLog collects logs and shows them if the test fails. Writes after
// the test has ended (a NATS goroutine winding down) are kept, not
// passed to t.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *testLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func newLogger(t *testing.T) *slog.Logger {
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			t.Logf("logs:\n%s", l.buf.String())
			l.mu.Unlock()
		}
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newRouter starts a router with an open realm1.
func newRouter(t *testing.T) *router.Router {
	t.Helper()
	rt, err := router.New(router.Config{Realms: []string{"realm1"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		rt.Stop(ctx)
	})
	return rt
}

// join opens a client session on rt.
func join(t *testing.T, rt *router.Router) *client.Session {
	t.Helper()
	peer, err := rt.LocalPeer()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	s, err := client.Join(ctx, peer, client.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// startLink starts a link with cfg and stops it at the end of the test.
func startLink(t *testing.T, cfg Config) *Link {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopLink(t, l) })
	return l
}

func stopLink(t *testing.T, l *Link) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := l.Stop(ctx); err != nil {
		t.Errorf("stop link %s: %v", l.cfg.Name, err)
	}
}

// pair is two deployments, a and b, each a router and a link; b's leaf
// node connection to a goes through proxy, which the tests cut.
type pair struct {
	rtA, rtB   *router.Router
	a, b       *Link
	cfgA, cfgB Config
	proxy      *proxy
}

// newPair starts two deployments linked by cfgA and cfgB, whose names,
// routers and NATS settings it fills in.
func newPair(t *testing.T, cfgA, cfgB Config) *pair {
	t.Helper()
	p := &pair{rtA: newRouter(t), rtB: newRouter(t)}
	log := newLogger(t)
	cfgA.Name, cfgA.Peer, cfgA.Local, cfgA.Logger = "a", "b", p.rtA, log
	cfgA.DataDir, cfgA.Listen = t.TempDir(), "127.0.0.1:0"
	cfgA.User, cfgA.Password = "links", "s3cret"
	p.a = startLink(t, cfgA)
	p.proxy = newProxy(t, p.a.LeafAddr())
	cfgB.Name, cfgB.Peer, cfgB.Local, cfgB.Logger = "b", "a", p.rtB, log
	cfgB.DataDir, cfgB.Remote = t.TempDir(), "nats-leaf://"+p.proxy.addr()
	cfgB.User, cfgB.Password = "links", "s3cret"
	p.b = startLink(t, cfgB)
	p.cfgA, p.cfgB = cfgA, cfgB
	waitFor(t, "the leaf node connection", func() bool { return p.a.Up() && p.b.Up() })
	return p
}

// waitFor waits until cond holds, failing the test after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %v", what, wait)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// events subscribes s to topic (with policy) and returns the channel of
// its events.
func events(t *testing.T, s *client.Session, topic wamp.URI, policy wamp.MatchPolicy) <-chan *client.Event {
	t.Helper()
	ch := make(chan *client.Event, 1000)
	subscribe(t, s, topic, policy, ch)
	return ch
}

// subscribe subscribes s to topic (with policy), its events sent to ch.
func subscribe(t *testing.T, s *client.Session, topic wamp.URI, policy wamp.MatchPolicy, ch chan<- *client.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, err := s.Subscribe(ctx, topic, func(_ context.Context, e *client.Event) { ch <- e }, &client.SubscribeOptions{Match: policy})
	if err != nil {
		t.Fatal(err)
	}
}

// next returns the next event of ch, failing the test after wait.
func next(t *testing.T, ch <-chan *client.Event, what string) *client.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(wait):
		t.Fatalf("no event %s within %v", what, wait)
		return nil
	}
}

// none checks that ch holds no event now.
func none(t *testing.T, ch <-chan *client.Event, what string) {
	t.Helper()
	select {
	case e := <-ch:
		t.Errorf("unexpected event %s: topic %s, args %v", what, e.Topic(), e.Args)
	default:
	}
}

func publish(t *testing.T, s *client.Session, topic wamp.URI, args wamp.List, kwargs wamp.Dict) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := s.Publish(ctx, topic, args, kwargs, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// proxy forwards TCP connections to target while it is up; down cuts
// the connections and refuses new ones, as a network failure would.
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu    sync.Mutex
	up    bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, up: true, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.setUp(false)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if !p.up {
			p.mu.Unlock()
			c.Close()
			continue
		}
		d, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[d] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		p.wg.Go(func() { pipe(d, c) })
		p.wg.Go(func() { pipe(c, d) })
	}
}

// setUp lets connections through, or cuts them all.
func (p *proxy) setUp(up bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.up = up
	if !up {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

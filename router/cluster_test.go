package router

import (
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// memCluster links routers in one process, as package cluster links
// them over NATS: each node has an inbox drained by one goroutine, the
// link's, which calls Receive, Seen and Lost in order.
type memCluster struct {
	t     *testing.T
	mu    sync.Mutex
	nodes map[string]*memNode
}

type memNode struct {
	c    *memCluster
	name string
	h    *harness
	n    *Node
	in   chan memEvent
	// cut drops what the node sends and receives: a partition.
	mu  sync.Mutex
	cut bool
}

type memEvent struct {
	from  string
	frame []byte
	seen  bool
	lost  bool
	inc   uint64
	done  chan struct{}
	apply func()
}

func newMemCluster(t *testing.T, cfg Config, names ...string) *memCluster {
	c := &memCluster{t: t, nodes: make(map[string]*memNode)}
	for _, name := range names {
		c.add(name, cfg)
	}
	for _, a := range names {
		for _, b := range names {
			if a != b {
				c.see(a, b)
			}
		}
	}
	return c
}

func (c *memCluster) add(name string, cfg Config) *memNode {
	h := newHarness(c.t, cfg)
	m := &memNode{c: c, name: name, h: h, in: make(chan memEvent, 1<<16)}
	n, err := h.r.JoinCluster(name, m)
	if err != nil {
		c.t.Fatal(err)
	}
	m.n = n
	c.mu.Lock()
	c.nodes[name] = m
	c.mu.Unlock()
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case ev := <-m.in:
				switch {
				case ev.apply != nil:
					ev.apply()
				case ev.seen:
					n.Seen(ev.from, ev.inc, 0)
				case ev.lost:
					n.Lost(ev.from)
				default:
					n.Receive(ev.from, ev.frame)
				}
				if ev.done != nil {
					close(ev.done)
				}
			case <-stop:
				return
			}
		}
	}()
	c.t.Cleanup(func() { close(stop) })
	return m
}

func (m *memNode) Send(to string, frame []byte) {
	m.c.mu.Lock()
	target := m.c.nodes[to]
	m.c.mu.Unlock()
	if target == nil || m.isCut() || target.isCut() {
		return
	}
	target.in <- memEvent{from: m.name, frame: slices.Clone(frame)}
}

func (m *memNode) isCut() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cut
}

// see tells node a that node b is alive (b's beacon).
func (c *memCluster) see(a, b string) { c.nodes[a].in <- memEvent{from: b, seen: true, inc: 1} }

// lose tells node a that node b is dead, and waits until a has handled it.
func (c *memCluster) lose(a, b string) {
	done := make(chan struct{})
	c.nodes[a].in <- memEvent{from: b, lost: true, done: done}
	<-done
}

func (c *memCluster) node(name string) *memNode { return c.nodes[name] }

// waitFor polls cond until it holds, for 5s at most.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// knows reports whether node m's realm1 lists session id.
func (m *memNode) knows(id wamp.ID) bool { return m.h.r.realm("realm1").session(id) != nil }

// registered reports how many callees node m sees for procedure.
func (m *memNode) registered(proc wamp.URI) int {
	d := m.h.r.realm("realm1").dealer
	d.mu.Lock()
	defer d.mu.Unlock()
	if reg := d.regs.lookup(proc, wamp.MatchExact); reg != nil {
		return len(reg.sessions())
	}
	return 0
}

// subscribed reports how many subscribers node m sees for topic and match.
func (m *memNode) subscribed(topic wamp.URI, match wamp.MatchPolicy) int {
	b := m.h.r.realm("realm1").broker
	b.mu.RLock()
	defer b.mu.RUnlock()
	if sub := b.subs.lookup(topic, match); sub != nil {
		return len(sub.sessions())
	}
	return 0
}

// enter joins realm1 on node m and waits until every other node lists the
// session.
func (c *memCluster) enter(m *memNode, kind string) *peer {
	c.t.Helper()
	p := m.h.enter(kind)
	for _, o := range c.nodes {
		waitFor(c.t, "session known cluster-wide", func() bool { return o.knows(p.id) })
	}
	return p
}

func (c *memCluster) waitRegistered(proc wamp.URI, n int) {
	c.t.Helper()
	for _, o := range c.nodes {
		waitFor(c.t, "registration of "+string(proc)+" known cluster-wide", func() bool { return o.registered(proc) == n })
	}
}

func (c *memCluster) waitSubscribed(topic wamp.URI, match wamp.MatchPolicy, n int) {
	c.t.Helper()
	for _, o := range c.nodes {
		waitFor(c.t, "subscription to "+string(topic)+" known cluster-wide", func() bool { return o.subscribed(topic, match) == n })
	}
}

func TestClusterPubSub(t *testing.T) {
	c := newMemCluster(t, Config{}, "a", "b", "c")
	a, b := c.node("a"), c.node("b")
	pub := c.enter(a, "json")
	exact1, exact2 := c.enter(b, "msgpack"), c.enter(b, "cbor")
	prefix, wild := c.enter(c.node("c"), "json"), c.enter(b, "local")
	exact1.subscribe("com.ex.topic")
	exact2.subscribe("com.ex.topic")
	prefix.subscribeWith("com.ex", wamp.Dict{"match": "prefix"})
	wild.subscribeWith("com..topic", wamp.Dict{"match": "wildcard"})
	c.waitSubscribed("com.ex.topic", wamp.MatchExact, 2)
	c.waitSubscribed("com.ex", wamp.MatchPrefix, 1)
	c.waitSubscribed("com..topic", wamp.MatchWildcard, 1)

	before := testutil.ToFloat64(a.h.r.metrics.framesOut)
	pub.send(&wamp.Publish{Request: 1, Topic: "com.ex.topic", Options: wamp.Dict{"acknowledge": true, "disclose_me": true},
		Payload: wamp.Payload{Args: wamp.List{"hello", int64(1)}}})
	expect[*wamp.Published](pub)
	for _, p := range []*peer{exact1, exact2, prefix, wild} {
		ev := expect[*wamp.Event](p)
		if !reflect.DeepEqual(ev.Args, wamp.List{"hello", int64(1)}) || !sameID(ev.Details["publisher"], pub.id) {
			t.Fatalf("EVENT %#v", ev)
		}
	}
	// One frame per interested node (b and c), however many subscribers
	// each has.
	if sent := testutil.ToFloat64(a.h.r.metrics.framesOut) - before; sent != 2 {
		t.Fatalf("frames sent for one publication: %v, want 2", sent)
	}

	// Black and white lists name sessions of other nodes.
	pub.send(&wamp.Publish{Request: 2, Topic: "com.ex.topic", Options: wamp.Dict{"exclude": wamp.List{exact1.id}}})
	expect[*wamp.Event](exact2)
	expect[*wamp.Event](prefix)
	expect[*wamp.Event](wild)
	exact1.quiet()
	pub.send(&wamp.Publish{Request: 3, Topic: "com.ex.topic", Options: wamp.Dict{"eligible": wamp.List{prefix.id}}})
	expect[*wamp.Event](prefix)
	exact1.quiet()
	exact2.quiet()

	// Events of one publisher arrive in order.
	for i := range 200 {
		pub.send(&wamp.Publish{Request: wamp.ID(10 + i), Topic: "com.ex.topic", Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
	}
	for i := range 200 {
		if ev := expect[*wamp.Event](exact1); ev.Args[0] != int64(i) {
			t.Fatalf("event %d carries %v", i, ev.Args)
		}
	}

	// Unsubscribing reaches the other nodes.
	exact1.send(&wamp.Unsubscribe{Request: 99, Subscription: expect[*wamp.Event](exact2).Subscription})
	expect[*wamp.Unsubscribed](exact1)
	c.waitSubscribed("com.ex.topic", wamp.MatchExact, 1)
}

func TestClusterRetainedEvents(t *testing.T) {
	c := newMemCluster(t, Config{}, "a", "b")
	pub := c.enter(c.node("a"), "json")
	pub.send(&wamp.Publish{Request: 1, Topic: "com.ex.state", Options: wamp.Dict{"retain": true, "acknowledge": true},
		Payload: wamp.Payload{Args: wamp.List{"on"}}})
	expect[*wamp.Published](pub)
	sub := c.enter(c.node("b"), "json")
	waitFor(t, "retained event on b", func() bool {
		b := c.node("b").h.r.realm("realm1").broker
		b.retainMu.RLock()
		defer b.retainMu.RUnlock()
		return len(b.retained["com.ex.state"]) == 1
	})
	sub.subscribeWith("com.ex.state", wamp.Dict{"get_retained": true})
	if ev := expect[*wamp.Event](sub); ev.Args[0] != "on" || ev.Details["retained"] != true {
		t.Fatalf("EVENT %#v", ev)
	}
}

func TestClusterRPC(t *testing.T) {
	c := newMemCluster(t, Config{}, "a", "b")
	caller, callee := c.enter(c.node("a"), "json"), c.enter(c.node("b"), "msgpack")
	callee.send(&wamp.Register{Request: 1, Procedure: "com.ex.add", Options: wamp.Dict{"disclose_caller": true}})
	regID := expect[*wamp.Registered](callee).Registration
	c.waitRegistered("com.ex.add", 1)

	caller.send(&wamp.Call{Request: 7, Procedure: "com.ex.add", Payload: wamp.Payload{Args: wamp.List{int64(2), int64(3)}}})
	inv := expect[*wamp.Invocation](callee)
	if inv.Registration != regID || !sameID(inv.Details["caller"], caller.id) || !reflect.DeepEqual(inv.Args, wamp.List{int64(2), int64(3)}) {
		t.Fatalf("INVOCATION %#v", inv)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: wamp.List{int64(5)}}})
	if res := expect[*wamp.Result](caller); res.Request != 7 || res.Args[0] != int64(5) {
		t.Fatalf("RESULT %#v", res)
	}

	// An application error crosses back.
	caller.send(&wamp.Call{Request: 8, Procedure: "com.ex.add"})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Error: "com.ex.error.overflow",
		Payload: wamp.Payload{Args: wamp.List{"too big"}}})
	if e := expect[*wamp.ErrorMessage](caller); e.Request != 8 || e.Error != "com.ex.error.overflow" || e.Args[0] != "too big" {
		t.Fatalf("ERROR %#v", e)
	}

	// An exclusive registration is exclusive cluster-wide.
	other := c.enter(c.node("a"), "json")
	other.send(&wamp.Register{Request: 2, Procedure: "com.ex.add"})
	if e := expect[*wamp.ErrorMessage](other); e.Error != wamp.URIProcedureAlreadyExists {
		t.Fatalf("second registration: %#v", e)
	}

	// The callee leaving mid-call ends the call.
	caller.send(&wamp.Call{Request: 9, Procedure: "com.ex.add"})
	expect[*wamp.Invocation](callee)
	callee.p.Close()
	if e := expect[*wamp.ErrorMessage](caller); e.Request != 9 || e.Error != wamp.URICanceled {
		t.Fatalf("ERROR %#v", e)
	}
	c.waitRegistered("com.ex.add", 0)
	caller.send(&wamp.Call{Request: 10, Procedure: "com.ex.add"})
	if e := expect[*wamp.ErrorMessage](caller); e.Error != wamp.URINoSuchProcedure {
		t.Fatalf("ERROR %#v", e)
	}
}

// calleeRoles announce what a callee needs for canceling and progress.
var calleeRoles = wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{"call_canceling": true,
	"progressive_call_results": true, "progressive_call_invocations": true}},
	"caller": wamp.Dict{"features": wamp.Dict{"progressive_call_invocations": true, "call_canceling": true}}}

func (c *memCluster) enterWith(m *memNode, roles wamp.Dict) *peer {
	c.t.Helper()
	p := m.h.connect("json")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles}})
	p.id = expect[*wamp.Welcome](p).Session
	for _, o := range c.nodes {
		waitFor(c.t, "session known cluster-wide", func() bool { return o.knows(p.id) })
	}
	return p
}

func TestClusterRPCAdvanced(t *testing.T) {
	c := newMemCluster(t, Config{}, "a", "b")
	caller, callee := c.enterWith(c.node("a"), calleeRoles), c.enterWith(c.node("b"), calleeRoles)
	callee.send(&wamp.Register{Request: 1, Procedure: "com.ex", Options: wamp.Dict{"match": "prefix"}})
	expect[*wamp.Registered](callee)
	d := c.node("a").h.r.realm("realm1").dealer
	waitFor(t, "prefix registration on a", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.regs.lookup("com.ex", wamp.MatchPrefix) != nil
	})

	// Progressive results, and the concrete procedure of a pattern.
	caller.send(&wamp.Call{Request: 1, Procedure: "com.ex.stream", Options: wamp.Dict{"receive_progress": true}})
	inv := expect[*wamp.Invocation](callee)
	if inv.Details["procedure"] != "com.ex.stream" || inv.Details["receive_progress"] != true {
		t.Fatalf("INVOCATION %#v", inv)
	}
	for i := range 3 {
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
	}
	callee.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: wamp.List{"done"}}})
	for i := range 3 {
		if r := expect[*wamp.Result](caller); r.Details["progress"] != true || r.Args[0] != int64(i) {
			t.Fatalf("progressive RESULT %d: %#v", i, r)
		}
	}
	if r := expect[*wamp.Result](caller); r.Details["progress"] == true || r.Args[0] != "done" {
		t.Fatalf("final RESULT %#v", r)
	}

	// Progressive invocations: every chunk reaches the same invocation.
	caller.send(&wamp.Call{Request: 2, Procedure: "com.ex.upload", Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{"a"}}})
	first := expect[*wamp.Invocation](callee)
	caller.send(&wamp.Call{Request: 2, Procedure: "com.ex.upload", Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{"b"}}})
	caller.send(&wamp.Call{Request: 2, Procedure: "com.ex.upload", Payload: wamp.Payload{Args: wamp.List{"c"}}})
	second, last := expect[*wamp.Invocation](callee), expect[*wamp.Invocation](callee)
	if second.Request != first.Request || last.Request != first.Request || second.Details["progress"] != true ||
		last.Details["progress"] == true || last.Args[0] != "c" {
		t.Fatalf("chunks %#v %#v %#v", first, second, last)
	}
	callee.send(&wamp.Yield{Request: first.Request, Payload: wamp.Payload{Args: wamp.List{"abc"}}})
	if r := expect[*wamp.Result](caller); r.Request != 2 || r.Args[0] != "abc" {
		t.Fatalf("RESULT %#v", r)
	}

	// CANCEL in kill mode: the callee is interrupted and its answer ends
	// the call.
	caller.send(&wamp.Call{Request: 3, Procedure: "com.ex.slow"})
	inv = expect[*wamp.Invocation](callee)
	caller.send(&wamp.Cancel{Request: 3, Options: wamp.Dict{"mode": "kill"}})
	intr := expect[*wamp.Interrupt](callee)
	if intr.Request != inv.Request || intr.Options["mode"] != "kill" {
		t.Fatalf("INTERRUPT %#v", intr)
	}
	callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Error: wamp.URICanceled})
	if e := expect[*wamp.ErrorMessage](caller); e.Request != 3 || e.Error != wamp.URICanceled {
		t.Fatalf("ERROR %#v", e)
	}
	// skip: the caller is answered at once, the callee left alone.
	caller.send(&wamp.Call{Request: 4, Procedure: "com.ex.slow"})
	inv = expect[*wamp.Invocation](callee)
	caller.send(&wamp.Cancel{Request: 4, Options: wamp.Dict{"mode": "skip"}})
	if e := expect[*wamp.ErrorMessage](caller); e.Request != 4 || e.Error != wamp.URICanceled {
		t.Fatalf("ERROR %#v", e)
	}
	callee.quiet()
	callee.send(&wamp.Yield{Request: inv.Request}) // late: dropped
	// killnowait: both at once.
	caller.send(&wamp.Call{Request: 5, Procedure: "com.ex.slow"})
	inv = expect[*wamp.Invocation](callee)
	caller.send(&wamp.Cancel{Request: 5, Options: wamp.Dict{"mode": "killnowait"}})
	if e := expect[*wamp.ErrorMessage](caller); e.Request != 5 || e.Error != wamp.URICanceled {
		t.Fatalf("ERROR %#v", e)
	}
	if intr := expect[*wamp.Interrupt](callee); intr.Request != inv.Request {
		t.Fatalf("INTERRUPT %#v", intr)
	}
	caller.quiet()

	// Timeout: the caller's node times the call out and interrupts the
	// callee.
	caller.send(&wamp.Call{Request: 6, Procedure: "com.ex.slow", Options: wamp.Dict{"timeout": int64(50)}})
	inv = expect[*wamp.Invocation](callee)
	if e := expect[*wamp.ErrorMessage](caller); e.Request != 6 || e.Error != wamp.URITimeout {
		t.Fatalf("ERROR %#v", e)
	}
	if intr := expect[*wamp.Interrupt](callee); intr.Request != inv.Request || intr.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %#v", intr)
	}
}

func TestClusterSharedRegistration(t *testing.T) {
	for _, policy := range []string{"roundrobin", "random", "first", "last"} {
		t.Run(policy, func(t *testing.T) {
			c := newMemCluster(t, Config{}, "a", "b", "c")
			caller := c.enter(c.node("a"), "json")
			var callees []*peer
			for _, name := range []string{"a", "b", "c"} {
				p := c.enter(c.node(name), "json")
				p.send(&wamp.Register{Request: 1, Procedure: "com.ex.work", Options: wamp.Dict{"invoke": policy}})
				expect[*wamp.Registered](p)
				callees = append(callees, p)
				// Registered in this order on every node.
				c.waitRegistered("com.ex.work", len(callees))
			}
			// A different policy is refused whichever node asks.
			odd := c.enter(c.node("b"), "json")
			odd.send(&wamp.Register{Request: 1, Procedure: "com.ex.work", Options: wamp.Dict{"invoke": "single"}})
			if e := expect[*wamp.ErrorMessage](odd); e.Error != wamp.URIInvocationPolicyConflict {
				t.Fatalf("ERROR %#v", e)
			}

			served := make([]int, 3)
			var order []int
			for i := range 30 {
				caller.send(&wamp.Call{Request: wamp.ID(i + 1), Procedure: "com.ex.work"})
				got := -1
				for got < 0 {
					for j, p := range callees {
						select {
						case m := <-p.in:
							inv := m.(*wamp.Invocation)
							p.send(&wamp.Yield{Request: inv.Request})
							got = j
						default:
						}
					}
					time.Sleep(100 * time.Microsecond)
				}
				served[got]++
				order = append(order, got)
				expect[*wamp.Result](caller)
			}
			switch policy {
			case "roundrobin":
				for i, j := range order {
					if j != i%3 {
						t.Fatalf("roundrobin order %v", order)
					}
				}
			case "first":
				if served[0] != 30 {
					t.Fatalf("first: served %v", served)
				}
			case "last":
				if served[2] != 30 {
					t.Fatalf("last: served %v", served)
				}
			case "random":
				if served[0]+served[1]+served[2] != 30 || served[0] == 30 || served[1] == 30 || served[2] == 30 {
					t.Fatalf("random: served %v", served)
				}
			}
		})
	}
}

func TestClusterMetaAPI(t *testing.T) {
	c := newMemCluster(t, Config{}, "a", "b")
	watcher := c.enter(c.node("a"), "json")
	watcher.subscribe("wamp.session.on_join")
	watcher.subscribe("wamp.registration.on_register")
	c.waitSubscribed("wamp.session.on_join", wamp.MatchExact, 1)
	c.waitSubscribed("wamp.registration.on_register", wamp.MatchExact, 1)

	remote := c.enter(c.node("b"), "msgpack")
	if ev := expect[*wamp.Event](watcher); !sameID(ev.Args[0].(wamp.Dict)["session"], remote.id) {
		t.Fatalf("on_join %#v", ev)
	}
	remote.register("com.ex.proc")
	if ev := expect[*wamp.Event](watcher); !sameID(ev.Args[0], remote.id) {
		t.Fatalf("on_register %#v", ev)
	}

	if n := watcher.meta("wamp.session.count", nil, nil); n[0] != int64(2) {
		t.Fatalf("session count %v", n)
	}
	ids := watcher.meta("wamp.session.list", nil, nil)[0].(wamp.List)
	if !slices.ContainsFunc(ids, func(v any) bool { return sameID(v, remote.id) }) {
		t.Fatalf("session list %v lacks %d", ids, remote.id)
	}
	got := watcher.meta("wamp.session.get", wamp.List{remote.id}, nil)[0].(wamp.Dict)
	if !sameID(got["session"], remote.id) || got["transport"].(wamp.Dict)["serializer"] != "msgpack" {
		t.Fatalf("session get %#v", got)
	}
	regID := watcher.meta("wamp.registration.lookup", wamp.List{"com.ex.proc"}, nil)[0]
	callees := watcher.meta("wamp.registration.list_callees", wamp.List{regID}, nil)[0].(wamp.List)
	if len(callees) != 1 || !sameID(callees[0], remote.id) {
		t.Fatalf("callees %v", callees)
	}

	// The Go inspection API (the web admin's) sees the same: the node of
	// a mirrored session and registration, and the cluster's nodes.
	ra := c.node("a").h.r
	if nodes := ra.Nodes(); !slices.Equal(nodes, []string{"a", "b"}) {
		t.Fatalf("Nodes() = %v", nodes)
	}
	if si, err := ra.Session("realm1", remote.id); err != nil || si.Node != "b" || si.Serializer != "msgpack" {
		t.Fatalf("Session(remote) = %+v, %v", si, err)
	}
	regs, err := ra.Registrations("realm1")
	if err != nil || len(regs) != 1 || regs[0].Node != "b" || !slices.Equal(regs[0].Members, []wamp.ID{remote.id}) {
		t.Fatalf("Registrations() = %+v, %v", regs, err)
	}

	// Killing a session of another node.
	watcher.meta("wamp.session.kill", wamp.List{remote.id}, wamp.Dict{"reason": "com.ex.kicked"})
	if gb := expect[*wamp.Goodbye](remote); gb.Reason != "com.ex.kicked" {
		t.Fatalf("GOODBYE %#v", gb)
	}
	remote.send(&wamp.Goodbye{Reason: wamp.URICloseGoodbyeAndOut})
	waitFor(t, "killed session gone from a", func() bool { return !c.node("a").knows(remote.id) })
}

func TestClusterNodeLost(t *testing.T) {
	c := newMemCluster(t, Config{}, "a", "b", "c")
	caller := c.enter(c.node("a"), "json")
	watcher := c.enter(c.node("c"), "json")
	doomed := c.enter(c.node("b"), "json")
	watcher.subscribe("com.ex.will")
	watcher.subscribe("wamp.session.on_leave")
	c.waitSubscribed("com.ex.will", wamp.MatchExact, 1)
	c.waitSubscribed("wamp.session.on_leave", wamp.MatchExact, 1)
	doomed.meta("wamp.session.add_testament", wamp.List{"com.ex.will", wamp.List{"gone"}, wamp.Dict{}}, nil)
	doomed.register("com.ex.proc")
	c.waitRegistered("com.ex.proc", 1)
	waitFor(t, "testament mirrored", func() bool {
		s := c.node("a").h.r.realm("realm1").session(doomed.id)
		s.testaments.mu.Lock()
		defer s.testaments.mu.Unlock()
		return len(s.testaments.destroyed) == 1
	})

	caller.send(&wamp.Call{Request: 1, Procedure: "com.ex.proc"})
	expect[*wamp.Invocation](doomed)

	if n := testutil.ToFloat64(c.node("a").h.r.metrics.clusterNodes); n != 3 {
		t.Fatalf("junction_cluster_nodes = %v, want 3", n)
	}
	// b dies: a and c find out. The call ends, the registration goes, the
	// testament is published once (by a, first by name of the survivors).
	c.node("b").mu.Lock()
	c.node("b").cut = true
	c.node("b").mu.Unlock()
	c.lose("a", "b")
	c.lose("c", "b")
	if e := expect[*wamp.ErrorMessage](caller); e.Request != 1 || e.Error != wamp.URICanceled {
		t.Fatalf("ERROR %#v", e)
	}
	caller.send(&wamp.Call{Request: 2, Procedure: "com.ex.proc"})
	if e := expect[*wamp.ErrorMessage](caller); e.Error != wamp.URINoSuchProcedure {
		t.Fatalf("ERROR %#v", e)
	}
	if ev := expect[*wamp.Event](watcher); ev.Args[0] != "gone" {
		t.Fatalf("testament %#v", ev)
	}
	if ev := expect[*wamp.Event](watcher); !sameID(ev.Args[0], doomed.id) {
		t.Fatalf("on_leave %#v", ev)
	}
	watcher.quiet()
	if n := testutil.ToFloat64(c.node("a").h.r.metrics.clusterNodes); n != 2 {
		t.Fatalf("junction_cluster_nodes = %v, want 2", n)
	}
	if c.node("a").knows(doomed.id) || c.node("c").knows(doomed.id) {
		t.Fatal("the lost node's session is still listed")
	}
	if n := watcher.meta("wamp.session.count", nil, nil); n[0] != int64(2) {
		t.Fatalf("session count %v", n)
	}
}

// TestClusterConflictingRegistrations: two nodes register the same
// procedure before either knows of the other's; once they meet, the older
// registration is the one left, everywhere.
func TestClusterConflictingRegistrations(t *testing.T) {
	c := &memCluster{t: t, nodes: make(map[string]*memNode)}
	a, b := c.add("a", Config{}), c.add("b", Config{})
	older := a.h.enter("json")
	older.register("com.ex.proc")
	newer := b.h.enterWith("json", wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{"registration_revocation": true}}})
	newerReg := newer.register("com.ex.proc")
	c.see("a", "b")
	c.see("b", "a")
	if u := expect[*wamp.Unregistered](newer); u.Request != 0 || !sameID(u.Details["registration"], newerReg) {
		t.Fatalf("revocation %#v", u)
	}
	c.waitRegistered("com.ex.proc", 1)
	caller := c.enter(b, "json")
	caller.send(&wamp.Call{Request: 1, Procedure: "com.ex.proc"})
	inv := expect[*wamp.Invocation](older)
	older.send(&wamp.Yield{Request: inv.Request})
	expect[*wamp.Result](caller)
}

func (h *harness) enterWith(kind string, roles wamp.Dict) *peer {
	h.t.Helper()
	p := h.connect(kind)
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles}})
	p.id = expect[*wamp.Welcome](p).Session
	h.waitListed(p, true)
	return p
}

// TestClusterLateJoiner: a node that joins later gets the state as a
// snapshot; a restarted node (new incarnation) is a new node.
func TestClusterLateJoiner(t *testing.T) {
	c := newMemCluster(t, Config{}, "a")
	a := c.node("a")
	callee := a.h.enter("json")
	callee.register("com.ex.proc")
	listener := a.h.enter("json")
	listener.subscribe("com.ex.topic")

	b := c.add("b", Config{})
	c.see("a", "b")
	c.see("b", "a")
	c.waitRegistered("com.ex.proc", 1)
	c.waitSubscribed("com.ex.topic", wamp.MatchExact, 1)
	caller := b.h.enter("json")
	caller.send(&wamp.Call{Request: 1, Procedure: "com.ex.proc"})
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request})
	expect[*wamp.Result](caller)
	caller.send(&wamp.Publish{Request: 2, Topic: "com.ex.topic"})
	expect[*wamp.Event](listener)

	// b restarts: a drops the old incarnation's sessions. (b is cut off
	// first: here it has not really restarted, and would send its
	// sessions again in the snapshot a asks the new incarnation for.)
	waitFor(t, "b's session on a", func() bool { return a.knows(caller.id) })
	b.mu.Lock()
	b.cut = true
	b.mu.Unlock()
	done := make(chan struct{})
	a.in <- memEvent{from: "b", seen: true, inc: 2, done: done}
	<-done
	if a.knows(caller.id) {
		t.Fatal("a still lists a session of b's previous incarnation")
	}
}

// sameID reports whether a decoded value is the ID id.
func sameID(v any, id wamp.ID) bool {
	got, ok := wamp.AsID(v)
	return ok && got == id
}

// TestClusterDynamicAuthorizer: a node asks a dynamic authorizer
// registered on another node, through the cluster, and the call it
// allows goes to a callee on a third.
func TestClusterDynamicAuthorizer(t *testing.T) {
	realm := func(anonymousRole string) Config {
		rc := dynamicRealm()
		rc.Anonymous = &AnonymousAuth{Role: anonymousRole}
		rc.Roles = append(rc.Roles, Role{Name: "both", Permissions: []Permission{
			{URI: testAuthorizerURI, Register: true}, {URI: "com.", Match: "prefix", Register: true}}})
		return Config{RealmConfigs: []RealmConfig{rc}}
	}
	c := &memCluster{t: t, nodes: make(map[string]*memNode)}
	a, b := c.add("a", realm("both")), c.add("b", realm("user"))
	c.see("a", "b")
	c.see("b", "a")
	ctx := testCtx(t)

	authz := a.h.goClient("json", "dyn", nil)
	ta := &testAuthorizer{changed: make(chan struct{}, 1), answers: map[string]any{"com.static.allowed": true, "com.static.denied": false}}
	mustRegister(t, authz, testAuthorizerURI, ta.handle, nil)
	mustRegister(t, authz, "com.static.", echoCaller, &client.RegisterOptions{Match: wamp.MatchPrefix})
	waitFor(t, "authorizer known on b", func() bool {
		d := b.h.r.realm("dyn").dealer
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.regs.lookup(testAuthorizerURI, wamp.MatchExact) != nil && d.regs.lookup("com.static.", wamp.MatchPrefix) != nil
	})

	user := b.h.goClient("msgpack", "dyn", nil)
	if _, err := user.Call(ctx, "com.static.allowed", nil, nil, nil); err != nil {
		t.Fatalf("allowed call: %v", err)
	}
	if _, err := user.Call(ctx, "com.static.denied", nil, nil, nil); !errors.Is(err, wamp.ErrNotAuthorized) {
		t.Fatalf("denied call: %v", err)
	}
	if got := ta.last(); got.uri != "com.static.denied" || got.action != "call" || !sameID(got.details["session"], user.ID()) {
		t.Fatalf("the authorizer was asked %+v", got)
	}
}

// TestClusterEventHistory: an event kept in history on its publisher's
// node is kept on every node, so that wamp.subscription.get_events
// answers the same everywhere.
func TestClusterEventHistory(t *testing.T) {
	cfg := Config{EventHistory: []EventHistory{{Topic: "com.ex.log", Limit: 10}}}
	c := newMemCluster(t, cfg, "a", "b")
	pub := c.enter(c.node("a"), "json")
	for i := range 3 {
		pub.send(&wamp.Publish{Request: wamp.ID(i + 1), Topic: "com.ex.log", Options: wamp.Dict{"acknowledge": true},
			Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
		expect[*wamp.Published](pub)
	}
	ring := c.node("b").h.r.realm("realm1").broker.history[0]
	waitFor(t, "history on b", func() bool {
		ring.mu.Lock()
		defer ring.mu.Unlock()
		return len(ring.events) == 3
	})
	reader := c.enter(c.node("b"), "json")
	subID := reader.subscribe("com.ex.log")
	events := reader.meta("wamp.subscription.get_events", wamp.List{subID}, nil)
	if len(events) != 3 {
		t.Fatalf("history on b: %v", events)
	}
	for i, e := range events {
		// Oldest first, as the meta procedure gives them.
		if args := e.(wamp.Dict)["args"].(wamp.List); args[0] != int64(i) {
			t.Fatalf("history %v", events)
		}
	}
}

package router

import (
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// discardLink is a cluster link that drops what its node sends: the
// tests below feed the node frames by hand.
type discardLink struct{}

func (discardLink) Send(string, []byte) {}

// TestClusterSnapshotSweeps: a snapshot replaces what a peer's earlier
// state said. What it names again stays (and is not attached twice);
// registrations, subscriptions and sessions it leaves out go. Proxies
// keep no bookkeeping of their own, so this is the broker's and the
// dealer's state, read back.
func TestClusterSnapshotSweeps(t *testing.T) {
	h := newHarness(t, Config{})
	n, err := h.r.JoinCluster("b", discardLink{})
	if err != nil {
		t.Fatal(err)
	}
	n.Seen("a", 1, 0)
	created := time.Now().Add(-time.Minute).UTC()
	join := func(id wamp.ID) stateOp {
		return stateOp{Op: "join", Realm: "realm1", Session: id, AuthRole: "anonymous", Transport: "websocket"}
	}
	sub := func(id wamp.ID, topic wamp.URI) stateOp {
		return stateOp{Op: "sub", Realm: "realm1", Session: id, URI: topic, Match: wamp.MatchExact}
	}
	reg := func(id wamp.ID, proc wamp.URI) stateOp {
		return stateOp{Op: "reg", Realm: "realm1", Session: id, URI: proc, Match: wamp.MatchExact, Invoke: invokeSingle, Created: created}
	}
	seq := uint64(0)
	snapshot := func(ops ...stateOp) {
		t.Helper()
		seq++
		frame, err := stateFrameBytes(stateFrame{Seq: seq, Snapshot: true, Ops: ops})
		if err != nil {
			t.Fatal(err)
		}
		n.Receive("a", frame)
	}
	rl := h.r.realm("realm1")
	subscribers := func(topic wamp.URI) int {
		rl.broker.mu.RLock()
		defer rl.broker.mu.RUnlock()
		if e := rl.broker.subs.lookup(topic, wamp.MatchExact); e != nil {
			return len(e.sessions())
		}
		return 0
	}
	callees := func(proc wamp.URI) int {
		rl.dealer.mu.Lock()
		defer rl.dealer.mu.Unlock()
		if e := rl.dealer.regs.lookup(proc, wamp.MatchExact); e != nil {
			return len(e.sessions())
		}
		return 0
	}
	check := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d, want %d", what, got, want)
		}
	}

	snapshot(join(1), sub(1, "t.kept"), sub(1, "t.dropped"), reg(1, "p.kept"), reg(1, "p.dropped"),
		join(2), sub(2, "t.kept"))
	check("subscribers of t.kept", subscribers("t.kept"), 2)
	check("subscribers of t.dropped", subscribers("t.dropped"), 1)
	check("callees of p.kept", callees("p.kept"), 1)
	check("callees of p.dropped", callees("p.dropped"), 1)

	// The same again, less session 2 and the two "dropped" entries.
	snapshot(join(1), sub(1, "t.kept"), reg(1, "p.kept"))
	check("subscribers of t.kept", subscribers("t.kept"), 1)
	check("subscribers of t.dropped", subscribers("t.dropped"), 0)
	check("callees of p.kept", callees("p.kept"), 1)
	check("callees of p.dropped", callees("p.dropped"), 0)
	if rl.session(2) != nil {
		t.Error("session 2, left out of the snapshot, is still in the realm")
	}
	if rl.session(1) == nil {
		t.Fatal("session 1 is gone")
	}
	s1 := rl.session(1)
	rl.broker.mu.RLock()
	held := rl.broker.bySession[s1].len()
	rl.broker.mu.RUnlock()
	check("subscriptions session 1 holds", held, 1)

	// A delta after the snapshot still applies, and a snapshot without
	// the session removes the rest.
	frame, err := stateFrameBytes(stateFrame{Seq: seq + 1, Ops: []stateOp{sub(1, "t.delta")}})
	if err != nil {
		t.Fatal(err)
	}
	seq++
	n.Receive("a", frame)
	check("subscribers of t.delta", subscribers("t.delta"), 1)
	snapshot()
	check("subscribers of t.kept", subscribers("t.kept"), 0)
	check("subscribers of t.delta", subscribers("t.delta"), 0)
	check("callees of p.kept", callees("p.kept"), 0)
	if rl.session(1) != nil {
		t.Error("session 1, left out of the last snapshot, is still in the realm")
	}
	select {
	case <-s1.peer.Done():
	default:
		t.Error("the removed proxy's Done channel is open")
	}
}

// TestProxyDoneIsClosedWhenMadeLate: a proxy makes its Done channel on
// first use; asked for after the proxy went, it comes closed.
func TestProxyDoneIsClosedWhenMadeLate(t *testing.T) {
	var r remoteSession
	early := r.doneChan()
	select {
	case <-early:
		t.Fatal("Done is closed before the proxy went")
	default:
	}
	if r.doneChan() != early {
		t.Fatal("Done returned two channels")
	}
	r.end()
	r.end() // twice: no panic
	<-early
	var late remoteSession
	late.end()
	<-late.doneChan()
}

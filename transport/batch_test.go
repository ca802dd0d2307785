package transport

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// batchPair is a connection whose server end reads (a, its client ac)
// and n connections whose server ends are written to through a's batch
// (targets, their clients).
type batchPair struct {
	a, ac            Peer
	targets, clients []Peer
}

// batchPairs makes a batchPair with n targets over each transport that
// batches.
func batchPairs(t *testing.T, n int, server Config) map[string]batchPair {
	t.Helper()
	pairs := map[string]batchPair{}
	servers, clients := wsPairs(t, n+1, server, Config{})
	pairs["websocket"] = batchPair{servers[0], clients[0], servers[1:], clients[1:]}
	for _, network := range rsNetworks {
		var bp batchPair
		bp.a, bp.ac = rsPair(t, network, server, Config{})
		for range n {
			s, c := rsPair(t, network, server, Config{})
			bp.targets, bp.clients = append(bp.targets, s), append(bp.clients, c)
		}
		pairs["rawsocket/"+network] = bp
	}
	return pairs
}

// reading reads p on a goroutine of its own, for wait.
func reading(p Peer) (<-chan wamp.Message, <-chan error) {
	msgs, errs := make(chan wamp.Message, 256), make(chan error, 1)
	go func() {
		for {
			m, err := p.Read()
			if err != nil {
				errs <- err
				return
			}
			msgs <- m
		}
	}()
	return msgs, errs
}

func event(n int) *wamp.Event {
	return &wamp.Event{Subscription: 1, Publication: wamp.ID(n + 1), Details: wamp.Dict{},
		Payload: wamp.Payload{Args: wamp.List{int64(n)}}}
}

// wantEvent checks that m is event(n).
func wantEvent(t *testing.T, m wamp.Message, n int) {
	t.Helper()
	ev, ok := m.(*wamp.Event)
	if !ok {
		t.Fatalf("got %T, want EVENT %d", m, n)
	}
	if ev.Publication != wamp.ID(n+1) {
		t.Fatalf("got EVENT %d, want %d", ev.Publication-1, n)
	}
}

// nextEvent waits for the client's next message and checks that it is
// event(n).
func nextEvent(t *testing.T, delivered <-chan wamp.Message, errs <-chan error, n int) {
	t.Helper()
	select {
	case m := <-delivered:
		wantEvent(t, m, n)
	case err := <-errs:
		t.Fatalf("after %d events, the client's read: %v", n, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out after %d events", n)
	}
}

func backlog(p Peer) int {
	q, _ := p.(Backlogger).Backlog()
	return q
}

// TestBatchWritesBeforeTheReaderWaits: what a reader routes through its
// batch waits in the target's queue, no writer started, until the
// reader's next Read flushes it before waiting for input.
func TestBatchWritesBeforeTheReaderWaits(t *testing.T) {
	for name, bp := range batchPairs(t, 1, Config{}) {
		t.Run(name, func(t *testing.T) {
			b, bc := bp.targets[0], bp.clients[0]
			delivered, _ := reading(bc)
			if err := bp.ac.Send(&wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t"}); err != nil {
				t.Fatal(err)
			}
			if _, err := bp.a.Read(); err != nil {
				t.Fatal(err)
			}
			batch := bp.a.(Batcher).Batch()
			if err := batch.Send(b, event(0)); err != nil {
				t.Fatal(err)
			}
			if !batch.Pending() {
				t.Fatal("the target was not left to the batch")
			}
			if q := backlog(b); q != 1 {
				t.Fatalf("backlog %d before the flush, want 1: a writer ran", q)
			}
			// The reader's next Read flushes, then waits for the client.
			read := make(chan error, 1)
			go func() {
				_, err := bp.a.Read()
				read <- err
			}()
			wantEvent(t, wait(t, delivered, "the event, while the reader waits"), 0)
			if q := backlog(b); q != 0 {
				t.Fatalf("backlog %d after the flush", q)
			}
			if err := bp.ac.Send(&wamp.Publish{Request: 2, Options: wamp.Dict{}, Topic: "t"}); err != nil {
				t.Fatal(err)
			}
			if err := wait(t, read, "the reader's next message"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBatchLeavesWhatTheSocketRefusesToAWriter: a flush writes what the
// socket takes without waiting and hands the rest, mid-frame, to a
// writer goroutine; the client gets every message, whole and in order.
func TestBatchLeavesWhatTheSocketRefusesToAWriter(t *testing.T) {
	// 1.5 MiB, well over what the socket takes.
	const n, size = 24, testSocketBuffer
	big := strings.Repeat("x", size)
	// The client reads only once the flush returns: the writer must
	// wait for it, however slow the race detector on a busy machine.
	for name, bp := range batchPairs(t, 1, Config{WriteTimeout: 2 * time.Minute}) {
		t.Run(name, func(t *testing.T) {
			b, bc := bp.targets[0], bp.clients[0]
			socketBuffers(t, b, bc)
			batch := bp.a.(Batcher).Batch()
			for i := range n {
				ev := event(i)
				ev.Payload.Kwargs = wamp.Dict{"pad": big}
				if err := batch.Send(b, ev); err != nil {
					t.Fatal(err)
				}
			}
			batch.Flush()
			if batch.Pending() {
				t.Fatal("still pending after Flush")
			}
			if !streamOf(b).writing.Load() {
				t.Fatal("the socket took 1.5 MiB at once: no writer was left the rest")
			}
			delivered, errs := reading(bc)
			for i := range n {
				nextEvent(t, delivered, errs, i)
			}
		})
	}
}

// streamOf returns the streamConn of one of this package's peers.
func streamOf(p Peer) *streamConn {
	switch p := p.(type) {
	case *wsConn:
		return &p.streamConn
	case *rsConn:
		return &p.streamConn
	}
	panic("not a stream peer")
}

// TestBatchFlushAfterAStaleWriteDeadline: the last writer's write
// deadline, long past, does not fail a flush's write (which does not
// wait at all).
func TestBatchFlushAfterAStaleWriteDeadline(t *testing.T) {
	for name, bp := range batchPairs(t, 1, Config{}) {
		t.Run(name, func(t *testing.T) {
			b, bc := bp.targets[0], bp.clients[0]
			delivered, errs := reading(bc)
			if err := streamOf(b).conn.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
			batch := bp.a.(Batcher).Batch()
			for i := range 2 {
				if err := batch.Send(b, event(i)); err != nil {
					t.Fatal(err)
				}
				batch.Flush()
				nextEvent(t, delivered, errs, i)
			}
			select {
			case <-b.Done():
				t.Fatal("the target was closed")
			default:
			}
		})
	}
}

// TestBatchBeyondItsBound: past batchMax targets, a batch starts their
// writers at once, as a plain Send does, so that a wide fan-out is
// written by every core; the first batchMax wait for the flush.
func TestBatchBeyondItsBound(t *testing.T) {
	servers, clients := wsPairs(t, batchMax+2, Config{}, Config{})
	a, targets := servers[0], servers[1:]
	batch := a.(Batcher).Batch()
	var delivered []<-chan wamp.Message
	for i, b := range targets {
		msgs, _ := reading(clients[1+i])
		delivered = append(delivered, msgs)
		if err := batch.Send(b, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The one past the bound arrives without a flush.
	wantEvent(t, wait(t, delivered[batchMax], "the event past the bound"), batchMax)
	for i := range batchMax {
		if q := backlog(targets[i]); q != 1 {
			t.Fatalf("target %d: backlog %d before the flush, want 1", i, q)
		}
	}
	batch.Flush()
	for i := range batchMax {
		wantEvent(t, wait(t, delivered[i], "a flushed event"), i)
	}
	// Sending twice to one target takes one place in the batch.
	for range 2 {
		if err := batch.Send(targets[0], event(0)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(batch.conns); n != 1 {
		t.Fatalf("%d places for one target", n)
	}
	batch.Flush()
	for range 2 {
		wantEvent(t, wait(t, delivered[0], "a flushed event"), 0)
	}
}

// TestBatchTargetClosedBeforeTheFlush: a target closed while its message
// waits for the flush still gets it (Close flushes what is queued), and
// the flush that follows finds nothing to do.
func TestBatchTargetClosedBeforeTheFlush(t *testing.T) {
	for name, bp := range batchPairs(t, 1, Config{}) {
		t.Run(name, func(t *testing.T) {
			b, bc := bp.targets[0], bp.clients[0]
			delivered, errs := reading(bc)
			batch := bp.a.(Batcher).Batch()
			if err := batch.Send(b, event(0)); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			wantEvent(t, wait(t, delivered, "the event"), 0)
			wait(t, errs, "the end of the connection")
			batch.Flush()
			if err := batch.Send(b, event(1)); err != ErrClosed {
				t.Fatalf("send after close: %v, want ErrClosed", err)
			}
		})
	}
}

// TestBatchDoesNotHoldTLS: crypto/tls cannot be written without
// blocking, so a batch starts a TLS peer's writer at once.
func TestBatchDoesNotHoldTLS(t *testing.T) {
	b, c := tlsPair(t)
	a, _ := wsPair(t, Config{}, Config{})
	delivered, _ := reading(c)
	batch := a.(Batcher).Batch()
	if err := batch.Send(b, event(0)); err != nil {
		t.Fatal(err)
	}
	if batch.Pending() {
		t.Fatal("a TLS peer was left to the batch")
	}
	wantEvent(t, wait(t, delivered, "the event, unflushed"), 0)
}

// tlsPair is a RawSocket connection over TLS: the server's peer and the
// client's.
func tlsPair(t *testing.T) (Peer, Peer) {
	server, client := testTLS(t)
	l := tls.NewListener(listen(t, "tcp"), server)
	ctx, cancel := context.WithCancel(context.Background())
	peers := make(chan Peer, 1)
	done := make(chan error, 1)
	go func() {
		done <- ServeRawSocket(ctx, l, Config{}, func(p Peer) {
			peers <- p
			<-p.Done()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	c, err := Dial(context.Background(), "rss://"+l.Addr().String(), Config{TLS: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	b := wait(t, peers, "the server peer")
	t.Cleanup(func() { b.Close() })
	return b, c
}

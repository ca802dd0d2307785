package transport

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// watchChunks records the size of every chunk a Flush starts, until the
// test ends.
func watchChunks(t *testing.T) *[]int {
	t.Helper()
	var sizes []int
	start := startChunk
	startChunk = func(conns []*streamConn) {
		sizes = append(sizes, len(conns))
		start(conns)
	}
	t.Cleanup(func() { startChunk = start })
	return &sizes
}

// TestFanoutWritesInChunks: a message sent to many connections through a
// Fanout waits in their queues, no writer started, until Flush; Flush
// writes them in chunks of even sizes, up to fanoutChunk connections a
// goroutine, and a few connections
// get a writer each, as without a Fanout.
func TestFanoutWritesInChunks(t *testing.T) {
	if fanoutChunk != 32 || fanoutAlone != 2 {
		t.Fatal("the table below is for chunks of up to 32, from 3 connections on")
	}
	for _, tc := range []struct {
		targets int
		chunks  []int
	}{
		{100, []int{25, 25, 25, 25}},
		{67, []int{23, 23, 21}},
		{32, []int{32}},
		{33, []int{17, 16}},
		{fanoutAlone + 1, []int{fanoutAlone + 1}},
		{fanoutAlone, nil},
	} {
		for name, bp := range batchPairs(t, tc.targets, Config{}) {
			t.Run(name, func(t *testing.T) {
				chunks := watchChunks(t)
				f := NewFanout()
				sh := NewShared(event(0))
				for _, b := range bp.targets {
					if err := f.SendShared(b, sh); err != nil {
						t.Fatal(err)
					}
				}
				for i, b := range bp.targets {
					if q := backlog(b); q != 1 || streamOf(b).writing.Load() {
						t.Fatalf("target %d before the flush: backlog %d, a writer started: %v", i, q, streamOf(b).writing.Load())
					}
				}
				f.Flush()
				if !slices.Equal(*chunks, tc.chunks) {
					t.Errorf("%d targets were written in chunks of %v, want %v", tc.targets, *chunks, tc.chunks)
				}
				for _, c := range bp.clients {
					delivered, errs := reading(c)
					nextEvent(t, delivered, errs, 0)
				}
			})
		}
	}
}

// TestFanoutLeavesWhatTheSocketRefusesToAWriter: a chunk writes what each
// socket takes without waiting and hands the rest, mid-frame, to the
// connection's writer; every client gets every event, whole and in
// order, and a connection being written is not taken again.
func TestFanoutLeavesWhatTheSocketRefusesToAWriter(t *testing.T) {
	// 1.5 MiB per target, well over what the sockets take.
	const n, size = 24, testSocketBuffer
	big := strings.Repeat("x", size)
	// The clients read only once every event is sent, so the writers
	// wait for them: longer than the default write timeout when the
	// race detector runs on a busy machine, which would close the
	// connections under the test.
	for name, bp := range batchPairs(t, fanoutAlone+1, Config{WriteTimeout: 2 * time.Minute}) {
		t.Run(name, func(t *testing.T) {
			for i := range bp.targets {
				socketBuffers(t, bp.targets[i], bp.clients[i])
			}
			// The chunk is written on this goroutine, so that what
			// it left to writers is known when Flush returns.
			start := startChunk
			startChunk = writeChunk
			t.Cleanup(func() { startChunk = start })
			writing := 0 // targets whose writers run
			for i := range n {
				ev := event(i)
				ev.Payload.Kwargs = wamp.Dict{"pad": big}
				f := NewFanout()
				sh := NewShared(ev)
				for _, b := range bp.targets {
					if err := f.SendShared(b, sh); err != nil {
						t.Fatal(err)
					}
				}
				if writing > 0 && len(f.conns) > len(bp.targets)-writing {
					t.Fatalf("event %d: %d connections taken, %d of %d are being written", i, len(f.conns), writing, len(bp.targets))
				}
				f.Flush()
				writing = 0
				for _, b := range bp.targets {
					if streamOf(b).writing.Load() {
						writing++
					}
				}
			}
			if writing != len(bp.targets) {
				t.Fatalf("the sockets took 1.5 MiB at once: %d of %d writers were left the rest", writing, len(bp.targets))
			}
			for _, c := range bp.clients {
				delivered, errs := reading(c)
				for i := range n {
					nextEvent(t, delivered, errs, i)
				}
			}
		})
	}
}

// TestFanoutDoesNotHoldWhatItCannotWrite: a TLS peer (crypto/tls cannot
// be written without blocking) and an in-process one get the message at
// once, without a Flush.
func TestFanoutDoesNotHoldWhatItCannotWrite(t *testing.T) {
	tlsServer, tlsClient := tlsPair(t)
	local, localOther := Pipe(Config{})
	t.Cleanup(func() { local.Close() })
	for name, p := range map[string][2]Peer{"tls": {tlsServer, tlsClient}, "local": {local, localOther}} {
		t.Run(name, func(t *testing.T) {
			delivered, _ := reading(p[1])
			f := NewFanout()
			if err := f.SendShared(p[0], NewShared(event(0))); err != nil {
				t.Fatal(err)
			}
			if len(f.conns) != 0 {
				t.Fatal("the peer was left to the Flush")
			}
			wantEvent(t, wait(t, delivered, "the event, unflushed"), 0)
			f.Flush()
		})
	}
	var nilFanout *Fanout
	if err := nilFanout.SendShared(local, NewShared(event(1))); err != nil {
		t.Fatal(err)
	}
	nilFanout.Flush()
}

// testSocketBuffer is what socketBuffers asks for (the kernel doubles
// it): a server socket and its client take about 256 KiB between them,
// whatever the machine's autotuning. (384 KiB sent already leaves a
// writer the rest.)
const testSocketBuffer = 64 << 10

// socketBuffers sets the kernel's send buffer of the server's socket and
// the receive buffer of the client's to testSocketBuffer.
func socketBuffers(t *testing.T, server, client Peer) {
	t.Helper()
	type buffered interface {
		SetWriteBuffer(int) error
		SetReadBuffer(int) error
	}
	s, ok := streamOf(server).conn.(buffered)
	if !ok {
		t.Fatalf("the server's connection is a %T: its socket buffers cannot be set", streamOf(server).conn)
	}
	c, ok := streamOf(client).conn.(buffered)
	if !ok {
		t.Fatalf("the client's connection is a %T: its socket buffers cannot be set", streamOf(client).conn)
	}
	if err := s.SetWriteBuffer(testSocketBuffer); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadBuffer(testSocketBuffer); err != nil {
		t.Fatal(err)
	}
}

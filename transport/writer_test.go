package transport

import (
	"net"
	"sync/atomic"
	"testing"
)

// countingWrites counts the writes made through net.Conn's Write, which
// waits under a deadline; those made through the RawConn are not counted.
type countingWrites struct {
	net.Conn
	writes atomic.Int32
}

func (c *countingWrites) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestWriterWritesWithoutWaitingWhatTheSocketTakes: a writer goroutine's
// write that fits in the socket's buffer is one non-blocking write, with
// no deadline to renew; only what the socket refuses goes through the
// write that waits.
func TestWriterWritesWithoutWaitingWhatTheSocketTakes(t *testing.T) {
	for name, bp := range batchPairs(t, 1, Config{}) {
		t.Run(name, func(t *testing.T) {
			b, bc := bp.targets[0], bp.clients[0]
			s := streamOf(b)
			cw := &countingWrites{Conn: s.conn}
			s.conn = cw // before any write: no writer runs yet
			delivered, errs := reading(bc)
			for i := range 20 {
				if err := b.Send(event(i)); err != nil {
					t.Fatal(err)
				}
				nextEvent(t, delivered, errs, i)
			}
			if n := cw.writes.Load(); n != 0 {
				t.Fatalf("%d of 20 small writes went through the write that waits, want 0", n)
			}
		})
	}
}

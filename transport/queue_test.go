package transport

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// TestQueueOwnership interleaves pushes, takes and recycles at random:
// every message comes out once, in order, and a slice the consumer holds
// is never written by a push.
func TestQueueOwnership(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	q := newQueue(1<<20, false)
	var pushed, got wamp.ID
	var held [][]item
	var snapshots [][]wamp.ID
	for step := 0; step < 200000; step++ {
		switch rng.IntN(4) {
		case 0, 1:
			pushed++
			if err := q.push(item{msg: &wamp.Published{Request: pushed}}); err != nil {
				t.Fatal(err)
			}
		case 2:
			items, _ := q.take()
			var ids []wamp.ID
			for _, it := range items {
				ids = append(ids, it.msg.(*wamp.Published).Request)
			}
			held, snapshots = append(held, items), append(snapshots, ids)
		case 3:
			if len(held) == 0 {
				continue
			}
			// The oldest held slice must still hold what take returned.
			items, ids := held[0], snapshots[0]
			for i, it := range items {
				if it.msg.(*wamp.Published).Request != ids[i] {
					t.Fatalf("step %d: a held slice was overwritten by a push", step)
				}
				if ids[i] != got+1 {
					t.Fatalf("step %d: got message %d, want %d", step, ids[i], got+1)
				}
				got = ids[i]
			}
			q.recycle(items)
			held, snapshots = held[1:], snapshots[1:]
		}
	}
}

func TestQueueBound(t *testing.T) {
	q := newQueue(2, false)
	q.push(item{})
	q.push(item{})
	if err := q.push(item{}); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("third push: %v", err)
	}
	if err := q.push(item{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after overflow: %v", err)
	}
}

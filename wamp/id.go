package wamp

import (
	"math/rand/v2"
	"sync/atomic"
)

// ID is a WAMP identifier: a session, request, publication, subscription
// or registration ID. Valid IDs are in [1, MaxID]; 0 appears only where the
// specification allows it (router-initiated UNSUBSCRIBED and UNREGISTERED).
type ID uint64

// MaxID is the largest valid ID, 2^53, so that IDs survive a round trip
// through an IEEE 754 double (JavaScript numbers).
const MaxID = 1 << 53

// GlobalID returns a random ID drawn uniformly from [1, MaxID], for the
// specification's global scope (session and publication IDs). It is safe
// for concurrent use.
func GlobalID() ID {
	return ID(rand.Uint64N(MaxID) + 1)
}

// Sequence generates IDs of the router or session scope: 1, 2, 3, ...
// wrapping back to 1 after MaxID. The zero value is ready to use and
// safe for concurrent use.
type Sequence struct {
	n atomic.Uint64
}

// Next returns the next ID of the sequence.
func (s *Sequence) Next() ID {
	for {
		old := s.n.Load()
		next := old + 1
		if next > MaxID {
			next = 1
		}
		if s.n.CompareAndSwap(old, next) {
			return ID(next)
		}
	}
}

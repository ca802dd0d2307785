package router

import (
	"cmp"
	"slices"
	"time"

	"github.com/junction-run/junction/wamp"
)

// storedEvent is a publication kept after its fan-out: as a topic's
// retained event, or in event history. It holds no *session, so that a
// publisher that has left can be collected.
type storedEvent struct {
	seq       uint64 // broker-wide order of publication
	at        time.Time
	pub       wamp.ID
	topic     wamp.URI
	payload   wamp.Payload // as published, possibly raw
	publisher wamp.Dict    // disclosed publisher details, nil if not disclosed
	audience  *audience
}

// retainedPerTopic bounds the retained events kept for one topic: the
// latest, and before it events that a later one's black or white lists
// hid from some subscribers, so that each of them still gets the latest
// event they may see, as the specification asks. An event with no lists
// replaces all older ones, so usually one event is kept.
const retainedPerTopic = 8

// retain makes e the latest retained event of its topic.
func (b *broker) retain(e *storedEvent) {
	b.retainMu.Lock()
	defer b.retainMu.Unlock()
	old, had := b.retained[e.topic]
	if e.audience == nil {
		b.retained[e.topic] = []*storedEvent{e}
	} else {
		n := min(len(old), retainedPerTopic-1)
		list := make([]*storedEvent, 0, n+1)
		b.retained[e.topic] = append(append(list, e), old[:n]...)
	}
	if !had {
		b.realm.router.metrics.retainedTopics.Inc()
	}
}

// sendRetained sends s, newly subscribed to sub, the latest retained
// event it may see of every topic sub matches, oldest first, with
// EVENT.Details.retained. Black and white lists are those of the
// publication; exclude_me is not applied: a publisher that asks for the
// retained events gets its own.
func (b *broker) sendRetained(s *session, sub *entry) {
	var found []*storedEvent
	b.retainMu.RLock()
	pick := func(list []*storedEvent) {
		for _, e := range list {
			if e.audience.allows(s) {
				found = append(found, e)
				return
			}
		}
	}
	if sub.match == wamp.MatchExact {
		pick(b.retained[sub.uri])
	} else {
		for topic, list := range b.retained {
			if sub.matches(topic) {
				pick(list)
			}
		}
	}
	b.retainMu.RUnlock()
	slices.SortFunc(found, func(x, y *storedEvent) int { return cmp.Compare(x.seq, y.seq) })
	for _, e := range found {
		s.send(&wamp.Event{Subscription: sub.id, Publication: e.pub,
			Details: eventDetails(sub, e.topic, e.publisher, true), Payload: e.payload})
	}
}

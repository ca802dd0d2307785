package router

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
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
	size      int64        // payload's bytes, counted against Limits.MaxRetainedBytes once retained
	publisher wamp.Dict    // disclosed publisher details, nil if not disclosed
	audience  *audience
}

// retainedPerTopic bounds the retained events kept for one topic: the
// latest, and before it events that a later one's black or white lists
// hid from some subscribers, so that each of them still gets the latest
// event they may see, as the specification asks. An event with no lists
// replaces all older ones, so usually one event is kept.
const retainedPerTopic = 8

// errRetainLimit is a retained event over Limits.MaxRetainedTopics or
// MaxRetainedBytes.
type errRetainLimit struct{ reason string }

func (e errRetainLimit) Error() string { return e.reason }

// retain makes e the latest retained event of its topic, unless that
// would take the realm over its retention limits: the check and the
// store are one step under retainMu, so concurrent publishers cannot
// overshoot.
func (b *broker) retain(e *storedEvent) error {
	lim := b.realm.router.cfg.Limits
	e.size = payloadSize(e.payload) // only retained events are weighed
	b.retainMu.Lock()
	defer b.retainMu.Unlock()
	old, had := b.retained[e.topic]
	list := []*storedEvent{e}
	if e.audience != nil {
		n := min(len(old), retainedPerTopic-1)
		list = append(make([]*storedEvent, 0, n+1), e)
		list = append(list, old[:n]...)
	}
	var delta int64
	for _, o := range old {
		delta -= o.size
	}
	for _, n := range list {
		delta += n.size
	}
	switch {
	case !had && lim.MaxRetainedTopics > 0 && len(b.retained) >= lim.MaxRetainedTopics:
		return errRetainLimit{fmt.Sprintf("the realm already retains events of %d topics (max_retained_topics)", len(b.retained))}
	case delta > 0 && lim.MaxRetainedBytes > 0 && b.retainedBytes+delta > lim.MaxRetainedBytes:
		return errRetainLimit{fmt.Sprintf("retaining %d more bytes would take the realm over %d (max_retained_bytes)", delta, lim.MaxRetainedBytes)}
	}
	b.retained[e.topic] = list
	b.retainedBytes += delta
	if !had {
		b.realm.router.metrics.retainedTopics.Inc()
	}
	return nil
}

// payloadSize is what a payload weighs against Limits.MaxRetainedBytes:
// its encoded bytes as the publisher sent them, or, from an in-process
// publisher, their JSON encoding.
func payloadSize(p wamp.Payload) int64 {
	if r := p.Raw; r != nil {
		return int64(len(r.Args) + len(r.Kwargs))
	}
	if p.Elements() == 0 {
		return 0
	}
	b, err := codec.Encode(codec.JSON, &wamp.Yield{Request: 1, Payload: p})
	if err != nil {
		return 0
	}
	return int64(len(b))
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

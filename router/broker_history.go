package router

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// historyRing keeps the latest events published to the topics matching
// one Config.EventHistory rule. Its lock is a leaf.
type historyRing struct {
	pattern *entry // the rule's topic and match policy; its ID is unused
	limit   int

	mu     sync.Mutex
	events []*storedEvent // grows to limit, then wraps around
	next   int            // once full, the oldest event, overwritten next
}

func newHistoryRings(rules []EventHistory, realm wamp.URI, now time.Time) []*historyRing {
	var rings []*historyRing
	for _, r := range rules {
		if r.Realm != "" && wamp.URI(r.Realm) != realm {
			continue
		}
		match := r.Match
		if match == "" {
			match = wamp.MatchExact
		}
		rings = append(rings, &historyRing{pattern: newEntry(0, r.Topic, match, now), limit: r.Limit})
	}
	return rings
}

func (h *historyRing) add(e *storedEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) < h.limit {
		h.events = append(h.events, e)
		return
	}
	h.events[h.next] = e
	h.next = (h.next + 1) % h.limit
}

// collect appends the events of topics sub matches to dst, oldest first.
func (h *historyRing) collect(dst []*storedEvent, sub *entry) []*storedEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.events)
	for i := range n {
		if e := h.events[(h.next+i)%n]; sub.matches(e.topic) {
			dst = append(dst, e)
		}
	}
	return dst
}

// eventQuery selects events of a subscription's history, as the keyword
// arguments of wamp.subscription.get_events do. The zero value selects
// every event kept, oldest first.
type eventQuery struct {
	limit   int // at most this many events; 0 means no limit
	reverse bool
	topic   wamp.URI // only this concrete topic, if set
	// Time bounds: from (>=), after (>), before (<), until (<=).
	fromTime, afterTime, beforeTime, untilTime time.Time
	// Bounds by publication, with the same meanings.
	fromPub, afterPub, beforePub, untilPub wamp.ID
}

// getEvents returns the latest limit events (every event kept when limit
// is 0 or less) of subscription subID, most recent first: what
// wamp.subscription.get_events answers with reverse set. Events a
// publication restricted to certain authids or authroles are left out, as
// there is no caller to check. Its error is a *wamp.Error,
// wamp.error.no_such_subscription for an unknown subscription.
func (b *broker) getEvents(subID wamp.ID, limit int) ([]wamp.Dict, error) {
	return b.events(nil, subID, eventQuery{limit: max(limit, 0), reverse: true})
}

// metaGetEvents is the meta procedure wamp.subscription.get_events, a
// metaHandler: Arguments [subscription|id, limit|int] (limit is
// optional, for callers that pass it by position) and the keyword
// arguments of the specification: reverse, limit, topic, from_time,
// after_time, before_time, until_time (RFC 3339), from_publication,
// after_publication, before_publication and until_publication. Its
// result arguments are one dict per event (timestamp, subscription,
// publication, topic, details, args, kwargs), in order of publication
// unless reverse is set. Events whose publication restricted authids or
// authroles are given only to callers it admits.
func metaGetEvents(rl *realm, caller *session, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, nil, wamp.NewError(wamp.URIInvalidArgument, "get_events takes a subscription ID and an optional limit")
	}
	subID, ok := wamp.AsID(args[0])
	if !ok {
		return nil, nil, wamp.NewError(wamp.URIInvalidArgument, "subscription must be an ID")
	}
	q, err := parseEventQuery(args[1:], kwargs)
	if err != nil {
		return nil, nil, err
	}
	events, err := rl.broker.events(caller, subID, q)
	if err != nil {
		return nil, nil, err
	}
	list := make(wamp.List, len(events))
	for i, e := range events {
		list[i] = e
	}
	return list, nil, nil
}

func parseEventQuery(args wamp.List, kwargs wamp.Dict) (eventQuery, error) {
	var q eventQuery
	bad := func(what string) error { return wamp.NewError(wamp.URIInvalidArgument, what) }
	limit := func(v any) error {
		n, ok := wamp.AsInt64(v)
		if !ok || n <= 0 {
			return bad("limit must be a positive integer")
		}
		q.limit = int(min(n, int64(^uint(0)>>1)))
		return nil
	}
	if len(args) > 0 && args[0] != nil {
		if err := limit(args[0]); err != nil {
			return q, err
		}
	}
	for k, v := range kwargs {
		if v == nil {
			continue
		}
		switch k {
		case "limit":
			if err := limit(v); err != nil {
				return q, err
			}
		case "reverse":
			b, ok := v.(bool)
			if !ok {
				return q, bad("reverse must be a bool")
			}
			q.reverse = b
		case "topic":
			s, ok := v.(string)
			if !ok || !wamp.URI(s).Valid(false) {
				return q, bad("topic must be a URI")
			}
			q.topic = wamp.URI(s)
		case "from_time", "after_time", "before_time", "until_time":
			s, _ := v.(string)
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, bad(k + " must be an RFC 3339 timestamp")
			}
			switch k {
			case "from_time":
				q.fromTime = t
			case "after_time":
				q.afterTime = t
			case "before_time":
				q.beforeTime = t
			default:
				q.untilTime = t
			}
		case "from_publication", "after_publication", "before_publication", "until_publication":
			id, ok := wamp.AsID(v)
			if !ok || id == 0 {
				return q, bad(k + " must be a publication ID")
			}
			switch k {
			case "from_publication":
				q.fromPub = id
			case "after_publication":
				q.afterPub = id
			case "before_publication":
				q.beforePub = id
			default:
				q.untilPub = id
			}
		}
	}
	return q, nil
}

// events answers a history query for caller, or for nobody in particular
// when caller is nil.
func (b *broker) events(caller *session, subID wamp.ID, q eventQuery) ([]wamp.Dict, error) {
	b.mu.RLock()
	sub := b.subs.get(subID)
	b.mu.RUnlock()
	if sub == nil {
		return nil, wamp.NewError(wamp.URINoSuchSubscription, "no such subscription")
	}
	var all []*storedEvent
	for _, h := range b.history {
		all = h.collect(all, sub)
	}
	// Rules may overlap: one event can be in several rings.
	slices.SortFunc(all, func(x, y *storedEvent) int { return cmp.Compare(x.seq, y.seq) })
	all = slices.Compact(all)

	lo, hi := 0, len(all)
	for _, bound := range []struct {
		id    wamp.ID
		after bool // the bound is a lower one
		incl  bool // the event itself is included
	}{{q.fromPub, true, true}, {q.afterPub, true, false}, {q.beforePub, false, false}, {q.untilPub, false, true}} {
		if bound.id == 0 {
			continue
		}
		i := slices.IndexFunc(all, func(e *storedEvent) bool { return e.pub == bound.id })
		if i < 0 {
			return nil, wamp.NewError(wamp.URIInvalidArgument, "publication not in the event history")
		}
		switch {
		case bound.after && bound.incl:
			lo = max(lo, i)
		case bound.after:
			lo = max(lo, i+1)
		case bound.incl:
			hi = min(hi, i+1)
		default:
			hi = min(hi, i)
		}
	}
	var picked []*storedEvent
	if lo < hi {
		picked = slices.DeleteFunc(all[lo:hi], func(e *storedEvent) bool { return !q.admits(e, caller) })
	}
	if q.reverse {
		slices.Reverse(picked)
	}
	if q.limit > 0 && len(picked) > q.limit {
		picked = picked[:q.limit]
	}
	out := make([]wamp.Dict, 0, len(picked))
	for _, e := range picked {
		args, kwargs, err := codec.Values(&e.payload)
		if err != nil {
			b.realm.router.log.Debug("router: history event skipped: payload does not decode",
				"publication", e.pub, "topic", e.topic, "err", err)
			continue
		}
		d := wamp.Dict{
			"timestamp":    e.at.UTC().Format("2006-01-02T15:04:05.000Z"),
			"subscription": sub.id,
			"publication":  e.pub,
			"topic":        string(e.topic),
			"details":      eventDetails(sub, e.topic, e.publisher, false),
		}
		if d["details"] == nil {
			d["details"] = wamp.Dict{}
		}
		if len(args) > 0 {
			d["args"] = args
		}
		if len(kwargs) > 0 {
			d["kwargs"] = kwargs
		}
		out = append(out, d)
	}
	return out, nil
}

// admits reports whether e passes the query's topic and time filters and
// its publication's lists admit caller (with no caller, only events with
// no lists pass).
func (q *eventQuery) admits(e *storedEvent, caller *session) bool {
	switch {
	case q.topic != "" && e.topic != q.topic,
		!q.fromTime.IsZero() && e.at.Before(q.fromTime),
		!q.afterTime.IsZero() && !e.at.After(q.afterTime),
		!q.beforeTime.IsZero() && !e.at.Before(q.beforeTime),
		!q.untilTime.IsZero() && e.at.After(q.untilTime):
		return false
	case caller == nil:
		return e.audience == nil
	}
	return e.audience.allowsIdentity(caller.authid, caller.authrole)
}

package router

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// broker routes events of one realm.
//
// A subscription is an entry of subs, shared by every session subscribed
// to the same URI with the same match policy, so that one EVENT (same
// subscription ID) serves them all.
//
// Besides routing, the broker keeps each topic's retained events
// (broker_retention.go) and the event history of the topics
// Config.EventHistory names (broker_history.go). Their locks, retainMu
// and each history ring's, are leaves: nothing else is locked while one
// is held, and mu is never held while taking one.
type broker struct {
	realm *realm
	now   func() time.Time

	mu   sync.RWMutex
	subs *uriIndex
	// bySession lists each session's subscriptions, for cleanup.
	bySession map[*session]*entrySet

	// seq orders kept events, so that histories and retained events of
	// several topics merge in order of publication.
	seq atomic.Uint64

	retainMu sync.RWMutex
	// retained holds each topic's retained events, the latest first.
	retained map[wamp.URI][]*storedEvent
	// retainedBytes sums the sizes of the events in retained.
	retainedBytes int64

	history []*historyRing // fixed at creation
}

func newBroker(rl *realm) *broker {
	return &broker{
		realm:     rl,
		now:       time.Now,
		subs:      newURIIndex(),
		bySession: make(map[*session]*entrySet),
		retained:  make(map[wamp.URI][]*storedEvent),
		history:   newHistoryRings(rl.router.cfg.EventHistory, rl.name, time.Now()),
	}
}

func (b *broker) subscribe(s *session, m *wamp.Subscribe) {
	match, ok := matchPolicy(m.Options)
	if !ok {
		s.send(requestError(m.Request, wamp.TypeSubscribe, wamp.URIInvalidArgument,
			"match must be \"exact\", \"prefix\" or \"wildcard\""))
		return
	}
	if !m.Topic.ValidPattern(b.realm.router.cfg.StrictURIs, match) {
		s.send(requestError(m.Request, wamp.TypeSubscribe, wamp.URIInvalidURI, "topic is not a valid URI for this match policy"))
		return
	}
	getRetained := false
	if v := m.Options["get_retained"]; v != nil {
		if err := optionBool("get_retained", v, &getRetained); err != nil {
			s.send(requestError(m.Request, wamp.TypeSubscribe, wamp.URIInvalidArgument, err.Error()))
			return
		}
	}
	if az := b.realm.authz; az != nil && !az.subscribe(s, m, match) {
		return
	}
	if !b.allowSubscribe(s, m, match) {
		return
	}
	b.mu.Lock()
	sub, created, added := b.join(s, m.Topic, match)
	b.mu.Unlock()
	s.send(&wamp.Subscribed{Request: m.Request, Subscription: sub.id})
	if added {
		b.realm.router.clusterDelta(stateOp{Op: "sub", Realm: string(b.realm.name), Session: s.id, URI: sub.uri, Match: sub.match})
	}
	if getRetained {
		// After attaching: a retained event published meanwhile comes
		// live, or here, or both; never neither (see route).
		b.sendRetained(s, sub)
	}
	if created {
		b.realm.entryEvent("subscription", "on_create", s, sub)
	}
	if added {
		b.realm.entryEvent("subscription", "on_subscribe", s, sub)
	}
}

func (b *broker) unsubscribe(s *session, m *wamp.Unsubscribe) {
	b.mu.Lock()
	sub := b.bySession[s].get(m.Subscription)
	deleted := false
	if sub != nil {
		deleted = b.drop(s, sub)
	}
	b.mu.Unlock()
	if sub == nil {
		s.send(requestError(m.Request, wamp.TypeUnsubscribe, wamp.URINoSuchSubscription,
			"no such subscription for this session"))
		return
	}
	s.send(&wamp.Unsubscribed{Request: m.Request})
	b.realm.router.clusterDelta(stateOp{Op: "unsub", Realm: string(b.realm.name), Session: s.id, URI: sub.uri, Match: sub.match})
	b.dropped(s, sub, deleted)
}

// join attaches s to the subscription of topic and match, which it
// creates if there is none, and reports whether it created it and whether
// s was not a subscriber yet. b.mu must be held.
func (b *broker) join(s *session, topic wamp.URI, match wamp.MatchPolicy) (sub *entry, created, added bool) {
	sub = b.subs.lookup(topic, match)
	if created = sub == nil; created {
		sub = newEntry(b.realm.router.ids.Next(), topic, match, time.Now())
		b.subs.add(sub)
	}
	mine := b.bySession[s]
	if mine == nil {
		mine = new(entrySet)
		b.bySession[s] = mine
	}
	if added = mine.add(sub); added {
		sub.attach(s)
	}
	return sub, created, added
}

// drop removes s from sub, and sub when it has no subscriber left, which
// it reports. b.mu must be held.
func (b *broker) drop(s *session, sub *entry) (deleted bool) {
	if mine := b.bySession[s]; mine != nil {
		mine.remove(sub.id)
		if mine.len() == 0 {
			delete(b.bySession, s)
		}
	}
	if sub.detach(s) == 0 {
		b.subs.remove(sub)
		return true
	}
	return false
}

// dropped announces what drop did. b.mu must not be held.
func (b *broker) dropped(s *session, sub *entry, deleted bool) {
	b.realm.entryEvent("subscription", "on_unsubscribe", s, sub)
	if deleted {
		b.realm.entryEvent("subscription", "on_delete", s, sub)
	}
}

func (b *broker) removeSession(s *session) {
	type drop struct {
		sub     *entry
		deleted bool
	}
	var drops []drop
	b.mu.Lock()
	for _, sub := range b.bySession[s].entries() {
		drops = append(drops, drop{sub, b.drop(s, sub)})
	}
	b.mu.Unlock()
	for _, d := range drops {
		b.dropped(s, d.sub, d.deleted)
	}
}

// publish handles PUBLISH. Malformed options (see newPublication) are
// answered with wamp.error.invalid_argument and nothing is published.
func (b *broker) publish(s *session, m *wamp.Publish) {
	if b.realm.router.cfg.StrictURIs && !m.Topic.Valid(true) {
		s.send(requestError(m.Request, wamp.TypePublish, wamp.URIInvalidURI, "topic breaks the strict URI rules"))
		return
	}
	if reservedURI(m.Topic) {
		// Meta events are the router's word: nobody may forge them.
		s.send(requestError(m.Request, wamp.TypePublish, wamp.URIInvalidURI, "topics under wamp. are the router's own"))
		return
	}
	p, err := newPublication(s, m.Topic, m.Options, m.Payload)
	if err != nil {
		s.send(requestError(m.Request, wamp.TypePublish, wamp.URIInvalidArgument, err.Error()))
		return
	}
	if az := b.realm.authz; az != nil && !az.publish(s, m, &p) {
		return
	}
	ack, _ := wamp.DictBool(m.Options, "acknowledge")
	if p.retain {
		// Retained before routing, so that a refusal can still answer
		// the publisher; route's keep reuses the stored event for history.
		p.id = wamp.GlobalID()
		p.kept = b.stored(&p)
		if err := b.retain(p.kept); err != nil {
			b.realm.router.limitExceeded(limitRetained, "session", s.id, "realm", b.realm.name, "topic", m.Topic, "err", err)
			if ack {
				s.send(requestError(m.Request, wamp.TypePublish, URIRetainLimitExceeded, err.Error()))
				return
			}
		}
		p.retain = false // retained above, or not to be
	}
	pubID := b.route(&p)
	if ack {
		s.send(&wamp.Published{Request: m.Request, Publication: pubID})
	}
	if p.backlogged != nil {
		b.stall(s, p.backlogged)
	}
}

// publisherStall bounds how long one publication holds its publisher back
// (Router.stallMax, which tests raise to take scheduling out of theirs).
const publisherStall = 10 * time.Millisecond

// backlogged returns to if its outbound queue is over half full and
// fuller, as a fraction of its bound, than fullest's was (*worst, *of), else
// fullest. Integer arithmetic: it runs for every delivery.
func backlogged(to, fullest *session, worst, of *int) *session {
	if to.backlog == nil {
		return fullest
	}
	q, limit := to.backlog.Backlog()
	if 2*q > limit && q*(*of) > (*worst)*limit {
		*worst, *of = q, limit
		return to
	}
	return fullest
}

// stall is the publisher's backpressure. A subscriber whose outbound
// queue a publication left over half full makes its publisher wait,
// before the router reads the publisher's next message, until that queue
// is down to a quarter, for publisherStall at most. A fast publisher is
// so slowed to what its subscribers take, instead of having them all cut
// off as slow consumers; a subscriber that stops reading still fills up
// (the stall is bounded) and is cut when its queue is full or a write
// to it times out (transport.Config.WriteTimeout), so one stuck
// subscriber holds a publisher back at most publisherStall a message, and
// other publishers not at all. It runs on the publisher's reading
// goroutine, holding no lock.
func (b *broker) stall(pub, sub *session) {
	q, limit := sub.backlog.Backlog()
	if 2*q <= limit {
		return
	}
	b.realm.router.metrics.publisherStalls.Inc()
	// What the publisher's reader routed before (the INVOCATIONs of its
	// CALLs, see session.sendFrom) goes out before it waits.
	pub.batch().Flush()
	t := time.NewTimer(time.Duration(b.realm.router.stallMax.Load()))
	defer t.Stop()
	select {
	case <-sub.backlog.Drained(limit / 4):
	case <-t.C:
	case <-sub.peer.Done():
	case <-pub.peer.Done():
	}
}

// publishEvent publishes an event with the given PUBLISH options and
// returns its publication ID (see route). from is the publisher, or nil
// for events of the router's own (meta events, testaments). Options that
// do not pass checkPublishOptions drop the event, which is logged, and
// the ID is 0. It must be called with no broker lock held.
func (b *broker) publishEvent(from *session, topic wamp.URI, options wamp.Dict, payload wamp.Payload) wamp.ID {
	p, err := newPublication(from, topic, options, payload)
	if err != nil {
		b.realm.router.log.Warn("router: event dropped: bad publish options", "topic", topic, "err", err)
		return 0
	}
	return b.route(&p)
}

// route fans a publication out to the subscribers of every subscription
// matching its topic, after keeping it as the topic's retained event or
// in event history when asked to, and returns its publication ID. Each
// subscription gets one EVENT, shared by its subscribers and encoded once
// per serializer by the first writer that needs it; its details carry the
// concrete topic for a pattern subscription and the publisher if it
// disclosed itself. It must be called with no broker lock held.
func (b *broker) route(p *publication) wamp.ID {
	if p.id == 0 {
		p.id = wamp.GlobalID()
	}
	// Keep the event before looking up subscribers: a session that
	// subscribes with get_retained after the lookup finds it retained.
	// kept: the event is retained or in history (publish may have
	// retained it already), so every node of a cluster gets it, for its
	// later subscribers.
	kept := p.kept != nil
	if p.retain || len(b.history) > 0 {
		kept = b.keep(p)
	}

	var matched []*entry
	b.mu.RLock()
	b.subs.each(p.topic, func(e *entry) { matched = append(matched, e) })
	b.mu.RUnlock()
	publisher := p.publisherDetails()
	from, excludeMe := p.from, p.excludeMe
	n := 0
	var fullest *session
	worst, of := 0, 1 // the fullest queue seen: worst messages of a bound of
	// nodes are the other nodes of the cluster with an eligible
	// subscriber: a session of theirs, mirrored here, matched.
	var nodes []*peerNode
	// The subscribers' writing starts once all are queued, a few
	// goroutines for them all (see transport.Fanout).
	fo := transport.NewFanout()
	for _, sub := range matched {
		ev := &wamp.Event{Subscription: sub.id, Publication: p.id,
			Details: eventDetails(sub, p.topic, publisher, false), Payload: p.payload}
		sh := transport.NewShared(ev)
		if p.audience == nil {
			// The fast path: no per-subscriber check beyond exclude_me.
			for _, to := range sub.sessions() {
				if to.remote != nil {
					nodes = eligibleNode(nodes, p, to)
					continue
				}
				if to == from && excludeMe {
					continue
				}
				if to.sendShared(fo, sh) {
					n++
					if from != nil {
						fullest = backlogged(to, fullest, &worst, &of)
					}
				}
			}
			continue
		}
		for _, to := range sub.sessions() {
			if to == from && excludeMe || !p.audience.allows(to) {
				continue
			}
			if to.remote != nil {
				nodes = eligibleNode(nodes, p, to)
				continue
			}
			if to.sendShared(fo, sh) {
				n++
				if from != nil {
					fullest = backlogged(to, fullest, &worst, &of)
				}
			}
		}
	}
	fo.Flush()
	p.backlogged = fullest
	b.realm.router.metrics.eventsDelivered.Add(float64(n))
	b.realm.counts.events.Add(uint64(n))
	if node := b.realm.router.node.Load(); node != nil && !p.remote {
		node.forward(b.realm, p, nodes, kept)
	}
	return p.id
}

// eligibleNode adds the node of proxy session to to nodes, once, unless
// the publication came from another node (which sends it to every node
// itself).
func eligibleNode(nodes []*peerNode, p *publication, to *session) []*peerNode {
	if p.remote {
		return nodes
	}
	for _, n := range nodes {
		if n == to.remote.node {
			return nodes
		}
	}
	return append(nodes, to.remote.node)
}

// keep stores p as its topic's retained event if it asked to be, and in
// the event history of the rules matching its topic, and reports whether
// it is kept either way. As the
// specification asks, history leaves out publications that name sessions
// in their black or white lists: session IDs do not outlive their
// sessions, so later readers could not be filtered fairly.
func (b *broker) keep(p *publication) bool {
	e := p.kept
	stored := func() *storedEvent {
		if e == nil {
			e = b.stored(p)
		}
		return e
	}
	if p.retain {
		if err := b.retain(stored()); err != nil {
			b.realm.router.limitExceeded(limitRetained, "realm", b.realm.name, "topic", p.topic, "err", err)
		}
	}
	if p.audience.bySession() {
		return e != nil
	}
	for _, h := range b.history {
		if h.pattern.matches(p.topic) {
			h.add(stored())
		}
	}
	return e != nil
}

// stored is p as a kept event.
func (b *broker) stored(p *publication) *storedEvent {
	return &storedEvent{seq: b.seq.Add(1), at: b.now().Truncate(time.Millisecond), pub: p.id, topic: p.topic,
		payload: p.payload, publisher: p.publisherDetails(), audience: p.audience}
}

func requestError(req wamp.ID, t wamp.Type, uri wamp.URI, message string) *wamp.ErrorMessage {
	return &wamp.ErrorMessage{RequestType: t, Request: req, Error: uri, Payload: wamp.Payload{Args: wamp.List{message}}}
}

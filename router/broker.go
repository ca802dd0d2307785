package router

import (
	"sync"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// broker routes events of one realm.
//
// A subscription is an entry of subs, shared by every session subscribed
// to the same URI with the same match policy, so that one EVENT (same
// subscription ID) serves them all.
type broker struct {
	realm *realm

	mu   sync.RWMutex
	subs *uriIndex
	// bySession lists each session's subscriptions, for cleanup.
	bySession map[*session]map[wamp.ID]*entry
}

func newBroker(rl *realm) *broker {
	return &broker{
		realm:     rl,
		subs:      newURIIndex(),
		bySession: make(map[*session]map[wamp.ID]*entry),
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
	b.mu.Lock()
	sub := b.subs.lookup(m.Topic, match)
	created := sub == nil
	if created {
		sub = newEntry(b.realm.router.ids.Next(), m.Topic, match, time.Now())
		b.subs.add(sub)
	}
	mine := b.bySession[s]
	if mine == nil {
		mine = make(map[wamp.ID]*entry)
		b.bySession[s] = mine
	}
	_, already := mine[sub.id]
	if !already {
		mine[sub.id] = sub
		sub.attach(s)
	}
	b.mu.Unlock()
	s.send(&wamp.Subscribed{Request: m.Request, Subscription: sub.id})
	if created {
		b.realm.entryEvent("subscription", "on_create", s, sub)
	}
	if !already {
		b.realm.entryEvent("subscription", "on_subscribe", s, sub)
	}
}

func (b *broker) unsubscribe(s *session, m *wamp.Unsubscribe) {
	b.mu.Lock()
	sub := b.bySession[s][m.Subscription]
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
	b.dropped(s, sub, deleted)
}

// drop removes s from sub, and sub when it has no subscriber left, which
// it reports. b.mu must be held.
func (b *broker) drop(s *session, sub *entry) (deleted bool) {
	delete(b.bySession[s], sub.id)
	if len(b.bySession[s]) == 0 {
		delete(b.bySession, s)
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
	for _, sub := range b.bySession[s] {
		drops = append(drops, drop{sub, b.drop(s, sub)})
	}
	b.mu.Unlock()
	for _, d := range drops {
		b.dropped(s, d.sub, d.deleted)
	}
}

// publish handles PUBLISH.
func (b *broker) publish(s *session, m *wamp.Publish) {
	if b.realm.router.cfg.StrictURIs && !m.Topic.Valid(true) {
		s.send(requestError(m.Request, wamp.TypePublish, wamp.URIInvalidURI, "topic breaks the strict URI rules"))
		return
	}
	pubID := b.publishEvent(s, m.Topic, m.Options, m.Payload)
	if ack, _ := wamp.DictBool(m.Options, "acknowledge"); ack {
		s.send(&wamp.Published{Request: m.Request, Publication: pubID})
	}
}

// publishEvent fans an event out to the subscribers of every subscription
// matching topic and returns its publication ID. Each subscription gets
// one EVENT, shared by its subscribers and encoded once per serializer by
// the first writer that needs it; a pattern subscription's EVENT carries
// the concrete topic. from is the publisher, or nil for events of the
// router's own (meta events, testaments); options are the PUBLISH
// options. It must be called with no broker lock held.
func (b *broker) publishEvent(from *session, topic wamp.URI, options wamp.Dict, payload wamp.Payload) wamp.ID {
	excludeMe := true
	if v, ok := wamp.DictBool(options, "exclude_me"); ok {
		excludeMe = v
	}
	pubID := wamp.GlobalID()

	var matched []*entry
	b.mu.RLock()
	b.subs.each(topic, func(e *entry) { matched = append(matched, e) })
	b.mu.RUnlock()
	n := 0
	for _, sub := range matched {
		ev := &wamp.Event{Subscription: sub.id, Publication: pubID, Payload: payload}
		if sub.match != wamp.MatchExact {
			ev.Details = wamp.Dict{"topic": string(topic)}
		}
		sh := transport.NewShared(ev)
		for _, to := range sub.sessions() {
			if to == from && excludeMe {
				continue
			}
			if to.sendShared(sh) {
				n++
			}
		}
	}
	b.realm.router.metrics.eventsDelivered.Add(float64(n))
	return pubID
}

func requestError(req wamp.ID, t wamp.Type, uri wamp.URI, message string) *wamp.ErrorMessage {
	return &wamp.ErrorMessage{RequestType: t, Request: req, Error: uri, Payload: wamp.Payload{Args: wamp.List{message}}}
}

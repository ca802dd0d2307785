package router

import (
	"sync"
	"sync/atomic"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// broker routes events of one realm.
type broker struct {
	realm *realm

	mu     sync.RWMutex
	topics map[wamp.URI]*subscription
	byID   map[wamp.ID]*subscription
	// bySession lists each session's subscriptions, for cleanup.
	bySession map[*session]map[wamp.ID]*subscription
}

// subscription is shared by every session subscribed to the same topic,
// so one EVENT (same subscription ID) serves them all. subscribers is a
// copy-on-write slice so that publishing reads it without a lock.
type subscription struct {
	id          wamp.ID
	topic       wamp.URI
	subscribers atomic.Pointer[[]*session]
}

func newBroker(rl *realm) *broker {
	return &broker{
		realm:     rl,
		topics:    make(map[wamp.URI]*subscription),
		byID:      make(map[wamp.ID]*subscription),
		bySession: make(map[*session]map[wamp.ID]*subscription),
	}
}

func (b *broker) subscribe(s *session, m *wamp.Subscribe) {
	if p, _ := wamp.DictString(m.Options, "match"); p != "" && p != string(wamp.MatchExact) {
		s.send(requestError(m.Request, wamp.TypeSubscribe, wamp.URIOptionNotAllowed,
			"pattern-based subscriptions are not supported"))
		return
	}
	if b.realm.router.cfg.StrictURIs && !m.Topic.Valid(true) {
		s.send(requestError(m.Request, wamp.TypeSubscribe, wamp.URIInvalidURI, "topic breaks the strict URI rules"))
		return
	}
	b.mu.Lock()
	sub := b.topics[m.Topic]
	if sub == nil {
		sub = &subscription{id: b.realm.router.ids.Next(), topic: m.Topic}
		sub.subscribers.Store(&[]*session{})
		b.topics[m.Topic] = sub
		b.byID[sub.id] = sub
	}
	mine := b.bySession[s]
	if mine == nil {
		mine = make(map[wamp.ID]*subscription)
		b.bySession[s] = mine
	}
	if _, already := mine[sub.id]; !already {
		mine[sub.id] = sub
		old := *sub.subscribers.Load()
		next := make([]*session, len(old), len(old)+1)
		copy(next, old)
		next = append(next, s)
		sub.subscribers.Store(&next)
	}
	b.mu.Unlock()
	s.send(&wamp.Subscribed{Request: m.Request, Subscription: sub.id})
}

func (b *broker) unsubscribe(s *session, m *wamp.Unsubscribe) {
	b.mu.Lock()
	sub := b.bySession[s][m.Subscription]
	if sub != nil {
		b.drop(s, sub)
	}
	b.mu.Unlock()
	if sub == nil {
		s.send(requestError(m.Request, wamp.TypeUnsubscribe, wamp.URINoSuchSubscription,
			"no such subscription for this session"))
		return
	}
	s.send(&wamp.Unsubscribed{Request: m.Request})
}

// drop removes s from sub, and sub when it has no subscriber left. b.mu
// must be held.
func (b *broker) drop(s *session, sub *subscription) {
	delete(b.bySession[s], sub.id)
	if len(b.bySession[s]) == 0 {
		delete(b.bySession, s)
	}
	old := *sub.subscribers.Load()
	next := make([]*session, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	sub.subscribers.Store(&next)
	if len(next) == 0 {
		delete(b.topics, sub.topic)
		delete(b.byID, sub.id)
	}
}

func (b *broker) removeSession(s *session) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, sub := range b.bySession[s] {
		b.drop(s, sub)
	}
}

// publish fans an event out to the topic's subscribers: one EVENT, shared
// by all, encoded once per serializer by the first writer that needs it.
func (b *broker) publish(s *session, m *wamp.Publish) {
	if b.realm.router.cfg.StrictURIs && !m.Topic.Valid(true) {
		s.send(requestError(m.Request, wamp.TypePublish, wamp.URIInvalidURI, "topic breaks the strict URI rules"))
		return
	}
	ack, _ := wamp.DictBool(m.Options, "acknowledge")
	excludeMe := true
	if v, ok := wamp.DictBool(m.Options, "exclude_me"); ok {
		excludeMe = v
	}
	pubID := wamp.GlobalID()

	b.mu.RLock()
	sub := b.topics[m.Topic]
	b.mu.RUnlock()
	if sub != nil {
		subscribers := *sub.subscribers.Load()
		sh := transport.NewShared(&wamp.Event{Subscription: sub.id, Publication: pubID, Payload: m.Payload})
		n := 0
		for _, to := range subscribers {
			if to == s && excludeMe {
				continue
			}
			if to.sendShared(sh) {
				n++
			}
		}
		b.realm.router.metrics.eventsDelivered.Add(float64(n))
	}
	if ack {
		s.send(&wamp.Published{Request: m.Request, Publication: pubID})
	}
}

func requestError(req wamp.ID, t wamp.Type, uri wamp.URI, message string) *wamp.ErrorMessage {
	return &wamp.ErrorMessage{RequestType: t, Request: req, Error: uri, Payload: wamp.Payload{Args: wamp.List{message}}}
}

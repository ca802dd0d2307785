package client

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// Event is one event received on a subscription.
type Event struct {
	Subscription wamp.ID
	Publication  wamp.ID
	Details      wamp.Dict
	Values

	topic wamp.URI // the subscribed URI
}

// Topic returns the topic the event was published to: for a prefix or
// wildcard subscription, the concrete URI the broker disclosed; otherwise
// the subscribed URI.
func (e *Event) Topic() wamp.URI {
	if t, ok := wamp.DictString(e.Details, "topic"); ok && t != "" {
		return wamp.URI(t)
	}
	return e.topic
}

// Publisher returns the publishing session's ID, or 0 if the broker did
// not disclose it (see PublishOptions.DiscloseMe).
func (e *Event) Publisher() wamp.ID {
	id, _ := asID(e.Details["publisher"])
	return id
}

// PublisherAuthID returns the publisher's authid, or "" if it was not
// disclosed.
func (e *Event) PublisherAuthID() string {
	s, _ := wamp.DictString(e.Details, "publisher_authid")
	return s
}

// PublisherAuthRole returns the publisher's authrole, or "" if it was not
// disclosed.
func (e *Event) PublisherAuthRole() string {
	s, _ := wamp.DictString(e.Details, "publisher_authrole")
	return s
}

// Retained reports whether the event is a retained one, published before
// the subscription and sent because it asked for it
// (SubscribeOptions.GetRetained).
func (e *Event) Retained() bool {
	r, _ := wamp.DictBool(e.Details, "retained")
	return r
}

// EventHandler handles events. ctx is cancelled when the session ends.
type EventHandler func(ctx context.Context, e *Event)

// Subscription is a subscription made by Subscribe. With reconnection on
// it is restored, with its options, on each new connection.
type Subscription struct {
	s       *Session
	topic   wamp.URI
	options wamp.Dict
	handler EventHandler

	// Guarded by Session.mu.
	id      wamp.ID // 0 while not subscribed on the current connection
	removed bool
}

type queuedEvent struct {
	sub *Subscription
	e   *Event
}

// Subscribe subscribes h to topic. Events are delivered to the session's
// handlers one at a time, in the order the router sent them; a slow
// handler holds up the others and, once the session's queue is full, the
// connection. h must not be nil.
func (s *Session) Subscribe(ctx context.Context, topic wamp.URI, h EventHandler, opts *SubscribeOptions) (*Subscription, error) {
	if h == nil {
		panic("client: Subscribe with a nil handler")
	}
	sub := &Subscription{s: s, topic: topic, options: opts.dict(), handler: h}
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	id := s.seq.Next()
	m, err := s.roundTrip(ctx, c, id, sub.message(id), func(m wamp.Message) { s.subscribed(c, sub, m) })
	if err != nil {
		return nil, err
	}
	if _, ok := m.(*wamp.Subscribed); !ok {
		return nil, unexpected(m, wamp.TypeSubscribed)
	}
	return sub, nil
}

func (sub *Subscription) message(id wamp.ID) *wamp.Subscribe {
	return &wamp.Subscribe{Request: id, Options: sub.options, Topic: sub.topic}
}

// subscribed records a SUBSCRIBED reply for sub, on c's read loop.
func (s *Session) subscribed(c *conn, sub *Subscription, m wamp.Message) {
	ack, ok := m.(*wamp.Subscribed)
	if !ok {
		return
	}
	s.mu.Lock()
	if sub.removed {
		// Unsubscribed while being restored.
		orphan := len(s.subs[ack.Subscription]) == 0
		s.mu.Unlock()
		if orphan {
			s.send(c, &wamp.Unsubscribe{Request: s.seq.Next(), Subscription: ack.Subscription})
		}
		return
	}
	sub.id = ack.Subscription
	if get, _ := wamp.DictBool(sub.options, "get_retained"); get {
		// The retained events follow SUBSCRIBED: they are this
		// subscription's, not those of others sharing the router's.
		s.retainedTo[sub.id] = sub
	}
	s.subs[sub.id] = append(s.subs[sub.id], sub)
	s.allSubs[sub] = struct{}{}
	s.mu.Unlock()
}

// ID returns the router's ID for the subscription, which changes when the
// session reconnects; 0 while it is not in place.
func (sub *Subscription) ID() wamp.ID {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	return sub.id
}

// Unsubscribe ends the subscription: once it returns the handler is not
// called again. Calling it again does nothing. The router's subscription
// is shared by the session's subscriptions to the same topic and options,
// and released with the last of them.
func (sub *Subscription) Unsubscribe(ctx context.Context) error {
	s := sub.s
	s.mu.Lock()
	if sub.removed {
		s.mu.Unlock()
		return nil
	}
	sub.removed = true
	delete(s.allSubs, sub)
	id, c := sub.id, s.conn
	if s.retainedTo[id] == sub {
		delete(s.retainedTo, id)
	}
	last := false
	if id != 0 {
		rest := slices.DeleteFunc(slices.Clone(s.subs[id]), func(x *Subscription) bool { return x == sub })
		if len(rest) == 0 {
			delete(s.subs, id)
			last = true
		} else {
			s.subs[id] = rest
		}
	}
	s.mu.Unlock()
	if !last || c == nil {
		return nil
	}
	rid := s.seq.Next()
	m, err := s.roundTrip(ctx, c, rid, &wamp.Unsubscribe{Request: rid, Subscription: id}, nil)
	if err != nil {
		return err
	}
	if _, ok := m.(*wamp.Unsubscribed); !ok {
		return unexpected(m, wamp.TypeUnsubscribed)
	}
	return nil
}

// revokeSubscription handles an UNSUBSCRIBED the router sent on its own.
func (s *Session) revokeSubscription(details wamp.Dict) {
	id, ok := wamp.AsID(details["subscription"])
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs[id] {
		sub.removed = true
		delete(s.allSubs, sub)
	}
	delete(s.subs, id)
	delete(s.retainedTo, id)
	s.log.Info("client: subscription revoked by router", "subscription", id, "reason", details["reason"])
}

// Publish publishes to topic. Without opts.Acknowledge it returns 0 once
// the PUBLISH is queued; with it, it waits for the router and returns the
// publication ID, or the router's ERROR as a *wamp.Error. While the
// session is reconnecting, Publish waits for the connection.
func (s *Session) Publish(ctx context.Context, topic wamp.URI, args wamp.List, kwargs wamp.Dict, opts *PublishOptions) (wamp.ID, error) {
	c, err := s.current(ctx)
	if err != nil {
		return 0, err
	}
	id := s.seq.Next()
	m := &wamp.Publish{Request: id, Options: opts.dict(), Topic: topic, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	if opts == nil || !opts.Acknowledge {
		if err := c.peer.Send(m); err != nil {
			return 0, fmt.Errorf("client: send PUBLISH: %w", err)
		}
		return 0, nil
	}
	r, err := s.roundTrip(ctx, c, id, m, nil)
	if err != nil {
		return 0, err
	}
	ack, ok := r.(*wamp.Published)
	if !ok {
		return 0, unexpected(r, wamp.TypePublished)
	}
	return ack.Publication, nil
}

// deliver queues an event for the dispatcher, on c's read loop. It waits
// while the queue is full.
func (s *Session) deliver(c *conn, m *wamp.Event) {
	s.mu.Lock()
	subs := s.subs[m.Subscription]
	if retained, _ := wamp.DictBool(m.Details, "retained"); retained {
		subs = nil
		if sub := s.retainedTo[m.Subscription]; sub != nil {
			subs = []*Subscription{sub}
		}
	}
	s.mu.Unlock()
	if len(subs) == 0 {
		s.log.Debug("client: event for unknown subscription", "subscription", m.Subscription)
		return
	}
	args, kwargs, err := codec.Values(&m.Payload)
	if err != nil {
		s.log.Warn("client: dropping event with undecodable payload", "subscription", m.Subscription, "error", err)
		return
	}
	for _, sub := range subs {
		e := &Event{Subscription: m.Subscription, Publication: m.Publication, Details: m.Details, Values: Values{args, kwargs}, topic: sub.topic}
		select {
		case s.events <- queuedEvent{sub, e}:
		case <-c.ctx.Done():
			return
		}
	}
}

// dispatch runs event handlers, one at a time.
func (s *Session) dispatch() {
	defer s.wg.Done()
	for {
		select {
		case q := <-s.events:
			s.mu.Lock()
			removed := q.sub.removed
			s.mu.Unlock()
			if !removed {
				s.runEvent(q)
			}
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Session) runEvent(q queuedEvent) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("client: event handler panicked", "topic", q.sub.topic, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	q.sub.handler(s.ctx, q.e)
}

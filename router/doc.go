// Package router is Junction's WAMP v2 router: realms, sessions, a broker
// for publish/subscribe and a dealer for routed calls.
//
// A Router serves any transport.Peer: WebSocket connections through its
// ServeHTTP method, in-process sessions through LocalPeer. Each session is
// read by one goroutine that routes what it reads at once: a PUBLISH is
// turned into one EVENT, encoded at most once per serializer and queued to
// every subscriber; a CALL becomes an INVOCATION queued to the callee.
// Queues are bounded by transport.Config.OutboundQueue; a peer that lets its
// queue fill is disconnected as a slow consumer, logged and counted, and
// nobody waits for it.
//
// Subscriptions and registrations live in one kind of index (index.go):
// exact URIs in a map, prefixes probed by the lengths in use, wildcards
// grouped by component count. The broker delivers an event to every
// matching subscription; the dealer routes a call to the best matching
// registration (exact, then longest prefix, then the wildcard with the
// longest concrete runs, as the specification ranks them) and to one of
// its callees by the invocation policy.
//
// The broker implements the Advanced Profile's publisher exclusion and
// identification (disclose_me), subscriber black- and white-listing (by
// session ID, authid and authrole; a PUBLISH without lists costs no check
// per subscriber), event retention (the latest retained event of each
// topic, per realm, sent after SUBSCRIBED to subscribers that ask with
// get_retained) and event history for the topics Config.EventHistory
// names, read with wamp.subscription.get_events.
//
// Config.Limits bound what sessions may use (limits.go): a HELLO over the
// session limits gets ABORT junction.error.too_many_sessions, a SUBSCRIBE
// or REGISTER over the per-session limits an ERROR, and a session sending
// faster than its message rate (a token bucket checked by its reading
// goroutine, one int64 of state) is ended with ABORT
// junction.error.rate_limit_exceeded. Each hit is logged and counted; no
// other session notices.
//
// Meta events (wamp.session.on_join, wamp.registration.on_create...) are
// published through the broker like any event, always with no broker or
// dealer lock held.
//
// Lock order: Router.mu, then realm.mu, then broker.mu or dealer.mu. The
// broker and the dealer never hold their lock while calling each other.
// The broker's retained-event and history locks are leaves, never held
// with broker.mu or each other.
package router

// Package webhook pushes a router's events to HTTP services: each hook
// maps a topic (exact or prefix) to a URL, to which every event is POSTed
// as JSON.
//
// A Dispatcher joins the router in process as a session of its own
// (router.Listener.Assigned, as the HTTP bridge does) and subscribes to
// each hook's topic. Its event handler only enqueues: each event becomes
// a task of a durable queue (package queue, on NATS JetStream), whose
// workers make the HTTP requests. A slow or dead endpoint therefore
// holds up its queue's workers, never the router nor the other
// subscribers; failed deliveries are retried with an exponential
// backoff, and those whose attempts are spent become the queue's dead
// letters, which Requeue sends again.
//
// # The request
//
// POST to the hook's URL, with the headers
//
//	Content-Type: application/json
//	User-Agent: junction-webhook
//	X-Junction-Hook: <hook name>
//	X-Junction-Delivery: <task id, the same for every attempt: dedupe on it>
//	X-Junction-Attempt: <1, 2, ...>
//	X-Junction-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the hook's secret>
//
// (the signature only when the hook has a secret), the hook's own
// Headers, and the body
//
//	{"hook": "orders", "topic": "com.shop.order.created", "publication": 5412,
//	 "args": [...], "kwargs": {...}, "details": {...}}
//
// A 2xx answer delivers it; anything else (redirects are not followed), a
// network error or the hook's Timeout fails the attempt. Delivery is at
// least once: an endpoint may see an event twice (same
// X-Junction-Delivery) when the process dies between its answer and the
// queue's record of it.
package webhook

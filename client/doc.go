// Package client is a WAMP v2 client: it joins a realm on a router and
// publishes, subscribes, calls and registers procedures.
//
// Join opens a session over an existing transport.Peer (an in-process
// transport.Pipe, say); Dial connects over WebSocket first and, with
// Config.Reconnect set, keeps the session alive across connection losses,
// restoring its subscriptions and registrations each time.
//
// A Session is safe for concurrent use. Its read loop never runs user
// code: event handlers run one at a time, in order, on the session's
// dispatch goroutine, and each invocation handler runs in its own
// goroutine. Values received (Args, Kwargs, Details) are shared and must
// be treated as read-only; values passed to Publish and Call must not be
// modified afterwards, since an in-process router hands them on as they
// are.
package client

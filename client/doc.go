// Package client is a WAMP v2 client: it joins a realm on a router and
// publishes, subscribes, calls and registers procedures.
//
// Join opens a session over an existing transport.Peer (an in-process
// transport.Pipe, say); Dial connects by URL first (WebSocket or
// RawSocket) and, with Config.Reconnect set, keeps the session alive
// across connection losses, restoring its subscriptions and registrations,
// with their options, each time.
//
// A Session is safe for concurrent use. Its read loop never runs user
// code: event handlers run one at a time, in order, on the session's
// dispatch goroutine, and each invocation handler runs in its own
// goroutine. Values received (Args, Kwargs, Details) are shared and must
// be treated as read-only; values passed to Publish and Call must not be
// modified afterwards, since an in-process router hands them on as they
// are.
//
// # Advanced Profile
//
// The client implements, and announces in HELLO, these features of the
// WAMP Advanced Profile; each needs a router that supports it too.
//
// Calls: progressive call results (CallOptions.Progress on the caller's
// side, Invocation.Progress on the callee's); progressive call
// invocations (Session.CallStream, Invocation.Next); call timeouts
// (CallOptions.Timeout); call canceling (a Call's ctx ending sends CANCEL
// with CallOptions.CancelMode, and an INTERRUPT cancels the handler's
// ctx); caller identification (CallOptions.DiscloseMe,
// RegisterOptions.DiscloseCaller, Invocation.Caller); pattern-based
// registrations (RegisterOptions.Match, Invocation.Procedure); shared
// registrations (RegisterOptions.Invoke).
//
// Events: publisher exclusion (PublishOptions.ExcludeMe); publisher
// identification (PublishOptions.DiscloseMe, Event.Publisher); subscriber
// black- and whitelisting (PublishOptions.Exclude, Eligible and their
// AuthID and AuthRole variants); pattern-based subscriptions
// (SubscribeOptions.Match, Event.Topic); event retention
// (PublishOptions.Retain, SubscribeOptions.GetRetained, Event.Retained).
//
// # Authentication
//
// Config.Auth lists the authentication methods the client offers, in its
// order of preference, and Config.AuthID the user it authenticates as:
// TicketAuth (WAMP-Ticket), WAMPCRAAuth (WAMP-CRA, salted secrets
// included) and CryptosignAuth (WAMP-Cryptosign, Ed25519, with TLS
// channel binding through Cryptosign.ChannelBinding). Any other method is
// an Authenticator of one's own. Each connection, reconnections included,
// authenticates again; a refusal ends Dial or Join with the router's
// ABORT as a *wamp.Error (errors.Is(err, wamp.ErrAuthenticationFailed)).
//
// A router's ERROR comes back as a *wamp.Error: errors.Is(err,
// wamp.ErrTimeout) tells a call that timed out, whichever side enforced
// the timeout, and errors.Is(err, wamp.ErrCanceled) one canceled at the
// router.
package client

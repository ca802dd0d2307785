// Package link federates separate Junction deployments: a Link bridges
// one realm of a local router with another deployment (its peer), each
// with its own realm, authentication and NATS, through a NATS leaf node
// connection, and lets cross only what both sides list: the events of
// topics one side exports and the other imports, and calls of the
// procedures one side exports and the other imports.
//
// Events travel durably: the exporting side stores them in a JetStream
// stream of its own, which the importing side reads through a durable
// consumer across the leaf node connection, so events published while
// the link is down arrive once it is back, in order, each once (ids of
// imported events are remembered against redelivery). Calls are
// forwarded by NATS request and reply, and fail at once with
// URILinkDown while the peer cannot be reached.
//
// The link joins the local realm as a WAMP session of its own: in
// process (Config.Local, an app's Application.Router()) or by URL
// (Config.Router). See README.md in this directory for the config
// section and the semantics.
package link

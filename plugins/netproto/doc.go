// Package netproto serves custom protocols over raw TCP and UDP, the way
// an app serves HTTP: a TCPServer runs a Handler per connection, a
// UDPServer a PacketHandler per datagram, each with the bounds a server
// facing the network needs.
//
// A TCP connection has one read side, the handler's, with helpers for
// the usual framings (Lines, LengthPrefixed) and a read deadline that
// closes idle connections; and one goroutine that owns its writes:
// Write and WriteFrame only queue bytes, up to Config.MaxBuffered, past
// which the connection is closed as a slow consumer (a peer that never
// reads costs at most that much memory), and each write to the socket
// has a deadline. The server bounds its connections; Stop stops
// accepting, ends the handlers' contexts, interrupts their reads, lets
// them flush what they queued, and closes whatever remains when its
// context ends.
//
// The package knows nothing of WAMP: the junction package wires it into
// apps (Application.TCP and Application.UDP), whose handlers find their
// app in their context to publish and call.
package netproto

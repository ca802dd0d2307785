package transport

import "errors"

// Errors returned by peers.
var (
	// ErrClosed is returned by Send and Read once the peer is closed.
	ErrClosed = errors.New("transport: peer closed")
	// ErrSlowConsumer is returned by Send when the peer's outbound queue
	// is full; the peer is closed.
	ErrSlowConsumer = errors.New("transport: slow consumer: outbound queue full")
	// ErrMessageTooBig is returned by Read for an incoming message larger
	// than Config.MaxMessageSize; the peer is closed. A RawSocket peer's
	// Send and SendShared also return it, without sending and without
	// closing, for a message larger than the other side accepts.
	ErrMessageTooBig = errors.New("transport: message exceeds maximum size")
	// ErrNoSubprotocol is returned when client and server share no WAMP
	// serializer (for RawSocket, when the router refuses the serializer
	// asked for).
	ErrNoSubprotocol = errors.New("transport: no common WAMP subprotocol")
	// ErrProtocol is returned by Read when the peer breaks the WebSocket
	// protocol (unmasked client frame, bad control frame...) or the
	// RawSocket one (reserved bits, unknown frame type).
	ErrProtocol = errors.New("transport: protocol error")
	// ErrHandshake is returned by AcceptRawSocket and DialRawSocket when
	// the RawSocket opening handshake fails: bytes that are not a
	// RawSocket handshake, or an error code in the reply.
	ErrHandshake = errors.New("transport: rawsocket handshake failed")
)

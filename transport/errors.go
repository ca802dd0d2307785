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
	// than Config.MaxMessageSize; the peer is closed.
	ErrMessageTooBig = errors.New("transport: message exceeds maximum size")
	// ErrNoSubprotocol is returned when client and server share no WAMP
	// serializer.
	ErrNoSubprotocol = errors.New("transport: no common WAMP subprotocol")
	// ErrProtocol is returned by Read when the peer breaks the WebSocket
	// protocol (unmasked client frame, bad control frame...).
	ErrProtocol = errors.New("transport: websocket protocol error")
)

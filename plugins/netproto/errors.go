package netproto

import "errors"

var (
	// ErrFrameTooLarge is returned by ReadFrame for a frame over the
	// limit: the stream cannot be trusted past it, close the connection.
	ErrFrameTooLarge = errors.New("netproto: frame too large")
	// ErrMalformedFrame is returned by ReadFrame for a frame its framing
	// refuses (a truncated one), and by WriteFrame for a payload the
	// framing cannot carry (a line with a newline in it).
	ErrMalformedFrame = errors.New("netproto: malformed frame")
	// ErrSlowConsumer is returned by Write once the bytes queued for a
	// connection would pass Config.MaxBuffered: the connection is closed.
	ErrSlowConsumer = errors.New("netproto: slow consumer: too many bytes queued for the connection")
	// ErrClosed is returned by Write on a connection closed by its
	// handler, and by reads once the peer has gone or a write failed.
	ErrClosed = errors.New("netproto: connection closed")
	// ErrServerClosed is returned by reads and writes once Stop has
	// begun, and by Start after Stop.
	ErrServerClosed = errors.New("netproto: server closed")
	// ErrReadTimeout is returned by reads on a connection that sent
	// nothing for Config.ReadTimeout.
	ErrReadTimeout = errors.New("netproto: read timeout: the peer sent nothing for too long")
)

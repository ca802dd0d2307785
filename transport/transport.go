package transport

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// Peer is one end of a WAMP connection.
type Peer interface {
	// Read returns the next message. It must be called from one goroutine
	// at a time. After the connection ends it returns an error: io.EOF
	// for a clean close, ErrClosed after Close, or what broke it.
	Read() (wamp.Message, error)
	// Send queues m for delivery and returns at once. It returns
	// ErrSlowConsumer (and closes the peer) if the queue is full, or
	// ErrClosed. The message must not be modified afterwards.
	Send(m wamp.Message) error
	// SendShared is Send for a message delivered to many peers: it is
	// encoded once per serializer, and the bytes are shared.
	SendShared(s *Shared) error
	// Close flushes what is queued (within the write timeout), closes the
	// connection and releases Read. It is safe to call more than once and
	// from any goroutine.
	Close() error
	// Done is closed once the peer is closed.
	Done() <-chan struct{}
	// Info describes the connection.
	Info() Info
}

// Backlogger is implemented by the peers that queue what they send (all
// of this package's): a router reads it to slow down a publisher whose
// events pile up for a subscriber, rather than cut the subscriber off.
type Backlogger interface {
	// Backlog returns how many messages wait in the outbound queue, and
	// its bound (Config.OutboundQueue). It is cheap: an atomic load.
	Backlog() (queued, limit int)
	// Drained returns a channel closed once at most n messages wait, or
	// the peer is closed.
	Drained(n int) <-chan struct{}
}

// Welcomer is implemented by server-side peers that hold incoming
// messages to Config.MaxHelloSize until the session is established.
// Welcomed lifts the bound to MaxMessageSize; the router calls it once it
// has sent WELCOME, from the goroutine that reads the peer.
type Welcomer interface {
	Welcomed()
}

// Info describes a connection, for session details and logs.
type Info struct {
	Transport  string // "websocket", "rawsocket" or "local"
	Serializer string // codec name, "" for in-process peers
	RemoteAddr string
	// TLS is the state of the connection's TLS layer once its handshake
	// is done, nil for a connection without TLS. Authentication reads it
	// for channel binding (tls-unique, tls-exporter).
	TLS *tls.ConnectionState
}

// Shared is a message sent to many peers. Its encodings are made on first
// use, once per serializer, by whichever writer needs them first.
type Shared struct {
	Msg  wamp.Message
	encs [3]sharedEncoding
}

type sharedEncoding struct {
	once sync.Once
	data []byte
	err  error
}

// NewShared wraps m for SendShared.
func NewShared(m wamp.Message) *Shared { return &Shared{Msg: m} }

// Encoded returns m encoded by c, computed once.
func (s *Shared) Encoded(c codec.Codec) ([]byte, error) {
	data, _, err := s.encoded(c)
	return data, err
}

// encoded is Encoded, also telling whether this call made the encoding:
// a message that cannot be encoded is then logged once, not once per
// peer.
func (s *Shared) encoded(c codec.Codec) (data []byte, first bool, err error) {
	var e *sharedEncoding
	switch c {
	case codec.JSON:
		e = &s.encs[0]
	case codec.MsgPack:
		e = &s.encs[1]
	case codec.CBOR:
		e = &s.encs[2]
	default:
		data, err := codec.Encode(c, s.Msg)
		return data, true, err
	}
	e.once.Do(func() {
		e.data, e.err = codec.Encode(c, s.Msg)
		first = true
	})
	return e.data, first, e.err
}

// Config tunes connections. The zero value is valid: each field's default
// is given in its comment.
type Config struct {
	// MaxHelloSize bounds an incoming message, in bytes, on a server
	// connection until its session is welcomed (see Welcomer): HELLO and
	// AUTHENTICATE are small, and an unauthenticated peer must not make
	// the router hold, or parse, megabytes. Default 64 KiB; never above
	// MaxMessageSize.
	MaxHelloSize int `json:"max_hello_size" yaml:"max_hello_size"`
	// MaxMessageSize bounds an incoming message, in bytes. Default 16 MiB.
	// RawSocket announces and enforces the largest power of two not
	// above it, between 512 B and 16 MiB, as its handshake requires.
	MaxMessageSize int `json:"max_message_size" yaml:"max_message_size"`
	// OutboundQueue is how many messages may wait for a slow peer before
	// it is disconnected. Default 16384.
	OutboundQueue int `json:"outbound_queue" yaml:"outbound_queue"`
	// PingInterval is how long a connection may stay silent before it is
	// pinged. Default 30s; negative disables pings.
	PingInterval time.Duration `json:"ping_interval" yaml:"ping_interval"`
	// ReadTimeout closes a connection from which nothing, not even a
	// pong, arrived for that long. Default PingInterval + 20s, or none if
	// pings are disabled.
	ReadTimeout time.Duration `json:"read_timeout" yaml:"read_timeout"`
	// WriteTimeout bounds one write to the network. Default 10s.
	WriteTimeout time.Duration `json:"write_timeout" yaml:"write_timeout"`
	// ParkAfter is how long a connection whose reader can park (Parker:
	// the router's sessions) may stay silent before its goroutine is let
	// go; the connection then waits in a poller, and a goroutine starts
	// again when input arrives, a ping is due or it closes. It saves a
	// goroutine stack (4 KiB or more) per quiet connection, and costs a
	// goroutine start when a parked one speaks again. Default 1s;
	// negative keeps a goroutine per connection. Linux, over plain TCP
	// and Unix sockets (not TLS).
	ParkAfter time.Duration `json:"park_after" yaml:"park_after"`
	// Serializers lists the codecs offered or accepted, in order of
	// preference. Default: JSON, MessagePack, CBOR.
	Serializers []codec.Codec `json:"-" yaml:"-"`
	// Logger receives transport errors. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
	// TLS configures the client side of wss://, rss:// and tcps://
	// connections (root CAs, client certificates...). Its ServerName
	// defaults to the URL's host. Default nil: the system's roots.
	// Servers configure TLS on their listener instead.
	TLS *tls.Config `json:"-" yaml:"-"`
}

// Defaults.
const (
	DefaultMaxMessageSize = 16 << 20
	DefaultMaxHelloSize   = 64 << 10
	DefaultOutboundQueue  = 16384
	DefaultPingInterval   = 30 * time.Second
	DefaultWriteTimeout   = 10 * time.Second
	DefaultParkAfter      = time.Second
)

// Bounds of the sizes in Config: a smaller message limit would refuse a
// HELLO or WELCOME, a larger one would let one message take gigabytes.
const (
	MinMessageSize = 1 << 10
	MaxMessageSize = 1 << 30
)

// Validate reports a size out of its bounds (zero means the default and
// passes). Its messages name the fields by their configuration file keys.
func (c Config) Validate() error {
	for _, f := range []struct {
		key string
		v   int
	}{{"max_message_size", c.MaxMessageSize}, {"max_hello_size", c.MaxHelloSize}} {
		if f.v != 0 && (f.v < MinMessageSize || f.v > MaxMessageSize) {
			return fmt.Errorf("transport: %s %d is out of bounds: want %d bytes (1 KiB) to %d (1 GiB)", f.key, f.v, MinMessageSize, MaxMessageSize)
		}
	}
	if c.OutboundQueue < 0 {
		return fmt.Errorf("transport: outbound_queue %d is negative", c.OutboundQueue)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxHelloSize <= 0 {
		c.MaxHelloSize = DefaultMaxHelloSize
	}
	c.MaxHelloSize = min(c.MaxHelloSize, c.MaxMessageSize)
	if c.OutboundQueue <= 0 {
		c.OutboundQueue = DefaultOutboundQueue
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.ReadTimeout == 0 && c.PingInterval > 0 {
		c.ReadTimeout = c.PingInterval + 20*time.Second
	}
	if c.PingInterval > 0 && c.ReadTimeout > 0 && c.ReadTimeout <= c.PingInterval {
		// The pong needs time to come back.
		c.ReadTimeout = c.PingInterval + c.PingInterval/2
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.ParkAfter == 0 {
		c.ParkAfter = DefaultParkAfter
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(c.Serializers) == 0 {
		c.Serializers = codec.All
	}
	return c
}

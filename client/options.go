package client

import (
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// Config configures a session. The zero value is valid: each field's
// default is given in its comment.
type Config struct {
	// Realm is the realm to join. Default "realm1".
	Realm wamp.URI `json:"realm" yaml:"realm"`
	// Transport tunes the WebSocket connection made by Dial.
	Transport transport.Config `json:"transport" yaml:"transport"`
	// Logger receives the session's logs. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
	// HelloDetails is merged into the HELLO details (authid, authmethods
	// and so on); its keys win over the defaults ("roles", "agent").
	HelloDetails wamp.Dict `json:"hello_details" yaml:"hello_details"`
	// Reconnect, if not nil, makes a session opened by Dial reconnect
	// after losing its connection. Join ignores it. Default nil: the
	// session ends with its first connection.
	Reconnect *ReconnectConfig `json:"reconnect" yaml:"reconnect"`
	// OnConnect, if set, is called after each join, once subscriptions
	// and registrations are restored. It runs on the session's supervisor
	// goroutine: it must not block for long, nor call Close.
	OnConnect func(*Session) `json:"-" yaml:"-"`
	// OnDisconnect, if set, is called with the cause each time the
	// connection ends, on the same goroutine as OnConnect.
	OnDisconnect func(*Session, error) `json:"-" yaml:"-"`
}

// ReconnectConfig tunes reconnection: attempts are spaced by an
// exponential backoff from MinDelay to MaxDelay, each delay jittered down
// by up to half.
type ReconnectConfig struct {
	// MinDelay is the delay before the first attempt. Default 100ms.
	MinDelay time.Duration `json:"min_delay" yaml:"min_delay"`
	// MaxDelay caps the delay between attempts. Default 10s.
	MaxDelay time.Duration `json:"max_delay" yaml:"max_delay"`
	// MaxAttempts is how many attempts follow one connection loss before
	// the session ends with ErrReconnectFailed. Default 0: forever.
	MaxAttempts int `json:"max_attempts" yaml:"max_attempts"`
}

// Defaults.
const (
	DefaultRealm    wamp.URI = "realm1"
	DefaultMinDelay          = 100 * time.Millisecond
	DefaultMaxDelay          = 10 * time.Second
)

// handshakeTimeout bounds a reconnection's dial and join.
const handshakeTimeout = 10 * time.Second

func (c Config) withDefaults() Config {
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Reconnect != nil {
		r := *c.Reconnect
		if r.MinDelay <= 0 {
			r.MinDelay = DefaultMinDelay
		}
		if r.MaxDelay <= 0 {
			r.MaxDelay = DefaultMaxDelay
		}
		r.MaxDelay = max(r.MaxDelay, r.MinDelay)
		c.Reconnect = &r
	}
	return c
}

func (c Config) validate() error {
	if !c.Realm.Valid(false) {
		return fmt.Errorf("%w: realm %q", ErrInvalidConfig, c.Realm)
	}
	if c.Reconnect != nil && c.Reconnect.MaxAttempts < 0 {
		return fmt.Errorf("%w: negative Reconnect.MaxAttempts", ErrInvalidConfig)
	}
	return nil
}

func (c Config) helloDetails() wamp.Dict {
	roles := wamp.Dict{}
	for _, r := range []string{"publisher", "subscriber", "caller", "callee"} {
		roles[r] = wamp.Dict{"features": wamp.Dict{}}
	}
	d := wamp.Dict{"roles": roles, "agent": "junction-client"}
	maps.Copy(d, c.HelloDetails)
	return d
}

// SubscribeOptions are the options of Subscribe. Nil means defaults.
type SubscribeOptions struct {
	// Match is the topic match policy. Default exact.
	Match wamp.MatchPolicy
	// Extra is merged into the SUBSCRIBE options.
	Extra wamp.Dict
}

func (o *SubscribeOptions) dict() wamp.Dict {
	d := wamp.Dict{}
	if o == nil {
		return d
	}
	maps.Copy(d, o.Extra)
	if o.Match != "" && o.Match != wamp.MatchExact {
		d["match"] = string(o.Match)
	}
	return d
}

// PublishOptions are the options of Publish. Nil means defaults.
type PublishOptions struct {
	// Acknowledge makes Publish wait for the router's PUBLISHED.
	Acknowledge bool
	// ExcludeMe, if set, tells whether the publisher's own subscriptions
	// receive the event. Default (nil): the router's default, true.
	ExcludeMe *bool
	// Extra is merged into the PUBLISH options.
	Extra wamp.Dict
}

func (o *PublishOptions) dict() wamp.Dict {
	d := wamp.Dict{}
	if o == nil {
		return d
	}
	maps.Copy(d, o.Extra)
	if o.Acknowledge {
		d["acknowledge"] = true
	}
	if o.ExcludeMe != nil {
		d["exclude_me"] = *o.ExcludeMe
	}
	return d
}

// RegisterOptions are the options of Register. Nil means defaults.
type RegisterOptions struct {
	// Match is the procedure match policy. Default exact.
	Match wamp.MatchPolicy
	// Invoke is the invocation policy for shared registrations ("single",
	// "roundrobin", "random", "first", "last"). Default single.
	Invoke string
	// Extra is merged into the REGISTER options.
	Extra wamp.Dict
}

func (o *RegisterOptions) dict() wamp.Dict {
	d := wamp.Dict{}
	if o == nil {
		return d
	}
	maps.Copy(d, o.Extra)
	if o.Match != "" && o.Match != wamp.MatchExact {
		d["match"] = string(o.Match)
	}
	if o.Invoke != "" {
		d["invoke"] = o.Invoke
	}
	return d
}

// CallOptions are the options of Call. Nil means defaults.
type CallOptions struct {
	// Timeout, if positive, is sent to the router as the call's timeout
	// and also bounds how long Call waits (it then returns
	// context.DeadlineExceeded, unless the router's ERROR came first).
	Timeout time.Duration
	// Extra is merged into the CALL options.
	Extra wamp.Dict
}

func (o *CallOptions) dict() wamp.Dict {
	d := wamp.Dict{}
	if o == nil {
		return d
	}
	maps.Copy(d, o.Extra)
	if o.Timeout > 0 {
		d["timeout"] = o.Timeout.Milliseconds()
	}
	return d
}

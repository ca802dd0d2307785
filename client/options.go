package client

import (
	"crypto/ed25519"
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
	// AuthID is the authentication ID (the user name) sent in HELLO.
	// Default "": none, which anonymous and cryptosign allow.
	AuthID string `json:"authid" yaml:"authid"`
	// Auth lists the authentication methods the client offers, in its
	// order of preference (HELLO.Details.authmethods); the router picks
	// one and the session answers its CHALLENGE with that Authenticator.
	// Each reconnection authenticates again. Default nil: no
	// authmethods are sent, which a router takes as anonymous.
	Auth []Authenticator `json:"-" yaml:"-"`
	// HelloDetails is merged into the HELLO details; its keys win over
	// the defaults ("roles", "agent") and those of AuthID and Auth.
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
	// MaxDelay caps the delay between attempts. Default 5s, as an app's:
	// a router that restarts is found again within seconds.
	MaxDelay time.Duration `json:"max_delay" yaml:"max_delay"`
	// MaxAttempts is how many attempts follow one connection loss before
	// the session ends with ErrReconnectFailed. Default 0: forever.
	MaxAttempts int `json:"max_attempts" yaml:"max_attempts"`
}

// Defaults.
const (
	DefaultRealm    wamp.URI = "realm1"
	DefaultMinDelay          = 100 * time.Millisecond
	DefaultMaxDelay          = 5 * time.Second
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
	for i, a := range c.Auth {
		if a == nil || a.Method() == "" {
			return fmt.Errorf("%w: Auth[%d] is nil or has no method", ErrInvalidConfig, i)
		}
		if cs, ok := a.(*Cryptosign); ok && len(cs.Key) != ed25519.PrivateKeySize {
			return fmt.Errorf("%w: Auth[%d]: cryptosign key is not an Ed25519 private key", ErrInvalidConfig, i)
		}
	}
	return nil
}

// features are the advanced features this client implements, announced
// per role in HELLO.
var features = map[string][]string{
	"caller": {
		"progressive_call_results", "progressive_call_invocations",
		"call_canceling", "call_timeout", "caller_identification",
	},
	"callee": {
		"progressive_call_results", "progressive_call_invocations",
		"call_canceling", "caller_identification",
		"pattern_based_registration", "shared_registration",
	},
	"publisher": {
		"publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing",
	},
	"subscriber": {
		"pattern_based_subscription", "publisher_identification", "event_retention",
	},
}

func (c Config) helloDetails() wamp.Dict {
	roles := wamp.Dict{}
	for role, names := range features {
		f := wamp.Dict{}
		for _, n := range names {
			f[n] = true
		}
		roles[role] = wamp.Dict{"features": f}
	}
	d := wamp.Dict{"roles": roles, "agent": "junction-client"}
	c.authDetails(d)
	maps.Copy(d, c.HelloDetails)
	return d
}

// SubscribeOptions are the options of Subscribe. Nil means defaults.
type SubscribeOptions struct {
	// Match is the topic match policy. Default exact. With prefix or
	// wildcard matching, Event.Topic tells which topic an event was
	// published to.
	Match wamp.MatchPolicy
	// GetRetained asks the broker for the topic's retained event, if it
	// keeps one (event retention): it arrives as the subscription's first
	// event, with Event.Retained true. It is asked for again each time
	// the subscription is restored after a reconnection.
	GetRetained bool
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
	if o.GetRetained {
		d["get_retained"] = true
	}
	return d
}

// PublishOptions are the options of Publish. Nil means defaults.
//
// The Exclude and Eligible lists narrow who receives the event (subscriber
// black- and whitelisting): a subscriber gets it only if it is in every
// Eligible list given and in none of the Exclude lists. A nil or empty
// list is not sent.
type PublishOptions struct {
	// Acknowledge makes Publish wait for the router's PUBLISHED.
	Acknowledge bool
	// ExcludeMe, if set, tells whether the publisher's own subscriptions
	// receive the event. Default (nil): the router's default, true.
	ExcludeMe *bool
	// DiscloseMe asks the broker to tell subscribers who published
	// (Event.Publisher and the like).
	DiscloseMe bool
	// Retain asks the broker to keep the event as the topic's retained
	// event, for subscribers that later ask for it
	// (SubscribeOptions.GetRetained).
	Retain bool
	// Exclude, ExcludeAuthID and ExcludeAuthRole keep the event from the
	// sessions with these IDs, authids and authroles.
	Exclude         []wamp.ID
	ExcludeAuthID   []string
	ExcludeAuthRole []string
	// Eligible, EligibleAuthID and EligibleAuthRole restrict the event to
	// the sessions with these IDs, authids and authroles.
	Eligible         []wamp.ID
	EligibleAuthID   []string
	EligibleAuthRole []string
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
	if o.DiscloseMe {
		d["disclose_me"] = true
	}
	if o.Retain {
		d["retain"] = true
	}
	putIDs(d, "exclude", o.Exclude)
	putStrings(d, "exclude_authid", o.ExcludeAuthID)
	putStrings(d, "exclude_authrole", o.ExcludeAuthRole)
	putIDs(d, "eligible", o.Eligible)
	putStrings(d, "eligible_authid", o.EligibleAuthID)
	putStrings(d, "eligible_authrole", o.EligibleAuthRole)
	return d
}

// putIDs and putStrings set d[key] to a non-empty list as a wamp.List of
// the values serializers produce, which is what a router reads.
func putIDs(d wamp.Dict, key string, ids []wamp.ID) {
	if len(ids) == 0 {
		return
	}
	l := make(wamp.List, len(ids))
	for i, id := range ids {
		l[i] = int64(id)
	}
	d[key] = l
}

func putStrings(d wamp.Dict, key string, ss []string) {
	if len(ss) == 0 {
		return
	}
	l := make(wamp.List, len(ss))
	for i, s := range ss {
		l[i] = s
	}
	d[key] = l
}

// RegisterOptions are the options of Register. Nil means defaults.
type RegisterOptions struct {
	// Match is the procedure match policy. Default exact. A call matches
	// an exact registration first, then the longest prefix, then a
	// wildcard; Invocation.Procedure tells which procedure was called.
	Match wamp.MatchPolicy
	// Invoke is the invocation policy for shared registrations ("single",
	// "roundrobin", "random", "first", "last"). Default single: the
	// procedure cannot be registered twice.
	Invoke string
	// DiscloseCaller asks the dealer to tell the handler who calls
	// (Invocation.Caller and the like), whether or not the caller asked
	// to be disclosed.
	DiscloseCaller bool
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
	if o.DiscloseCaller {
		d["disclose_caller"] = true
	}
	return d
}

// CancelMode tells the dealer how to cancel a call (CANCEL.Options.mode).
type CancelMode string

// Cancel modes of the specification.
const (
	// CancelKillNoWait, the default, has the dealer answer the call with
	// wamp.error.canceled at once and interrupt the callee, whose answer
	// it then ignores.
	CancelKillNoWait CancelMode = "killnowait"
	// CancelKill has the dealer interrupt the callee and answer the call
	// only once the callee has: with wamp.error.canceled, or with the
	// result if the callee finished first.
	CancelKill CancelMode = "kill"
	// CancelSkip has the dealer answer the call with wamp.error.canceled
	// at once without interrupting the callee, whose result it drops.
	CancelSkip CancelMode = "skip"
)

// CallOptions are the options of Call and CallStream. Nil means defaults.
type CallOptions struct {
	// Timeout, if positive, bounds the call; it is sent to the router as
	// the call's timeout. A router announcing call_timeout enforces it and
	// answers wamp.error.timeout; the client only gives up itself a
	// second later, in case that answer is lost. Otherwise the client
	// enforces it alone, as if ctx had ended, and Call's error then
	// matches both context.DeadlineExceeded and wamp.ErrTimeout. With
	// Progress set, the timeout runs from the call to the first result,
	// then from one result to the next.
	Timeout time.Duration
	// Progress, if set, asks for progressive results: each progressive
	// RESULT is handed to it, in order, before Call returns the final
	// one. It runs on the goroutine of Call (of the stream, for
	// CallStream); while it runs, further results wait, and past a few of
	// them so does the rest of the session's traffic, as with events.
	Progress func(*Result)
	// DiscloseMe asks the dealer to tell the callee who calls
	// (Invocation.Caller and the like).
	DiscloseMe bool
	// CancelMode is the mode of the CANCEL sent when ctx ends or Timeout
	// expires on the client's side before the result. Default
	// CancelKillNoWait. Whatever the mode, Call returns at once and
	// drops the router's later answer, if any; no CANCEL is sent unless
	// the router announces call_canceling.
	CancelMode CancelMode
	// Extra is merged into the CALL options.
	Extra wamp.Dict
}

func (o *CallOptions) validate() error {
	if o == nil {
		return nil
	}
	switch o.CancelMode {
	case "", CancelKillNoWait, CancelKill, CancelSkip:
	default:
		return fmt.Errorf("%w: cancel mode %q", ErrInvalidOptions, o.CancelMode)
	}
	return nil
}

func (o *CallOptions) cancelMode() CancelMode {
	if o == nil || o.CancelMode == "" {
		return CancelKillNoWait
	}
	return o.CancelMode
}

func (o *CallOptions) timeout() time.Duration {
	if o == nil || o.Timeout <= 0 {
		return 0
	}
	return o.Timeout
}

func (o *CallOptions) progress() func(*Result) {
	if o == nil {
		return nil
	}
	return o.Progress
}

func (o *CallOptions) dict() wamp.Dict {
	d := wamp.Dict{}
	if o == nil {
		return d
	}
	maps.Copy(d, o.Extra)
	if o.Timeout > 0 {
		// Rounded up: a timeout of 0 would mean none.
		d["timeout"] = int64((o.Timeout + time.Millisecond - 1) / time.Millisecond)
	}
	if o.Progress != nil {
		d["receive_progress"] = true
	}
	if o.DiscloseMe {
		d["disclose_me"] = true
	}
	return d
}

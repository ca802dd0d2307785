package client

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// Authenticator performs one WAMP authentication method for a client:
// the method is offered in HELLO, and Authenticate answers the router's
// CHALLENGE for it. Set them in Config.Auth.
//
// An Authenticator that also implements AuthExtraProvider adds to
// HELLO.Details.authextra.
type Authenticator interface {
	// Method is the method's name in HELLO.Details.authmethods:
	// "ticket", "wampcra", "cryptosign" or another the router knows.
	Method() string
	// Authenticate answers c with the AUTHENTICATE signature and extra
	// (nil for none). An error aborts the join. It is called on the
	// goroutine that joins (Dial, Join, or a reconnection), bounded by
	// its ctx.
	Authenticate(ctx context.Context, c *Challenge) (signature string, extra wamp.Dict, err error)
}

// AuthExtraProvider is implemented by an Authenticator that announces
// something in HELLO.Details.authextra, as cryptosign announces its
// public key. The dicts of the authenticators offered are merged, the
// first one's keys winning.
type AuthExtraProvider interface {
	AuthExtra() wamp.Dict
}

// Challenge is a router's CHALLENGE, as an Authenticator gets it.
type Challenge struct {
	// Method is the authentication method.
	Method string
	// Extra holds the method's data, e.g. WAMP-CRA's "challenge" and
	// "salt".
	Extra wamp.Dict
	// TLS is the connection's TLS state, nil without TLS: channel
	// binding reads it.
	TLS *tls.ConnectionState
}

// TicketAuth returns the WAMP-Ticket method: the ticket is sent as it
// is, so use it over TLS only.
func TicketAuth(ticket string) Authenticator { return ticketAuth(ticket) }

type ticketAuth string

func (ticketAuth) Method() string { return "ticket" }

func (t ticketAuth) Authenticate(context.Context, *Challenge) (string, wamp.Dict, error) {
	return string(t), nil, nil
}

// WAMPCRAAuth returns the WAMP-CRA method, which proves that the client
// knows secret without sending it: the signature is the HMAC-SHA256 of
// the router's challenge. If the router sends a salt, the key is derived
// from secret (the password) with PBKDF2-HMAC-SHA256, as Autobahn does:
// the HMAC key is then the base64 text of the derived key.
func WAMPCRAAuth(secret string) Authenticator { return wampcraAuth(secret) }

type wampcraAuth string

func (wampcraAuth) Method() string { return "wampcra" }

func (w wampcraAuth) Authenticate(_ context.Context, c *Challenge) (string, wamp.Dict, error) {
	challenge, ok := wamp.DictString(c.Extra, "challenge")
	if !ok {
		return "", nil, fmt.Errorf("%w: wampcra CHALLENGE without a challenge string", ErrProtocol)
	}
	key := []byte(w)
	if salt, ok := wamp.DictString(c.Extra, "salt"); ok && salt != "" {
		iterations, _ := wamp.DictInt(c.Extra, "iterations")
		keylen, _ := wamp.DictInt(c.Extra, "keylen")
		if iterations < 0 || iterations > 10_000_000 || keylen < 0 || keylen > 1024 {
			return "", nil, fmt.Errorf("%w: wampcra CHALLENGE with iterations %d, keylen %d", ErrProtocol, iterations, keylen)
		}
		derived, err := pbkdf2.Key(sha256.New, string(w), []byte(salt), int(cmp.Or(iterations, 1000)), int(cmp.Or(keylen, 32)))
		if err != nil {
			return "", nil, fmt.Errorf("client: wampcra key: %w", err)
		}
		key = []byte(base64.StdEncoding.EncodeToString(derived))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil, nil
}

// CryptosignAuth returns the WAMP-Cryptosign method with key, without
// channel binding.
func CryptosignAuth(key ed25519.PrivateKey) *Cryptosign { return &Cryptosign{Key: key} }

// Cryptosign is the WAMP-Cryptosign method: the client announces its
// Ed25519 public key in HELLO and signs the router's challenge with the
// private key.
type Cryptosign struct {
	// Key is the client's private key.
	Key ed25519.PrivateKey
	// ChannelBinding, if set, binds the signature to the TLS connection,
	// so that it cannot be replayed on another: "tls-unique" (TLS 1.2)
	// or "tls-exporter" (TLS 1.3). The join fails if the router does not
	// confirm the binding.
	ChannelBinding string
}

var _ AuthExtraProvider = (*Cryptosign)(nil)

// Method returns "cryptosign".
func (*Cryptosign) Method() string { return "cryptosign" }

// AuthExtra announces the public key and the channel binding asked for.
func (c *Cryptosign) AuthExtra() wamp.Dict {
	d := wamp.Dict{"pubkey": hex.EncodeToString(c.Key.Public().(ed25519.PublicKey)), "channel_binding": nil}
	if c.ChannelBinding != "" {
		d["channel_binding"] = c.ChannelBinding
	}
	return d
}

// Authenticate signs the challenge (XOR'ed with the channel ID when
// bound) and answers hex(signature || message).
func (c *Cryptosign) Authenticate(_ context.Context, ch *Challenge) (string, wamp.Dict, error) {
	s, _ := wamp.DictString(ch.Extra, "challenge")
	challenge, err := hex.DecodeString(s)
	if err != nil || len(challenge) != 32 {
		return "", nil, fmt.Errorf("%w: cryptosign challenge %q is not 32 bytes in hex", ErrProtocol, s)
	}
	bound, _ := wamp.DictString(ch.Extra, "channel_binding")
	if bound != c.ChannelBinding {
		return "", nil, fmt.Errorf("client: cryptosign: asked for channel binding %q, router uses %q", c.ChannelBinding, bound)
	}
	var channelID []byte
	if c.ChannelBinding != "" {
		if channelID, err = transport.ChannelBinding(ch.TLS, c.ChannelBinding); err != nil {
			return "", nil, fmt.Errorf("client: cryptosign: %w", err)
		}
	}
	return signChallenge(c.Key, challenge, channelID), nil, nil
}

// signChallenge returns the cryptosign signature of challenge, XOR'ed
// with channelID if not nil: hex(signature || message).
func signChallenge(key ed25519.PrivateKey, challenge, channelID []byte) string {
	message := challenge
	if channelID != nil {
		message = make([]byte, len(challenge))
		subtle.XORBytes(message, challenge, channelID)
	}
	sig := ed25519.Sign(key, message)
	return hex.EncodeToString(append(sig, message...))
}

// authDetails adds what Config.AuthID and Config.Auth announce to the
// HELLO details d.
func (c Config) authDetails(d wamp.Dict) {
	if c.AuthID != "" {
		d["authid"] = c.AuthID
	}
	if len(c.Auth) == 0 {
		return
	}
	methods := make(wamp.List, len(c.Auth))
	extra := wamp.Dict{}
	for i := len(c.Auth) - 1; i >= 0; i-- {
		a := c.Auth[i]
		methods[i] = a.Method()
		if p, ok := a.(AuthExtraProvider); ok {
			maps.Copy(extra, p.AuthExtra())
		}
	}
	d["authmethods"] = methods
	if len(extra) > 0 {
		d["authextra"] = extra
	}
}

// authenticator returns the configured Authenticator of method, or nil.
func (c Config) authenticator(method string) Authenticator {
	for _, a := range c.Auth {
		if a.Method() == method {
			return a
		}
	}
	return nil
}

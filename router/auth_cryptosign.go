package router

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// WAMP-Cryptosign: the client announces its Ed25519 public key in
// HELLO.Details.authextra.pubkey; the router sends 32 random bytes, hex,
// and the client answers with hex(signature || message), 96 bytes, where
// message is the challenge, XOR'ed with the TLS channel ID when the
// client asked for channel binding.
//
// Channel binding is offered where the connection has what it needs:
// "tls-unique" on TLS 1.2 (the channel ID is the SHA-256 of the first
// Finished message, as Autobahn|Python computes it) and "tls-exporter"
// on TLS 1.3 or TLS 1.2 with extended master secret (32 bytes of the
// RFC 9266 exporter). A binding the connection cannot offer (no TLS,
// tls-unique on TLS 1.3, an unknown type) is refused with an ABORT
// wamp.error.authentication_failed that says so, rather than silently
// dropped as the specification would also allow: a client that asks for
// a binding relies on it.

// cryptosign runs WAMP-Cryptosign. A key the router does not know is
// challenged too, and refused once the client answers.
func (a *attempt) cryptosign() (authOutcome, *authError) {
	extra := a.authextra()
	pubHex, _ := wamp.DictString(extra, "pubkey")
	pub, err := hex.DecodeString(pubHex)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		msg := "HELLO.Details.authextra.pubkey must be an Ed25519 public key, 32 bytes hex-encoded"
		return authOutcome{}, &authError{reason: wamp.URIAuthenticationFailed, message: msg, log: msg}
	}
	pubHex = strings.ToLower(pubHex)
	var binding string
	var channelID []byte
	if v := extra["channel_binding"]; v != nil {
		binding, _ = v.(string)
		if channelID, err = transport.ChannelBinding(a.s.peer.Info().TLS, binding); err != nil {
			msg := fmt.Sprintf("channel binding %v is not available on this connection: %v", v, err)
			return authOutcome{}, &authError{reason: wamp.URIAuthenticationFailed, message: msg, log: msg}
		}
	}
	out, failure := a.cryptosignIdentity(pubHex)

	challenge := make([]byte, 32)
	rand.Read(challenge)
	chExtra := wamp.Dict{"challenge": hex.EncodeToString(challenge), "channel_binding": nil}
	if binding != "" {
		chExtra["channel_binding"] = binding
	}
	m, authErr := a.challenge(authCryptosign, chExtra)
	if authErr != nil {
		return authOutcome{}, authErr
	}
	message := challenge
	if channelID != nil {
		message = make([]byte, len(challenge))
		subtle.XORBytes(message, challenge, channelID)
	}
	sig, err := hex.DecodeString(m.Signature)
	valid := err == nil && verifyCryptosign(pub, message, sig)
	switch {
	case failure != nil:
		return authOutcome{}, failure
	case !valid:
		return authOutcome{}, denied("wrong cryptosign signature by key %s for authid %q", pubHex, out.authid)
	}
	return out, nil
}

// verifyCryptosign checks an AUTHENTICATE signature: the Ed25519
// signature of message by pub, followed by message as the specification
// asks (or alone, which proves as much).
func verifyCryptosign(pub ed25519.PublicKey, message, sig []byte) bool {
	switch len(sig) {
	case ed25519.SignatureSize + len(message):
		if subtle.ConstantTimeCompare(sig[ed25519.SignatureSize:], message) != 1 {
			return false
		}
	case ed25519.SignatureSize:
	default:
		return false
	}
	return ed25519.Verify(pub, message, sig[:ed25519.SignatureSize])
}

// cryptosignIdentity finds who holds the key pubHex (lower-case hex):
// the static principal named by the authid asked for, or without authid
// the one the key is listed for; then the dynamic authenticator. Without
// an authid from either, the session's authid is the key.
func (a *attempt) cryptosignIdentity(pubHex string) (authOutcome, *authError) {
	cfg := a.cfg.Cryptosign
	authid := a.authid()
	if authid != "" {
		if p, ok := cfg.Principals[authid]; ok {
			if !p.authorizes(pubHex) {
				return authOutcome{authid: authid, authrole: p.Role}, denied("key %s is not authorized for authid %q", pubHex, authid)
			}
			return authOutcome{authid: authid, authrole: p.Role, provider: providerStatic}, nil
		}
	} else {
		for id, p := range cfg.Principals {
			if p.authorizes(pubHex) {
				return authOutcome{authid: id, authrole: p.Role, provider: providerStatic}, nil
			}
		}
	}
	if cfg.Authenticator == "" {
		return authOutcome{authid: authid}, denied("no cryptosign principal for authid %q and key %s", authid, pubHex)
	}
	details := a.dynamicDetails(authCryptosign)
	details["pubkey"] = pubHex
	ans, err := a.callAuthenticator(cfg.Authenticator, authid, details)
	if err != nil {
		return authOutcome{authid: authid}, err
	}
	if authid == "" && ans.authid == "" {
		ans.authid = pubHex
	}
	return ans.outcome(authid), nil
}

// authorizes reports whether the principal may use the key pubHex
// (lower-case hex).
func (p CryptosignPrincipal) authorizes(pubHex string) bool {
	return slices.ContainsFunc(p.AuthorizedKeys, func(k string) bool { return strings.EqualFold(k, pubHex) })
}

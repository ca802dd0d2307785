package admin

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/junction-run/junction/router"
)

// BridgeKey is a key of crossbar.io's signed requests and the identity
// its requests have in the realm, as a BridgeToken's.
//
// A signed request carries, in its query string, key, timestamp (UTC,
// ISO 8601 with a fraction and a Z: 2011-10-14T16:59:51.123Z), seq and
// nonce (integers), and signature: the URL-safe base64 of
// HMAC-SHA256(secret, key ‖ timestamp ‖ seq ‖ nonce ‖ body), the five
// byte strings concatenated as they appear in the request.
type BridgeKey struct {
	// Key is the key's public name, the request's key parameter.
	Key string `json:"key" yaml:"key"`
	// Secret is the HMAC secret; SecretFile, a file holding it
	// (trimmed), instead.
	Secret     string `json:"-" yaml:"-"`
	SecretFile string `json:"secret_file,omitempty" yaml:"secret_file,omitempty"`
	// AuthID and AuthRole are the requests' identity. Defaults
	// "http-bridge" and "http-bridge".
	AuthID   string `json:"authid,omitempty" yaml:"authid,omitempty"`
	AuthRole string `json:"authrole,omitempty" yaml:"authrole,omitempty"`
}

// DefaultTimestampWindow is BridgeConfig.TimestampWindow's default, as
// crossbar.io's timestamp_delta_limit.
const DefaultTimestampWindow = 300 * time.Second

// maxNonces bounds the nonces remembered at once. A key's requests are
// rate-limited, so that only a flood spread over many keys reaches it;
// past it, signed requests are refused until old nonces expire rather
// than accepted without replay protection.
const maxNonces = 1 << 18

// crossbar.io's messages for refused signed requests (its log
// categories AR459 to AR464), which scripts written for it may match.
const (
	msgBadSecret = "REST bridge signature secret not valid."
	msgBadKey    = "REST bridge signature key not valid."
	msgMissing   = "REST bridge signature was invalid (missing mandatory field - %s)."
	msgInvalid   = "REST bridge signature was invalid (%s)."
	msgExpired   = "Request expired, too old timestamp."
)

// loadKeys reads the secret files of c.SignedKeys and fills in their
// defaults.
func (c BridgeConfig) loadKeys() ([]BridgeKey, error) {
	keys := make([]BridgeKey, len(c.SignedKeys))
	seen := map[string]bool{}
	for i, k := range c.SignedKeys {
		bad := func(format string, args ...any) ([]BridgeKey, error) {
			return nil, fmt.Errorf("%w: signed_keys[%d]: %s", ErrBridgeConfig, i, fmt.Sprintf(format, args...))
		}
		if k.Key == "" {
			return bad("key is required")
		}
		if seen[k.Key] {
			return bad("key %q is given twice", k.Key)
		}
		seen[k.Key] = true
		if k.SecretFile != "" {
			b, err := os.ReadFile(k.SecretFile)
			if err != nil {
				return bad("%v", err)
			}
			k.Secret = strings.TrimSpace(string(b))
		}
		if len(k.Secret) < 16 {
			return bad("a secret must have at least 16 characters")
		}
		k.AuthID, k.AuthRole = cmp.Or(k.AuthID, defaultIdentity), cmp.Or(k.AuthRole, defaultIdentity)
		keys[i] = k
	}
	return keys, nil
}

// identity is the authid and authrole of credential i: a token, or past
// the tokens a signed key.
func (b *Bridge) identity(i int) (authid, authrole string) {
	if i < len(b.cfg.Tokens) {
		t := b.cfg.Tokens[i]
		return t.AuthID, t.AuthRole
	}
	k := b.cfg.SignedKeys[i-len(b.cfg.Tokens)]
	return k.AuthID, k.AuthRole
}

// signedParams are the query parameters of a signed request.
var signedParams = []string{"key", "timestamp", "seq", "nonce", "signature"}

// isSigned reports whether r is to be checked as a signed request: it
// has one of their parameters, or the bridge has no bearer token (as
// crossbar.io, which then requires a signature).
func (b *Bridge) isSigned(r *http.Request) bool {
	if len(b.cfg.SignedKeys) == 0 {
		return false
	}
	if len(b.cfg.Tokens) == 0 {
		return true
	}
	q := r.URL.Query()
	for _, p := range signedParams {
		if q.Has(p) {
			return true
		}
	}
	return false
}

// authorizeSigned checks a signed request in crossbar.io's order, with
// its statuses: a missing or malformed parameter or a timestamp outside
// the window is 400, an unknown key or a wrong signature 401. A nonce
// seen before with the same key, within the window, is a replay: 401.
// It returns the credential's index, or -1 when it has answered.
func (b *Bridge) authorizeSigned(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	for _, p := range signedParams {
		if !q.Has(p) {
			signedFail(w, http.StatusBadRequest, fmt.Sprintf(msgMissing, "'"+p+"' field missing"), "the query parameter "+p+" is required")
			return -1
		}
	}
	key, stamp, seq, nonce, sig := q.Get("key"), q.Get("timestamp"), q.Get("seq"), q.Get("nonce"), q.Get("signature")
	ts, err := time.Parse("2006-01-02T15:04:05Z", stamp) // the fraction is optional when parsing
	if err != nil {
		reason := fmt.Sprintf("invalid timestamp '%s' (must be UTC/ISO-8601, e.g. '2011-10-14T16:59:51.123Z')", stamp)
		signedFail(w, http.StatusBadRequest, fmt.Sprintf(msgInvalid, reason), reason)
		return -1
	}
	now := b.now()
	if d := now.Sub(ts); d > b.cfg.TimestampWindow || -d > b.cfg.TimestampWindow {
		signedFail(w, http.StatusBadRequest, msgExpired, fmt.Sprintf("the timestamp is %s away from the router's clock, over %s", d.Abs().Round(time.Second), b.cfg.TimestampWindow))
		return -1
	}
	for _, p := range []struct{ name, value string }{{"sequence number", seq}, {"nonce", nonce}} {
		if _, err := strconv.ParseInt(p.value, 10, 64); err != nil {
			reason := fmt.Sprintf("invalid %s '%s' (must be an integer)", p.name, p.value)
			signedFail(w, http.StatusBadRequest, fmt.Sprintf(msgInvalid, reason), reason)
			return -1
		}
	}
	found := -1
	for j, k := range b.cfg.SignedKeys {
		if k.Key == key {
			found = j
		}
	}
	if found < 0 {
		signedFail(w, http.StatusUnauthorized, msgBadKey, fmt.Sprintf("unknown key '%s' in signed request", key))
		return -1
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is over %d bytes", b.cfg.MaxBody))
		} else {
			fail(w, http.StatusBadRequest, "", "the body could not be read")
		}
		return -1
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !hmac.Equal(decodeSignature(sig), sign(b.cfg.SignedKeys[found].Secret, key, stamp, seq, nonce, body)) {
		signedFail(w, http.StatusUnauthorized, msgBadSecret, "the signature does not match the request")
		return -1
	}
	switch b.nonces.add(key, nonce, ts.Add(b.cfg.TimestampWindow), now) {
	case nonceReplayed:
		signedFail(w, http.StatusUnauthorized, fmt.Sprintf(msgInvalid, "nonce already used"), "this key's nonce "+nonce+" was used before: a replay")
		return -1
	case nonceFull:
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusServiceUnavailable, router.URIRateLimitExceeded, "too many signed requests to remember their nonces")
		return -1
	}
	i := len(b.cfg.Tokens) + found
	if !b.limiters[i].Allow() {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusTooManyRequests, router.URIRateLimitExceeded, "too many requests for this key")
		return -1
	}
	return i
}

// sign returns the signature of a signed request: the HMAC-SHA256, keyed
// with secret, of key, timestamp, seq, nonce and body concatenated. Its
// URL-safe base64 is the signature parameter.
func sign(secret, key, timestamp, seq, nonce string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	for _, s := range []string{key, timestamp, seq, nonce} {
		h.Write([]byte(s))
	}
	h.Write(body)
	return h.Sum(nil)
}

// decodeSignature decodes a signature parameter: URL-safe base64, with
// its padding as Python's urlsafe_b64encode writes it, or without.
func decodeSignature(s string) []byte {
	if b, err := base64.URLEncoding.DecodeString(s); err == nil {
		return b
	}
	b, _ := base64.RawURLEncoding.DecodeString(s)
	return b
}

// signedFail answers as crossbar.io refuses a request: its message as
// "error", empty args and kwargs; message says more.
func signedFail(w http.ResponseWriter, status int, crossbar, message string) {
	writeJSON(w, status, map[string]any{"error": crossbar, "args": []any{}, "kwargs": map[string]any{}, "message": message})
}

// nonceCache remembers the nonces of accepted signed requests until their
// timestamp leaves the window, after which the timestamp check refuses a
// replay. Safe for concurrent use.
type nonceCache struct {
	mu    sync.Mutex
	seen  map[string]time.Time // key "\x00" nonce → when it may be forgotten
	swept time.Time
	every time.Duration // between sweeps of the expired nonces
	max   int
}

type nonceVerdict int

const (
	nonceNew nonceVerdict = iota
	nonceReplayed
	nonceFull
)

func newNonceCache(window time.Duration, limit int) *nonceCache {
	return &nonceCache{seen: map[string]time.Time{}, every: max(window/8, time.Second), max: limit}
}

// add records key's nonce, to be kept until expires, and reports whether
// it is new.
func (c *nonceCache) add(key, nonce string, expires, now time.Time) nonceVerdict {
	id := key + "\x00" + nonce
	c.mu.Lock()
	defer c.mu.Unlock()
	// Full, sweep again, but at most every second: each sweep reads
	// every nonce.
	if since := now.Sub(c.swept); since >= c.every || len(c.seen) >= c.max && since >= time.Second {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		c.swept = now
	}
	if exp, ok := c.seen[id]; ok && now.Before(exp) {
		return nonceReplayed
	}
	if len(c.seen) >= c.max {
		return nonceFull
	}
	c.seen[id] = expires
	return nonceNew
}

func (c *nonceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// Package admin holds what operators and other programs use to reach a
// running router from HTTP: the HTTP bridge (POST /publish and POST
// /call, with crossbar.io's bodies) today.
package admin

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/wamphttp"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// BridgeConfig configures the HTTP bridge.
type BridgeConfig struct {
	// Realm is the realm the bridge publishes and calls in. Default
	// realm1.
	Realm string `json:"realm,omitempty" yaml:"realm,omitempty"`
	// Tokens are the bearer tokens the bridge accepts, each with the
	// identity its requests have in the realm: their authid and authrole,
	// whose permissions apply exactly as for a WAMP session. At least
	// one.
	Tokens []BridgeToken `json:"tokens" yaml:"tokens"`
	// MaxBody bounds a request's body, in bytes. Default 1 MiB.
	MaxBody int64 `json:"max_body,omitempty" yaml:"max_body,omitempty"`
	// Rate bounds each token's requests per second, with bursts of
	// Burst. Default 100 and 200.
	Rate  float64 `json:"rate,omitempty" yaml:"rate,omitempty"`
	Burst int     `json:"burst,omitempty" yaml:"burst,omitempty"`
	// CallTimeout bounds a call, unless the request's options ask for a
	// shorter timeout. Default 30s.
	CallTimeout time.Duration `json:"call_timeout,omitempty" yaml:"call_timeout,omitempty"`
	// SignedKeys are the keys of crossbar.io's signed requests (see
	// BridgeKey), accepted beside or instead of bearer tokens.
	SignedKeys []BridgeKey `json:"signed_keys,omitempty" yaml:"signed_keys,omitempty"`
	// TimestampWindow is how far a signed request's timestamp may be
	// from the router's clock, either way. Default 300s, as crossbar.io.
	TimestampWindow time.Duration `json:"timestamp_window,omitempty" yaml:"timestamp_window,omitempty"`
	// Logger receives the bridge's logs. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// BridgeToken is one bearer token and the identity it stands for.
type BridgeToken struct {
	// Token is the secret; TokenFile, a file holding it (trimmed),
	// instead.
	Token     string `json:"-" yaml:"-"`
	TokenFile string `json:"token_file,omitempty" yaml:"token_file,omitempty"`
	// AuthID and AuthRole are the requests' identity. Defaults
	// "http-bridge" and "http-bridge".
	AuthID   string `json:"authid,omitempty" yaml:"authid,omitempty"`
	AuthRole string `json:"authrole,omitempty" yaml:"authrole,omitempty"`
}

// Defaults of BridgeConfig.
const (
	DefaultMaxBody     = 1 << 20
	DefaultRate        = 100
	DefaultBurst       = 200
	DefaultCallTimeout = 30 * time.Second
	defaultIdentity    = "http-bridge"
)

// ErrBridgeConfig wraps every configuration error.
var ErrBridgeConfig = errors.New("http bridge: invalid configuration")

// Load reads the token files and fills in the defaults; errors name the
// setting at fault.
func (c BridgeConfig) Load() (BridgeConfig, error) {
	bad := func(format string, args ...any) (BridgeConfig, error) {
		return c, fmt.Errorf("%w: %s", ErrBridgeConfig, fmt.Sprintf(format, args...))
	}
	c.Realm = cmp.Or(c.Realm, "realm1")
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.TimestampWindow == 0 {
		c.TimestampWindow = DefaultTimestampWindow
	}
	switch {
	case len(c.Tokens) == 0 && len(c.SignedKeys) == 0:
		return bad("no token nor signed key: the bridge answers only requests bearing one")
	case c.MaxBody < 0 || c.Rate < 0 || c.Burst < 0 || c.CallTimeout < 0 || c.TimestampWindow < 0:
		return bad("max_body, rate, burst, call_timeout and timestamp_window must not be negative")
	case !wamp.URI(c.Realm).Valid(false):
		return bad("realm %q is not a valid URI", c.Realm)
	}
	tokens := make([]BridgeToken, len(c.Tokens))
	for i, t := range c.Tokens {
		if t.TokenFile != "" {
			b, err := os.ReadFile(t.TokenFile)
			if err != nil {
				return bad("tokens[%d]: %v", i, err)
			}
			t.Token = strings.TrimSpace(string(b))
		}
		if len(t.Token) < 16 {
			return bad("tokens[%d]: a token must have at least 16 characters", i)
		}
		t.AuthID, t.AuthRole = cmp.Or(t.AuthID, defaultIdentity), cmp.Or(t.AuthRole, defaultIdentity)
		tokens[i] = t
	}
	c.Tokens = tokens
	keys, err := c.loadKeys()
	if err != nil {
		return c, err
	}
	c.SignedKeys = keys
	return c, nil
}

// Bridge is the HTTP bridge: each token's requests go through a WAMP
// session of the token's identity, joined to the router in process
// through a listener that assigns it (router.Listener.Assigned).
type Bridge struct {
	cfg BridgeConfig
	rt  *router.Router
	log *slog.Logger

	sessions *pool[int]      // by credential index (identity)
	limiters []*rate.Limiter // by token index, then signed key

	nonces *nonceCache      // of the signed requests
	now    func() time.Time // the clock of signed requests' timestamps
}

// NewBridge returns the bridge for rt. cfg is loaded (Load) first.
func NewBridge(rt *router.Router, cfg BridgeConfig) (*Bridge, error) {
	cfg, err := cfg.Load()
	if err != nil {
		return nil, err
	}
	b := &Bridge{cfg: cfg, rt: rt, log: cfg.Logger, sessions: newPool[int](rt),
		nonces: newNonceCache(cfg.TimestampWindow, maxNonces), now: time.Now}
	for range len(cfg.Tokens) + len(cfg.SignedKeys) {
		b.limiters = append(b.limiters, rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst))
	}
	return b, nil
}

// Register mounts POST /publish and POST /call on mux.
func (b *Bridge) Register(mux *http.ServeMux) {
	mux.HandleFunc("/publish", b.publish)
	mux.HandleFunc("/call", b.call)
}

// Close closes the bridge's sessions.
func (b *Bridge) Close(ctx context.Context) error { return b.sessions.close(ctx) }

// session returns credential i's session (see identity), joining it if
// need be.
func (b *Bridge) session(ctx context.Context, i int) (*client.Session, error) {
	authid, authrole := b.identity(i)
	l := router.Listener{Name: "http bridge", Assigned: &router.AssignedAuth{AuthID: authid, AuthRole: authrole, Method: "http-bridge"}}
	return b.sessions.get(ctx, i, l, client.Config{Realm: wamp.URI(b.cfg.Realm), Logger: b.log})
}

// authorize finds the request's token or signed key (see identity) and
// applies its rate limit; it answers the request itself and returns -1
// when it goes no further.
func (b *Bridge) authorize(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		fail(w, http.StatusMethodNotAllowed, "", "use POST")
		return -1
	}
	if b.isSigned(r) {
		return b.authorizeSigned(w, r)
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	found := -1
	for i, t := range b.cfg.Tokens {
		// Every token is compared, so that timing tells nothing.
		if subtle.ConstantTimeCompare([]byte(bearer), []byte(t.Token)) == 1 && ok {
			found = i
		}
	}
	if found < 0 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="junction"`)
		fail(w, http.StatusUnauthorized, "", "a valid bearer token is required (Authorization: Bearer TOKEN)")
		return -1
	}
	if !b.limiters[found].Allow() {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusTooManyRequests, router.URIRateLimitExceeded, "too many requests for this token")
		return -1
	}
	return found
}

// request is a body of crossbar.io's bridge: topic or procedure, args,
// kwargs and options.
type request struct {
	Topic     string         `json:"topic"`
	Procedure string         `json:"procedure"`
	Args      []any          `json:"args"`
	Kwargs    map[string]any `json:"kwargs"`
	Options   map[string]any `json:"options"`
}

func (b *Bridge) read(w http.ResponseWriter, r *http.Request) (*request, bool) {
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, b.cfg.MaxBody))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is over %d bytes", b.cfg.MaxBody))
			return nil, false
		}
		fail(w, http.StatusBadRequest, wamp.URIInvalidArgument, "the body is not a JSON object: "+err.Error())
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		fail(w, http.StatusBadRequest, wamp.URIInvalidArgument, "the body holds more than one JSON value")
		return nil, false
	}
	return &req, true
}

// begin authorizes and reads a request whose field (the topic, the
// procedure) is required, and returns it with its token's session; it
// answers the request itself when it goes no further.
func (b *Bridge) begin(w http.ResponseWriter, r *http.Request, field string, uri func(*request) string) (*request, *client.Session, bool) {
	i := b.authorize(w, r)
	if i < 0 {
		return nil, nil, false
	}
	req, ok := b.read(w, r)
	if !ok {
		return nil, nil, false
	}
	if uri(req) == "" {
		fail(w, http.StatusBadRequest, wamp.URIInvalidArgument, `"`+field+`" is required`)
		return nil, nil, false
	}
	s, err := b.session(r.Context(), i)
	if err != nil {
		b.unavailable(w, err)
		return nil, nil, false
	}
	return req, s, true
}

func (b *Bridge) publish(w http.ResponseWriter, r *http.Request) {
	req, s, ok := b.begin(w, r, "topic", func(req *request) string { return req.Topic })
	if !ok {
		return
	}
	args, kwargs := values(req.Args, req.Kwargs)
	// Acknowledged always: the publication ID is the answer, and a
	// refusal (authorization) is an error, not a silent drop.
	id, err := s.Publish(r.Context(), wamp.URI(req.Topic), args, kwargs,
		&client.PublishOptions{Acknowledge: true, Extra: dict(req.Options)})
	if err != nil {
		b.wampError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id})
}

func (b *Bridge) call(w http.ResponseWriter, r *http.Request) {
	req, s, ok := b.begin(w, r, "procedure", func(req *request) string { return req.Procedure })
	if !ok {
		return
	}
	timeout := b.cfg.CallTimeout
	if ms, ok := wamp.AsInt64(number(req.Options["timeout"])); ok && ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
		timeout = time.Duration(ms) * time.Millisecond
	}
	opts := dict(req.Options)
	delete(opts, "timeout")
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	args, kwargs := values(req.Args, req.Kwargs)
	res, err := s.Call(ctx, wamp.URI(req.Procedure), args, kwargs, &client.CallOptions{Timeout: timeout, Extra: opts})
	if err != nil {
		b.wampError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"args": orEmpty(res.Args), "kwargs": orEmptyDict(res.Kwargs)})
}

// wampError answers with a WAMP error: its URI, args and kwargs, and the
// status the apps' HTTP handlers give it too.
func (b *Bridge) wampError(w http.ResponseWriter, err error) {
	var we *wamp.Error
	switch {
	case errors.As(err, &we):
		writeJSON(w, wamphttp.Status(we.URI), map[string]any{"error": we.URI, "args": orEmpty(we.Args), "kwargs": orEmptyDict(we.Kwargs)})
	case errors.Is(err, context.DeadlineExceeded):
		fail(w, http.StatusGatewayTimeout, wamp.URITimeout, "the call timed out")
	default:
		b.unavailable(w, err)
	}
}

func (b *Bridge) unavailable(w http.ResponseWriter, err error) {
	b.log.Warn("http bridge: router unavailable", "err", err)
	fail(w, http.StatusServiceUnavailable, wamp.URIUnavailable, "the router is not available")
}

func fail(w http.ResponseWriter, status int, uri wamp.URI, message string) {
	body := map[string]any{"message": message}
	if uri != "" {
		body["error"] = uri
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// values turns decoded JSON into WAMP values: numbers become int64 when
// they are integers, float64 otherwise.
func values(args []any, kwargs map[string]any) (wamp.List, wamp.Dict) {
	out := make(wamp.List, len(args))
	for i, a := range args {
		out[i] = number(a)
	}
	return out, dict(kwargs)
}

func dict(m map[string]any) wamp.Dict {
	if m == nil {
		return nil
	}
	d := make(wamp.Dict, len(m))
	for k, v := range m {
		d[k] = number(v)
	}
	return d
}

func number(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case []any:
		l, _ := values(v, nil)
		return l
	case map[string]any:
		return dict(v)
	}
	return v
}

func orEmpty(l wamp.List) wamp.List {
	if l == nil {
		return wamp.List{}
	}
	return l
}

func orEmptyDict(d wamp.Dict) wamp.Dict {
	if d == nil {
		return wamp.Dict{}
	}
	return d
}

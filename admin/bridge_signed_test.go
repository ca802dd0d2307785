package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
)

const (
	signKey    = "deploy-app"
	signSecret = "signing-secret-0123456789"
)

// signedQuery is what a client of crossbar.io's signed bridge sends, as
// its documentation and its own tests build it: the timestamp in UTC
// with milliseconds, the signature padded URL-safe base64.
func signedQuery(key, secret string, at time.Time, seq, nonce int64, body string) url.Values {
	stamp := at.UTC().Format("2006-01-02T15:04:05.000Z")
	s, n := strconv.FormatInt(seq, 10), strconv.FormatInt(nonce, 10)
	sig := sign(secret, key, stamp, s, n, []byte(body))
	return url.Values{"key": {key}, "timestamp": {stamp}, "seq": {s}, "nonce": {n},
		"signature": {base64.URLEncoding.EncodeToString(sig)}}
}

// postSigned posts body to path with query q and no bearer token.
func (h *bridgeHarness) postSigned(path string, q url.Values, body string) (int, map[string]any) {
	h.t.Helper()
	resp, err := http.Post(h.url+path+"?"+q.Encode(), "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		h.t.Fatalf("%s: answer %q is not JSON: %v", path, data, err)
	}
	return resp.StatusCode, v
}

func signedHarness(t *testing.T, withTokens bool) *bridgeHarness {
	cfg := BridgeConfig{SignedKeys: []BridgeKey{{Key: signKey, Secret: signSecret, AuthID: "deployer", AuthRole: "writer"}}}
	if !withTokens {
		cfg.Tokens = []BridgeToken{}
	}
	return newBridgeHarness(t, cfg)
}

func TestBridgeSignedPublish(t *testing.T) {
	for _, withTokens := range []bool{false, true} {
		t.Run("tokens="+strconv.FormatBool(withTokens), func(t *testing.T) {
			h := signedHarness(t, withTokens)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			events := make(chan *client.Event, 1)
			if _, err := h.app.Subscribe(ctx, "com.ex.news", func(_ context.Context, e *client.Event) { events <- e }, nil); err != nil {
				t.Fatal(err)
			}
			body := `{"topic": "com.ex.news", "args": ["signed"], "options": {"disclose_me": true}}`
			status, answer := h.postSigned("/publish", signedQuery(signKey, signSecret, time.Now(), 1, 4242, body), body)
			if status != 200 || answer["id"] == nil {
				t.Fatalf("signed publish: %d %v", status, answer)
			}
			select {
			case e := <-events:
				if e.Arg(0) != "signed" || e.PublisherAuthID() != "deployer" || e.PublisherAuthRole() != "writer" {
					t.Fatalf("event %+v %+v", e.Values, e.Details)
				}
			case <-ctx.Done():
				t.Fatal("no event")
			}
			// The signature without its padding is the same signature.
			q := signedQuery(signKey, signSecret, time.Now(), 2, 4343, body)
			q.Set("signature", strings.TrimRight(q.Get("signature"), "="))
			if status, answer := h.postSigned("/publish", q, body); status != 200 {
				t.Fatalf("unpadded signature: %d %v", status, answer)
			}
		})
	}
}

func TestBridgeSignedRefusals(t *testing.T) {
	h := signedHarness(t, false)
	body := `{"topic": "com.ex.news", "args": [1]}`
	now := time.Now()
	good := func() url.Values { return signedQuery(signKey, signSecret, now, 1, now.UnixNano(), body) }
	without := func(p string) url.Values { q := good(); q.Del(p); return q }
	with := func(p, v string) url.Values { q := good(); q.Set(p, v); return q }
	for _, tc := range []struct {
		name   string
		q      url.Values
		body   string
		status int
		error  string
	}{
		{"wrong secret", signedQuery(signKey, "another-secret-0123456789", now, 1, 7, body), body, 401, msgBadSecret},
		{"unknown key", signedQuery("other", signSecret, now, 1, 8, body), body, 401, msgBadKey},
		{"body changed", good(), `{"topic": "com.ex.other", "args": [1]}`, 401, msgBadSecret},
		{"old timestamp", signedQuery(signKey, signSecret, now.Add(-301*time.Second), 1, 9, body), body, 400, msgExpired},
		{"future timestamp", signedQuery(signKey, signSecret, now.Add(301*time.Second), 1, 10, body), body, 400, msgExpired},
		{"bad timestamp", with("timestamp", "yesterday"), body, 400, "REST bridge signature was invalid (invalid timestamp"},
		{"bad nonce", with("nonce", "abc"), body, 400, "REST bridge signature was invalid (invalid nonce"},
		{"bad seq", with("seq", "x"), body, 400, "REST bridge signature was invalid (invalid sequence number"},
		{"no key", without("key"), body, 400, "missing mandatory field - 'key' field missing"},
		{"no timestamp", without("timestamp"), body, 400, "'timestamp' field missing"},
		{"no seq", without("seq"), body, 400, "'seq' field missing"},
		{"no nonce", without("nonce"), body, 400, "'nonce' field missing"},
		{"no signature", without("signature"), body, 400, "'signature' field missing"},
		{"nothing", url.Values{}, body, 400, "field missing"},
	} {
		status, answer := h.postSigned("/publish", tc.q, tc.body)
		if status != tc.status || !strings.HasPrefix(answer["error"].(string), tc.error) && !strings.Contains(answer["error"].(string), tc.error) {
			t.Errorf("%s: %d %v, want %d %q", tc.name, status, answer, tc.status, tc.error)
		}
		if args, ok := answer["args"].([]any); !ok || len(args) != 0 {
			t.Errorf("%s: args %v, want [] as crossbar.io", tc.name, answer["args"])
		}
	}

	// A replay of an accepted request is refused, even to another path.
	q := good()
	if status, answer := h.postSigned("/publish", q, body); status != 200 {
		t.Fatalf("first: %d %v", status, answer)
	}
	if status, answer := h.postSigned("/publish", q, body); status != 401 || !strings.Contains(answer["error"].(string), "nonce already used") {
		t.Fatalf("replay: %d %v", status, answer)
	}
	callBody := `{"procedure": "com.ex.nothing"}`
	q = signedQuery(signKey, signSecret, now, 1, 99, callBody)
	if status, answer := h.postSigned("/call", q, callBody); status != 503 {
		t.Fatalf("signed call: %d %v", status, answer)
	}
	if status, answer := h.postSigned("/call", q, callBody); status != 401 {
		t.Fatalf("replayed call: %d %v", status, answer)
	}
}

// TestBridgeSignedBeside: with tokens and keys, a request without the
// signed parameters is a bearer request, one with any of them a signed
// one.
func TestBridgeSignedBeside(t *testing.T) {
	h := signedHarness(t, true)
	body := `{"topic": "com.ex.news"}`
	if status, answer := h.post("/publish", writerToken, body); status != 200 {
		t.Fatalf("bearer: %d %v", status, answer)
	}
	if status, answer := h.post("/publish", "", body); status != 401 || answer["message"] == nil {
		t.Fatalf("neither: %d %v", status, answer)
	}
	if status, answer := h.postSigned("/publish", url.Values{"key": {signKey}}, body); status != 400 {
		t.Fatalf("half signed: %d %v", status, answer)
	}
}

func TestNonceCacheForgets(t *testing.T) {
	c := newNonceCache(10*time.Second, 3)
	t0 := time.Unix(1_700_000_000, 0)
	exp := t0.Add(10 * time.Second)
	for i, n := range []string{"1", "2", "3"} {
		if v := c.add("k", n, exp, t0.Add(time.Duration(i)*time.Millisecond)); v != nonceNew {
			t.Fatalf("nonce %s: %v", n, v)
		}
	}
	if v := c.add("k", "2", exp, t0); v != nonceReplayed {
		t.Fatalf("replay: %v", v)
	}
	if v := c.add("other", "2", exp, t0); v != nonceFull {
		t.Fatalf("over the bound: %v", v)
	}
	// Once their timestamps have left the window, the nonces go.
	if v := c.add("k", "2", exp, exp); v != nonceNew || c.len() != 1 {
		t.Fatalf("after the window: %v, %d remembered", v, c.len())
	}
}

func TestBridgeSignedConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(signSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := BridgeConfig{SignedKeys: []BridgeKey{{Key: "a", SecretFile: file}}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if k := c.SignedKeys[0]; k.Secret != signSecret || k.AuthRole != "http-bridge" || c.TimestampWindow != DefaultTimestampWindow {
		t.Fatalf("loaded %+v", c)
	}
	for _, tc := range []struct {
		keys []BridgeKey
		want string
	}{
		{[]BridgeKey{{Secret: signSecret}}, "signed_keys[0]: key is required"},
		{[]BridgeKey{{Key: "a", Secret: "short"}}, "signed_keys[0]: a secret must have at least 16"},
		{[]BridgeKey{{Key: "a", Secret: signSecret}, {Key: "a", Secret: signSecret}}, "signed_keys[1]: key \"a\" is given twice"},
		{[]BridgeKey{{Key: "a", SecretFile: filepath.Join(dir, "missing")}}, "signed_keys[0]"},
	} {
		if _, err := (BridgeConfig{SignedKeys: tc.keys}).Load(); !errors.Is(err, ErrBridgeConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.keys, err, tc.want)
		}
	}
}

package interop

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTPBridgeWithAutobahn is the bridge's acceptance: `junction router
// --http-bridge-token-file F`; a POST /publish bearing the token reaches
// an Autobahn|JS subscriber, POST /call returns the Autobahn callee's
// result, and a request without the token gets 401.
func TestHTTPBridgeWithAutobahn(t *testing.T) {
	requireNode(t)
	const token = "bridge-token-0123456789abcdef"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := startRouterProcess(t, "listeners: [{type: websocket, address: \"127.0.0.1:0\"}]\nopen_realms: [realm1]\n",
		"--http-bridge-token-file", file)
	base := strings.Replace(strings.TrimSuffix(url, "/ws"), "ws://", "http://", 1)
	post := func(path, tok, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}

	peer := startNode(t, "bridge_peer", url, "json")
	peer.expect(`{"ready":true}`)

	if status, body := post("/call", "", `{"procedure": "com.example.bridge.add", "args": [2, 3]}`); status != 401 {
		t.Fatalf("call without a token: %d %s", status, body)
	}
	status, body := post("/call", token, `{"procedure": "com.example.bridge.add", "args": [2, 3]}`)
	var res struct{ Args []any }
	if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || fmt.Sprint(res.Args) != "[5]" {
		t.Fatalf("call: %d %s", status, body)
	}
	if status, body := post("/publish", token, `{"topic": "com.example.bridge.news", "args": [1], "kwargs": {"from": "curl"}}`); status != 200 ||
		!strings.Contains(body, `"id":`) {
		t.Fatalf("publish: %d %s", status, body)
	}
	check(t, "event published through the bridge", peer.result(), want(t, `{"event": {"args": [1], "kwargs": {"from": "curl"}}}`))
}

package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// TestWebhookSettings: the webhooks section, where its queue lives, and
// its errors.
func TestWebhookSettings(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hook.secret", "s3cret\n")
	node := func(extra string) string {
		return writeFile(t, dir, "node.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
webhooks:
  hooks:
    - {name: orders, topic: com.shop.order., match: prefix, url: "http://127.0.0.1:1/x", secret_file: hook.secret}
`+extra)
	}
	p, err := planFor(t, "--config", node("  data_dir: state\n"))
	if err != nil {
		t.Fatal(err)
	}
	if w := p.webhooks; w == nil || w.DataDir != filepath.Join(dir, "state") || w.Hooks[0].SecretFile != filepath.Join(dir, "hook.secret") {
		t.Fatalf("webhooks from the file: %+v", w)
	}
	// Without data_dir, in --data-dir, which needs no cluster then.
	p, err = planFor(t, "--config", node(""), "--data-dir", filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	if w := p.webhooks; w.DataDir != filepath.Join(dir, "data", "webhooks") || p.cluster.Enabled() {
		t.Fatalf("webhooks in --data-dir: %+v", w)
	}
	for _, tc := range []struct {
		extra string
		args  []string
		want  string
	}{
		{"", nil, "webhooks need a directory for the queue of their deliveries: pass --data-dir, or set webhooks.data_dir"},
		{"  data_dir: state\n  workers: -2\n", nil, "webhooks: webhook: invalid configuration: workers: -2"},
		{"  data_dir: state\n  colour: blue\n", nil, `unknown key "colour"`},
	} {
		if _, err := planFor(t, append([]string{"--config", node(tc.extra)}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.extra, err, tc.want)
		}
	}
	bad := writeFile(t, dir, "bad.yaml", `
open_realms: [realm1]
webhooks:
  data_dir: state
  hooks:
    - {topic: com.shop.order, url: "http://127.0.0.1:1/x"}
    - {topic: "com..bad", url: "http://127.0.0.1:1/y"}
`)
	if _, err := planFor(t, "--config", bad); err == nil || !strings.Contains(err.Error(), "bad.yaml:3:1: webhooks: webhook: invalid configuration: hooks[1].topic") {
		t.Errorf("bad topic: %v", err)
	}
	if _, err := planFor(t, "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "need --cluster-listen or --nats") {
		t.Errorf("--data-dir alone: %v", err)
	}
}

// TestWebhookRouterProcess runs the real binary with a node file whose
// hook points at a test server: an event published by a client reaches
// it, and /metrics counts it.
func TestWebhookRouterProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the junction binary")
	}
	dir := t.TempDir()
	bodies := make(chan []byte, 10)
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("endpoint: %v", err)
		}
		bodies <- b
	}))
	defer ep.Close()
	file := writeFile(t, dir, "node.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
webhooks:
  hooks:
    - {name: news, topic: com.ex.news, url: "`+ep.URL+`/hook"}
`)
	url, cmd := startRouterBinary(t, "--config", file, "--data-dir", filepath.Join(dir, "data"))
	if _, err := os.Stat(filepath.Join(dir, "data", "webhooks")); err != nil {
		t.Errorf("the queue's directory: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, url, client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, err := s.Publish(ctx, "com.ex.news", wamp.List{"hello"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-bodies:
		var ev struct {
			Hook, Topic string
			Args        []any
		}
		if err := json.Unmarshal(b, &ev); err != nil || ev.Hook != "news" || ev.Topic != "com.ex.news" || len(ev.Args) != 1 || ev.Args[0] != "hello" {
			t.Fatalf("delivered %s (%v)", b, err)
		}
	case <-ctx.Done():
		t.Fatal("the event never reached the endpoint")
	}
	metrics := strings.Replace(strings.TrimSuffix(url, "/ws"), "ws://", "http://", 1) + "/metrics"
	want := `junction_webhook_deliveries_total{hook="news",outcome="delivered"} 1`
	for {
		resp, err := http.Get(metrics)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), want) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/metrics lacks %s", want)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("router exit: %v", err)
	}
}

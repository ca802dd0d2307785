package interop

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction"
)

// TestQueueThroughWAMP has Autobahn|JS enqueue to a Junction app's
// durable queue (embedded NATS JetStream) and read results, failures and
// completion events, with nothing but WAMP.
func TestQueueThroughWAMP(t *testing.T) {
	requireNode(t)
	dir := t.TempDir()
	app := junction.New("interop",
		junction.WithLogger(slog.New(slog.DiscardHandler)),
		junction.WithSettings(func(s *junction.Settings) { s.Listen = "127.0.0.1:0"; s.DataDir = dir }))
	jobs := app.Queue("jobs", junction.Workers(4), junction.MaxRetries(0))
	jobs.Task("double", func(ctx context.Context, n int) (int, error) { return 2 * n, nil })
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("start the app: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shut the app down: %v", err)
		}
	})
	peer := startNode(t, "queue_peer", "ws://"+app.Addr().String()+"/ws", "json")
	got, _ := peer.result().(map[string]any)
	res, _ := got["result"].(map[string]any)
	check(t, "result state", res["state"], "done")
	check(t, "result value", res["value"], 42.0)
	check(t, "result id", res["id"], got["id"])
	ev, _ := got["event"].(map[string]any)
	check(t, "on_done event", []any{ev["id"], ev["state"], ev["value"]}, []any{got["id"], "done", 42.0})
	orphan, _ := got["orphanResult"].(map[string]any)
	if orphan["state"] != "dead" || !strings.Contains(orphan["error"].(string), "nobody.handles.this") {
		t.Errorf("task without a handler ended as %v, want dead with an error naming it", orphan)
	}
	bad, _ := got["badOption"].(map[string]any)
	check(t, "unknown enqueue option", bad["error"], "wamp.error.invalid_argument")
	check(t, "same dedup_id, same task", got["dedupSame"], true)
}

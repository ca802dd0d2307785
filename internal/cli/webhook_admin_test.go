package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/webhook"
)

// TestWebhookQueuesForAdmin: the admin's queue view of the webhooks'
// queue lists a dead delivery, whose requeue delivers it.
func TestWebhookQueuesForAdmin(t *testing.T) {
	var up atomic.Bool
	var delivered atomic.Int32
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		delivered.Add(1)
	}))
	defer ep.Close()
	discard := slog.New(slog.DiscardHandler)
	rt, err := router.New(router.Config{Realms: []string{"realm1"}, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Stop(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := startWebhooks(&webhookConfig{DataDir: t.TempDir(), Config: webhook.Config{
		Hooks: []webhook.Hook{{Name: "h", Topic: "com.ex.h", URL: ep.URL, MaxAttempts: 1}}}}, rt, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer w.stop(context.Background())
	peer, err := rt.LocalPeer()
	if err != nil {
		t.Fatal(err)
	}
	s, err := client.Join(ctx, peer, client.Config{Realm: "realm1", Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if _, err := s.Publish(ctx, "com.ex.h", wamp.List{"x"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	aq := webhookQueues(w.d.Queue())
	for {
		qs, err := aq.Queues(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(qs) == 1 && qs[0].Name == "webhooks" && qs[0].Dead == 1 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no dead delivery: %+v", qs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	dead, err := aq.Dead(ctx, "webhooks")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Hook string }
	if len(dead) != 1 || dead[0].Task != "deliver.h" || json.Unmarshal(dead[0].Payload, &body) != nil || body.Hook != "h" {
		t.Fatalf("dead %+v", dead)
	}
	if _, err := aq.Dead(ctx, "other"); err == nil {
		t.Error("another queue's dead letters")
	}
	up.Store(true)
	if err := aq.Requeue(ctx, "webhooks", dead[0].ID); err != nil {
		t.Fatal(err)
	}
	for w.Status()[0].Delivered == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("requeued delivery not made; status %+v", w.Status())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if st := w.Status(); st[0].Delivered != 1 || st[0].Dead != 1 || delivered.Load() != 1 {
		t.Errorf("status %+v", st)
	}
}

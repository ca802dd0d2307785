package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTryLock races engines on one server for the same keys: one winner
// per key, until the lock expires.
func TestTryLock(t *testing.T) {
	srv := testEngine(t, Config{Listen: "127.0.0.1:0"})
	engines := []*Engine{srv, testEngine(t, Config{URL: srv.ClientURL()}), testEngine(t, Config{URL: srv.ClientURL()})}
	ctx := context.Background()

	for k := range 5 {
		// Keys may hold any character: cron's hold times.
		key := fmt.Sprintf("job %d/tick 2026-01-02T03:04:05.000000006+07:00", k)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, e := range engines {
			for range 4 {
				wg.Go(func() {
					ok, err := e.TryLock(ctx, key, time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				})
			}
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("key %q: %d winners, want 1", key, n)
		}
	}

	// Expiry: the key is free again after its ttl (1s, the least NATS
	// allows), not before.
	took := time.Now()
	if ok, err := engines[1].TryLock(ctx, "short", 300*time.Millisecond); err != nil || !ok {
		t.Fatalf("TryLock(short) = %v, %v", ok, err)
	}
	if ok, _ := engines[2].TryLock(ctx, "short", time.Second); ok {
		t.Fatal("took a held lock")
	}
	waitFor(t, 10*time.Second, "the lock to expire", func() bool {
		ok, err := engines[2].TryLock(ctx, "short", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if d := time.Since(took); d < time.Second {
		t.Errorf("lock free after %s, before its 1s", d)
	}
	if ok, _ := engines[0].TryLock(ctx, "short", time.Minute); ok {
		t.Fatal("took a lock held again")
	}
	if _, err := srv.TryLock(ctx, "", time.Second); err == nil {
		t.Error("empty key accepted")
	}
}

package queue

import (
	"context"
	"testing"
	"time"
)

// TestToken: an embedded server with a token admits the engines that
// give it, and refuses one that does not.
func TestToken(t *testing.T) {
	srv := testEngine(t, Config{Listen: "127.0.0.1:0", Token: "per-run"})
	other := testEngine(t, Config{URL: srv.ClientURL(), Token: "per-run"})
	ctx := context.Background()
	if ok, err := other.TryLock(ctx, "k", time.Minute); err != nil || !ok {
		t.Fatalf("TryLock through the token's connection = %v, %v", ok, err)
	}
	for _, token := range []string{"", "wrong"} {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		e, err := Connect(cctx, Config{URL: srv.ClientURL(), Token: token, Logger: testLogger()})
		cancel()
		if err == nil {
			e.Close(ctx)
			t.Fatalf("token %q: connected", token)
		}
	}
}

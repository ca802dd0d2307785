package queue

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TryLock takes the lock named key for ttl, across every engine that
// shares the NATS server and Namespace, and reports whether it got it:
// exactly one caller wins a key, and the key stays taken until ttl has
// passed. It never waits for a lock, and a lock is never released early:
// the cron package uses one key per job and tick so that a tick runs in
// one process.
//
// key may hold any character. NATS counts ttl in whole seconds: it is
// rounded up, and at least 1s; the server removes expired keys within
// about a second of their expiry.
func (e *Engine) TryLock(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" {
		return false, fmt.Errorf("%w: empty lock key", ErrInvalidName)
	}
	if ttl <= 0 {
		return false, fmt.Errorf("%w: lock ttl %s: want > 0", ErrInvalidConfig, ttl)
	}
	kv, err := e.lockBucket(ctx)
	if err != nil {
		return false, err
	}
	ttl = ttl.Round(0)
	if r := ttl % time.Second; r != 0 {
		ttl += time.Second - r
	}
	value := fmt.Appendf(nil, "%s %s", e.owner, e.clock.Now().UTC().Format(time.RFC3339Nano))
	_, err = kv.Create(ctx, base64.RawURLEncoding.EncodeToString([]byte(key)), value, jetstream.KeyTTL(ttl))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	}
	return false, fmt.Errorf("queue: lock %q: %w", key, err)
}

// lockBucket returns the bucket of the locks, created on first use.
func (e *Engine) lockBucket(ctx context.Context) (jetstream.KeyValue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if e.locks != nil {
		return e.locks, nil
	}
	kv, err := e.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         e.cfg.Namespace + "-locks",
		Description:    "Junction locks (queue.Engine.TryLock)",
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       e.cfg.Replicas,
		LimitMarkerTTL: markerTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: lock bucket: %w", err)
	}
	e.locks = kv
	return kv, nil
}

// markerTTL is how long buckets keep the markers NATS leaves when a key
// expires or is purged; it must be set for per-key TTLs to work.
const markerTTL = time.Minute

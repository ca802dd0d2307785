package queue

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestLeaseRenewal runs a task three times as long as its lease, with
// another worker free to take it: the lease holds, the task runs once.
func TestLeaseRenewal(t *testing.T) {
	e := testEngine(t, Config{})
	const lease = 500 * time.Millisecond
	q := testQueue(t, e, "lease", QueueConfig{Workers: 2, Lease: lease})
	var calls atomic.Int32
	q.Handle("long", func(ctx context.Context, t *Task) ([]byte, error) {
		calls.Add(1)
		select {
		case <-time.After(3 * lease):
			return []byte("done"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	start(t, q)
	id := enqueue(t, q, "long", "", nil)
	r := waitResult(t, q, id)
	if r.State != Done || r.Attempts != 1 {
		t.Fatalf("result = %+v", r)
	}
	time.Sleep(lease) // a redelivery would show now
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}

// TestWorkerDeath kills a worker's connection mid-task, without a word to
// NATS: another engine on the same server runs the task once the lease
// has expired, as its second attempt.
func TestWorkerDeath(t *testing.T) {
	const lease = 700 * time.Millisecond
	cfg := QueueConfig{Lease: lease}
	srv := testEngine(t, Config{Listen: "127.0.0.1:0"})
	testQueue(t, srv, "death", cfg)

	w1 := testEngine(t, Config{URL: srv.ClientURL()})
	q1 := testQueue(t, w1, "death", cfg)
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	q1.Handle("t", func(ctx context.Context, t *Task) ([]byte, error) {
		close(started)
		<-release
		return nil, nil
	})
	start(t, q1)
	id := enqueue(t, q1, "t", "", nil)
	<-started
	died := time.Now()
	w1.nc.Close() // the process "dies": no ack, no nak, no heartbeat

	w2 := testEngine(t, Config{URL: srv.ClientURL()})
	q2 := testQueue(t, w2, "death", cfg)
	var attempt atomic.Int32
	var ranAt atomic.Int64
	q2.Handle("t", func(ctx context.Context, t *Task) ([]byte, error) {
		attempt.Store(int32(t.Attempt))
		ranAt.Store(time.Now().UnixNano())
		return []byte("survived"), nil
	})
	start(t, q2)
	r := waitResult(t, q2, id)
	if r.State != Done || r.Attempts != 2 || string(r.Value) != "survived" || attempt.Load() != 2 {
		t.Fatalf("result = %+v, attempt seen %d", r, attempt.Load())
	}
	// Not before the lease expired (the last heartbeat may have renewed
	// it just before the death).
	if d := time.Unix(0, ranAt.Load()).Sub(died); d < lease*2/3 {
		t.Errorf("redelivered %s after the death, before the lease (%s) expired", d, lease)
	}
}

// TestGracefulStop: Stop lets running tasks finish within its context;
// past it, tasks go back to the queue, and their attempt does not count.
func TestGracefulStop(t *testing.T) {
	srv := testEngine(t, Config{Listen: "127.0.0.1:0"})
	cfg := QueueConfig{Workers: 2, MaxRetries: -1}
	q1 := testQueue(t, srv, "stop", cfg)
	started := make(chan string, 2)
	q1.Handle("quick", func(ctx context.Context, t *Task) ([]byte, error) {
		started <- t.ID
		time.Sleep(300 * time.Millisecond)
		return []byte("finished"), nil
	})
	q1.Handle("endless", func(ctx context.Context, t *Task) ([]byte, error) {
		started <- t.ID
		<-ctx.Done()
		return nil, ctx.Err()
	})
	start(t, q1)
	quick := enqueue(t, q1, "quick", "", nil)
	endless := enqueue(t, q1, "endless", "", nil)
	<-started
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	began := time.Now()
	if err := q1.Stop(ctx); err == nil {
		t.Fatal("Stop returned nil with a task still running")
	}
	if d := time.Since(began); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("Stop took %s, want about its 1s", d)
	}
	if r, err := q1.Status(context.Background(), quick); err != nil || r.State != Done || string(r.Value) != "finished" {
		t.Fatalf("quick task = %+v, %v: it had time to finish", r, err)
	}
	r, err := q1.Status(context.Background(), endless)
	if err != nil || r.State != Pending || r.Attempts != 0 {
		t.Fatalf("endless task = %+v, %v: want pending, its attempt not counted", r, err)
	}

	// It runs again elsewhere, at once (no lease to wait for), as its
	// first attempt: with no retries it would be dead otherwise.
	w2 := testEngine(t, Config{URL: srv.ClientURL()})
	q2 := testQueue(t, w2, "stop", cfg)
	q2.Handle("endless", func(ctx context.Context, t *Task) ([]byte, error) {
		return []byte("ended"), nil
	})
	start(t, q2)
	began = time.Now()
	if r := waitResult(t, q2, endless); r.State != Done || r.Attempts != 1 {
		t.Fatalf("result = %+v", r)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("given-back task ran after %s", d)
	}
}

// TestStopIdle stops a queue with nothing to do at once.
func TestStopIdle(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "idle", QueueConfig{Workers: 8})
	start(t, q)
	time.Sleep(50 * time.Millisecond)
	began := time.Now()
	if err := q.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("Stop took %s", d)
	}
	// A task enqueued after Stop stays for another worker.
	id := enqueue(t, q, "t", "", nil)
	if r, err := q.Status(context.Background(), id); err != nil || r.State != Pending {
		t.Fatalf("status = %+v, %v", r, err)
	}
}

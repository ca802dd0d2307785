package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// runTimes records when each task ran, by payload.
type runTimes struct {
	mu    sync.Mutex
	times map[string][]time.Time
}

func (r *runTimes) handler(result []byte, err error) Handler {
	return func(_ context.Context, t *Task) ([]byte, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.times == nil {
			r.times = make(map[string][]time.Time)
		}
		r.times[string(t.Payload)] = append(r.times[string(t.Payload)], time.Now())
		return result, err
	}
}

func (r *runTimes) get(payload string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.times[payload]...)
}

func TestDelayAndAt(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "delayed", QueueConfig{Workers: 4})
	var runs runTimes
	q.Handle("t", runs.handler(nil, nil))
	start(t, q)

	now := time.Now()
	at := now.Add(1500 * time.Millisecond)
	ids := map[string]string{
		"now":   enqueue(t, q, "t", "now", nil),
		"delay": enqueue(t, q, "t", "delay", &EnqueueOptions{Delay: 1200 * time.Millisecond}),
		"at":    enqueue(t, q, "t", "at", &EnqueueOptions{At: at}),
		"past":  enqueue(t, q, "t", "past", &EnqueueOptions{At: now.Add(-time.Hour)}),
	}
	st, err := q.Status(context.Background(), ids["delay"])
	if err != nil {
		t.Fatal(err)
	}
	if st.State != Pending || st.RunAt.Sub(now) < 1200*time.Millisecond {
		t.Fatalf("status of the delayed task = %+v", st)
	}
	for _, id := range ids {
		waitResult(t, q, id)
	}
	// Never early; late by the second NATS rounds to, and a bit.
	for _, c := range []struct {
		payload  string
		earliest time.Time
	}{
		{"now", now},
		{"past", now},
		{"delay", now.Add(1200 * time.Millisecond)},
		{"at", at},
	} {
		ts := runs.get(c.payload)
		if len(ts) != 1 {
			t.Fatalf("%s ran %d times", c.payload, len(ts))
		}
		if ts[0].Before(c.earliest) || ts[0].After(c.earliest.Add(3*time.Second)) {
			t.Errorf("%s ran at +%s, want from +%s to 3s later", c.payload, ts[0].Sub(now), c.earliest.Sub(now))
		}
	}
}

// TestDelaySurvivesRestart stops the server while a task waits for its
// time, and starts it again.
func TestDelaySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e1, err := Open(ctx, Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	q1 := testQueue(t, e1, "restart", QueueConfig{})
	id := enqueue(t, q1, "t", "later", &EnqueueOptions{Delay: 2 * time.Second})
	due := time.Now().Add(2 * time.Second)
	if err := e1.Close(ctx); err != nil {
		t.Fatal(err)
	}

	e2 := testEngine(t, Config{DataDir: dir})
	q2 := testQueue(t, e2, "restart", QueueConfig{})
	var runs runTimes
	q2.Handle("t", runs.handler([]byte("ran"), nil))
	start(t, q2)
	if r := waitResult(t, q2, id); r.State != Done || string(r.Value) != "ran" {
		t.Fatalf("result = %+v", r)
	}
	if ts := runs.get("later"); len(ts) != 1 || ts[0].Before(due) {
		t.Fatalf("ran at %v, due %v", ts, due)
	}
}

func TestRetriesAndBackoff(t *testing.T) {
	e := testEngine(t, Config{})
	const base = 100 * time.Millisecond
	q := testQueue(t, e, "retries", QueueConfig{Backoff: base, MaxBackoff: 300 * time.Millisecond})
	var mu sync.Mutex
	var attempts []int
	var times []time.Time
	q.Handle("flaky", func(_ context.Context, t *Task) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, t.Attempt)
		times = append(times, time.Now())
		if t.Attempt < 4 {
			return nil, fmt.Errorf("failure %d", t.Attempt)
		}
		return []byte("finally"), nil
	})
	start(t, q)
	id := enqueue(t, q, "flaky", "", nil) // 3 retries by default: the 4th attempt succeeds
	r := waitResult(t, q, id)
	if r.State != Done || r.Attempts != 4 || string(r.Value) != "finally" {
		t.Fatalf("result = %+v", r)
	}
	if fmt.Sprint(attempts) != "[1 2 3 4]" {
		t.Fatalf("attempts = %v", attempts)
	}
	// Delays before retries 1, 2, 3: drawn from [d/2, d) for d = 100ms,
	// 200ms, 300ms (capped).
	for i, d := range []time.Duration{base, 2 * base, 3 * base} {
		gap := times[i+1].Sub(times[i])
		if gap < d/2 || gap > d+2*time.Second {
			t.Errorf("delay before retry %d = %s, want about [%s, %s)", i+1, gap, d/2, d)
		}
	}

	// Every attempt fails: dead after 1 + MaxRetries, with the last error.
	q.Handle("broken", func(_ context.Context, t *Task) ([]byte, error) {
		return nil, fmt.Errorf("broken %d", t.Attempt)
	})
	two := 2
	r = waitResult(t, q, enqueue(t, q, "broken", "", &EnqueueOptions{MaxRetries: &two}))
	if r.State != Dead || r.Attempts != 3 || r.Error != "broken 3" {
		t.Fatalf("result = %+v", r)
	}
	// The task's own budget, overridden per enqueue.
	q.HandleTask("once", func(_ context.Context, t *Task) ([]byte, error) {
		return nil, errors.New("no")
	}, TaskConfig{MaxRetries: -1})
	if r = waitResult(t, q, enqueue(t, q, "once", "", nil)); r.State != Dead || r.Attempts != 1 {
		t.Fatalf("result = %+v", r)
	}
	one := 1
	if r = waitResult(t, q, enqueue(t, q, "once", "", &EnqueueOptions{MaxRetries: &one})); r.State != Dead || r.Attempts != 2 {
		t.Fatalf("result = %+v", r)
	}
}

func TestBackoffBounds(t *testing.T) {
	q := &Queue{cfg: QueueConfig{Backoff: time.Second, MaxBackoff: 5 * time.Second}}
	for n, d := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 60: 5 * time.Second} {
		for range 100 {
			if got := q.backoff(n); got < d/2 || got >= d {
				t.Fatalf("backoff(%d) = %s, want [%s, %s)", n, got, d/2, d)
			}
		}
	}
}

func TestTimeout(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "timeouts", QueueConfig{Timeout: 200 * time.Millisecond, MaxRetries: 1, Backoff: 10 * time.Millisecond})
	var ctxErrs []error
	var mu sync.Mutex
	q.Handle("slow", func(ctx context.Context, t *Task) ([]byte, error) {
		<-ctx.Done()
		mu.Lock()
		ctxErrs = append(ctxErrs, ctx.Err())
		mu.Unlock()
		return nil, ctx.Err()
	})
	start(t, q)
	began := time.Now()
	r := waitResult(t, q, enqueue(t, q, "slow", "", nil))
	if r.State != Dead || r.Attempts != 2 || r.Error != "queue: timeout after 200ms" {
		t.Fatalf("result = %+v", r)
	}
	if d := time.Since(began); d < 400*time.Millisecond {
		t.Errorf("two attempts of 200ms took %s", d)
	}
	mu.Lock()
	if len(ctxErrs) != 2 || !errors.Is(ctxErrs[0], context.DeadlineExceeded) {
		t.Errorf("handler contexts ended with %v", ctxErrs)
	}
	mu.Unlock()

	// A timeout per enqueue; a handler that ignores its context still
	// gets its attempt ended at the deadline.
	release := make(chan struct{})
	q.Handle("stubborn", func(ctx context.Context, t *Task) ([]byte, error) {
		<-release
		return []byte("too late"), nil
	})
	none := 0
	began = time.Now()
	r = waitResult(t, q, enqueue(t, q, "stubborn", "", &EnqueueOptions{Timeout: 300 * time.Millisecond, MaxRetries: &none}))
	close(release)
	if r.State != Dead || r.Error != "queue: timeout after 300ms" {
		t.Fatalf("result = %+v", r)
	}
	if d := time.Since(began); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("attempt ended after %s", d)
	}
}

func TestDedup(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "dedup", QueueConfig{DedupWindow: time.Minute})
	var calls atomic.Int32
	q.Handle("t", func(_ context.Context, t *Task) ([]byte, error) {
		calls.Add(1)
		return t.Payload, nil
	})
	a := enqueue(t, q, "t", "first", &EnqueueOptions{DedupID: "order-42"})
	b := enqueue(t, q, "t", "second", &EnqueueOptions{DedupID: "order-42"})
	c := enqueue(t, q, "t", "other", &EnqueueOptions{DedupID: "order-43"})
	if a != b || a == c {
		t.Fatalf("ids %s, %s, %s: want the first two equal, the third different", a, b, c)
	}
	start(t, q)
	if r := waitResult(t, q, a); string(r.Value) != "first" {
		t.Fatalf("result = %+v", r)
	}
	waitResult(t, q, c)
	// Once the task has run, the same DedupID is still the same task.
	if d := enqueue(t, q, "t", "third", &EnqueueOptions{DedupID: "order-42"}); d != a {
		t.Fatalf("id after the run = %s, want %s", d, a)
	}
	// Delayed tasks are deduplicated too.
	x := enqueue(t, q, "t", "x", &EnqueueOptions{DedupID: "later", Delay: time.Hour})
	y := enqueue(t, q, "t", "y", &EnqueueOptions{DedupID: "later", Delay: time.Hour})
	if x != y {
		t.Fatalf("delayed ids %s, %s", x, y)
	}
	time.Sleep(100 * time.Millisecond)
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler ran %d times, want 2", n)
	}
	if r, err := q.Status(context.Background(), a); err != nil || r.State != Done || string(r.Value) != "first" {
		t.Fatalf("status = %+v, %v: a duplicate must not touch the task", r, err)
	}
}

func TestResultWaitAndExpiry(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "results", QueueConfig{ResultTTL: time.Second})
	release := make(chan struct{})
	q.Handle("t", func(_ context.Context, t *Task) ([]byte, error) {
		<-release
		return []byte("value"), nil
	})
	start(t, q)
	id := enqueue(t, q, "t", "", nil)

	// A short wait ends with the current state and ctx's error.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	r, err := q.Result(ctx, id)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || r == nil || r.State.Final() {
		t.Fatalf("Result before the end = %+v, %v", r, err)
	}
	// A waiter sees the end.
	got := make(chan *Result, 1)
	go func() {
		r, err := q.Result(context.Background(), id)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if r := <-got; r == nil || r.State != Done || string(r.Value) != "value" {
		t.Fatalf("waited result = %+v", r)
	}
	// Then it expires, after ResultTTL (NATS checks about every second).
	ended := time.Now()
	waitFor(t, 10*time.Second, "the result to expire", func() bool {
		_, err := q.Status(context.Background(), id)
		return errors.Is(err, ErrNotFound)
	})
	if d := time.Since(ended); d < 900*time.Millisecond {
		t.Errorf("result expired after %s, want about 1s", d)
	}
	if _, err := q.Result(context.Background(), id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Result after expiry = %v, want ErrNotFound", err)
	}
}

func TestStatusWhileRunning(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "running", QueueConfig{})
	started := make(chan struct{})
	release := make(chan struct{})
	q.Handle("t", func(context.Context, *Task) ([]byte, error) {
		close(started)
		<-release
		return nil, nil
	})
	start(t, q)
	id := enqueue(t, q, "t", "", nil)
	<-started
	r, err := q.Status(context.Background(), id)
	if err != nil || r.State != Running || r.Attempts != 1 {
		t.Fatalf("status = %+v, %v", r, err)
	}
	if err := q.Delete(context.Background(), id); !errors.Is(err, ErrActive) {
		t.Errorf("Delete while running = %v, want ErrActive", err)
	}
	close(release)
	waitResult(t, q, id)
}

func TestTaskNameLimits(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "names", QueueConfig{})
	q.Handle("feeds.fetch/v2:all", echo)
	start(t, q)
	if r := waitResult(t, q, enqueue(t, q, "feeds.fetch/v2:all", "x", nil)); r.State != Done {
		t.Fatalf("result = %+v", r)
	}
	if _, err := q.Enqueue(context.Background(), strings.Repeat("x", 257), nil, nil); !errors.Is(err, ErrInvalidName) {
		t.Errorf("long name: %v", err)
	}
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// TestClock: the times in results come from the engine's clock.
func TestClock(t *testing.T) {
	now := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	e := testEngine(t, Config{Clock: fixedClock{now}})
	q := testQueue(t, e, "clock", QueueConfig{})
	q.Handle("t", echo)
	start(t, q)
	id := enqueue(t, q, "t", "", nil)
	r := waitResult(t, q, id)
	if !r.EnqueuedAt.Equal(now) || !r.Finished.Equal(now) {
		t.Fatalf("result = %+v, want times %v", r, now)
	}
	// Delays count from the clock's now; NATS waits for the real time,
	// which is long past.
	id = enqueue(t, q, "t", "", &EnqueueOptions{Delay: time.Hour})
	if r := waitResult(t, q, id); r.State != Done {
		t.Fatalf("result = %+v", r)
	}
}

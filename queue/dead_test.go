package queue

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestDeadLetters(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "deadletters", QueueConfig{MaxRetries: 1, Backoff: 10_000_000})
	var fixed atomic.Bool
	q.Handle("t", func(_ context.Context, t *Task) ([]byte, error) {
		if !fixed.Load() {
			return nil, errors.New("not yet")
		}
		return append([]byte("fixed "), t.Payload...), nil
	})
	start(t, q)
	ctx := context.Background()
	a := enqueue(t, q, "t", "a", nil)
	b := enqueue(t, q, "t", "b", nil)
	for _, id := range []string{a, b} {
		if r := waitResult(t, q, id); r.State != Dead || r.Attempts != 2 || r.Error != "not yet" {
			t.Fatalf("result = %+v", r)
		}
	}
	dead, err := q.Dead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 {
		t.Fatalf("dead = %+v", dead)
	}
	for _, d := range dead {
		if (d.ID != a && d.ID != b) || d.State != Dead || d.Error != "not yet" || d.Attempts != 2 || d.Name != "t" || d.Died.IsZero() || d.EnqueuedAt.IsZero() {
			t.Fatalf("dead letter = %+v", d)
		}
	}

	// Requeue: a new attempt budget, the same id and payload.
	fixed.Store(true)
	if err := q.Requeue(ctx, a); err != nil {
		t.Fatal(err)
	}
	if r := waitResult(t, q, a); r.State != Done || r.Attempts != 1 || string(r.Value) != "fixed a" {
		t.Fatalf("requeued result = %+v", r)
	}
	if err := q.Requeue(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Requeue = %v, want ErrNotFound", err)
	}

	// Delete: gone from the dead letters and the results.
	if err := q.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Status(ctx, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("status after Delete = %v, want ErrNotFound", err)
	}
	if err := q.Delete(ctx, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if dead, err = q.Dead(ctx); err != nil || len(dead) != 0 {
		t.Fatalf("dead after requeue and delete = %+v, %v", dead, err)
	}
	// A done task can be deleted too; a pending one cannot.
	if err := q.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	p := enqueue(t, q, "t", "p", nil)
	if err := q.Delete(ctx, p); !errors.Is(err, ErrActive) {
		t.Errorf("Delete of a pending task = %v, want ErrActive", err)
	}
}

// TestRequeueInDedupWindow requeues a task that died at once, while NATS
// still remembers its id.
func TestRequeueInDedupWindow(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "requeuedup", QueueConfig{MaxRetries: -1})
	var calls atomic.Int32
	q.Handle("t", func(context.Context, *Task) ([]byte, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("first")
		}
		return []byte("second"), nil
	})
	start(t, q)
	id := enqueue(t, q, "t", "", &EnqueueOptions{DedupID: "same"})
	if r := waitResult(t, q, id); r.State != Dead {
		t.Fatalf("result = %+v", r)
	}
	if err := q.Requeue(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if r := waitResult(t, q, id); r.State != Done || string(r.Value) != "second" {
		t.Fatalf("requeued result = %+v", r)
	}
}

func TestDeadTTL(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "deadttl", QueueConfig{MaxRetries: -1, DeadTTL: time.Second})
	q.Handle("t", func(context.Context, *Task) ([]byte, error) { return nil, errors.New("always") })
	start(t, q)
	ctx := context.Background()
	id := enqueue(t, q, "t", "x", nil)
	if r := waitResult(t, q, id); r.State != Dead {
		t.Fatalf("result = %+v", r)
	}
	if dead, err := q.Dead(ctx); err != nil || len(dead) != 1 {
		t.Fatalf("dead letters right after = %+v, %v", dead, err)
	}
	// Both the dead letter and the task's state expire after DeadTTL.
	deadline := time.Now().Add(15 * time.Second)
	for {
		dead, err := q.Dead(ctx)
		_, serr := q.Status(ctx, id)
		if err == nil && len(dead) == 0 && errors.Is(serr, ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after DeadTTL: dead letters %+v (%v), status error %v", dead, err, serr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := e.Queue("deadttl-bad", QueueConfig{DeadTTL: time.Millisecond}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("DeadTTL 1ms: %v", err)
	}
}

// TestResultOfAnUnknownTask: Result does not wait for a task the queue
// does not know, whether its id could be one of the queue's or not.
func TestResultOfAnUnknownTask(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "unknown", QueueConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range []string{"nosuchtask", "not a valid id", ""} {
		if _, err := q.Result(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Result(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// TestResultWhileTheStateIsWritten: Result called while the worker
// writes the task's state finds the task and its end. Its watch is made
// while the record is being replaced: a watch that delivers the current
// value first can report none, and miss the replacement too, which was
// Result's "task not found" on a task that had just ended. Several
// Results a task, made at once, make that race likely in a run: with the
// old Result, under the race detector and two CPU-bound loops, 6 runs in
// 10 failed.
func TestResultWhileTheStateIsWritten(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "racing", QueueConfig{Workers: 8})
	q.Handle("t", func(_ context.Context, task *Task) ([]byte, error) { return task.Payload, nil })
	start(t, q)
	const tasks, readers = 300, 8
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make(chan error, readers)
	for i := range tasks {
		payload := fmt.Sprint(i)
		id, err := q.Enqueue(ctx, "t", []byte(payload), nil)
		if err != nil {
			t.Fatal(err)
		}
		for range readers {
			go func() {
				r, err := q.Result(ctx, id)
				if err == nil && (r.State != Done || string(r.Value) != payload) {
					err = fmt.Errorf("%+v", r)
				}
				errs <- err
			}()
		}
		for range readers {
			if err := <-errs; err != nil {
				t.Fatalf("task %d: %v", i, err)
			}
		}
	}
}

package queue

import (
	"context"
	"testing"
	"time"
)

func TestPause(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "pause", QueueConfig{Workers: 2})
	ran := make(chan string, 10)
	q.Handle("ok", func(_ context.Context, task *Task) ([]byte, error) {
		ran <- task.ID
		return nil, nil
	})
	start(t, q)
	first := enqueue(t, q, "ok", "", nil)
	waitResult(t, q, first)
	<-ran

	q.Pause()
	q.Pause() // again: no effect
	if !q.Paused() {
		t.Fatal("Paused() is false after Pause")
	}
	var ids []string
	for range 3 {
		ids = append(ids, enqueue(t, q, "ok", "", nil))
	}
	// Paused, the workers take nothing, however long one waits.
	select {
	case id := <-ran:
		t.Fatalf("task %s ran while the queue was paused", id)
	case <-time.After(500 * time.Millisecond):
	}
	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 3 || st.Done != 1 {
		t.Fatalf("paused: stats %+v, want 3 pending and 1 done", st.Counts)
	}

	q.Resume()
	if q.Paused() {
		t.Fatal("Paused() is true after Resume")
	}
	for _, id := range ids {
		if r := waitResult(t, q, id); r.State != Done {
			t.Fatalf("task %s after Resume: %+v", id, r)
		}
	}
	// Counted once each attempt has ended, a moment after its result is
	// written.
	waitFor(t, 5*time.Second, "Processed() = 4", func() bool { return q.Processed() == 4 })
}

package queue_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/junction-run/junction/queue"
)

func Example() {
	dir, err := os.MkdirTemp("", "queue-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// An embedded NATS server in dir; Config{URL: "nats://..."} uses
	// an external one instead.
	e, err := queue.Open(ctx, queue.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer e.Close(ctx)

	videos, err := e.Queue("videos", queue.QueueConfig{Workers: 4})
	if err != nil {
		panic(err)
	}
	videos.Handle("encode", func(ctx context.Context, t *queue.Task) ([]byte, error) {
		if !strings.HasSuffix(string(t.Payload), ".mp4") {
			return nil, queue.Permanent(fmt.Errorf("not a video: %s", t.Payload))
		}
		return []byte("encoded " + string(t.Payload)), nil
	})
	if err := videos.Start(ctx); err != nil {
		panic(err)
	}

	for _, file := range []string{"cat.mp4", "notes.txt"} {
		id, err := videos.Enqueue(ctx, "encode", []byte(file), nil)
		if err != nil {
			panic(err)
		}
		r, err := videos.Result(ctx, id)
		if err != nil {
			panic(err)
		}
		if r.State == queue.Done {
			fmt.Printf("%s: %s: %s\n", file, r.State, r.Value)
		} else {
			fmt.Printf("%s: %s: %s\n", file, r.State, r.Error)
		}
	}
	// Output:
	// cat.mp4: done: encoded cat.mp4
	// notes.txt: failed: not a video: notes.txt
}

func ExampleEnqueueOptions() {
	dir, err := os.MkdirTemp("", "queue-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	e, err := queue.Open(ctx, queue.Config{DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer e.Close(ctx)
	mail, err := e.Queue("mail", queue.QueueConfig{})
	if err != nil {
		panic(err)
	}

	// The same DedupID within the queue's DedupWindow is the same task.
	first, _ := mail.Enqueue(ctx, "welcome", []byte("ann@example.com"), &queue.EnqueueOptions{DedupID: "welcome/ann"})
	again, _ := mail.Enqueue(ctx, "welcome", []byte("ann@example.com"), &queue.EnqueueOptions{DedupID: "welcome/ann"})
	fmt.Println(first == again)

	// Run in an hour, with no retry.
	none := 0
	id, _ := mail.Enqueue(ctx, "reminder", []byte("ann@example.com"), &queue.EnqueueOptions{Delay: time.Hour, MaxRetries: &none})
	st, _ := mail.Status(ctx, id)
	fmt.Println(st.State)
	// Output:
	// true
	// pending
}

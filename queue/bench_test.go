package queue

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkEnqueue measures durable enqueues (each one acknowledged by
// the embedded server's file store) one at a time and from parallel
// goroutines, with the default fsync policy and with SyncAlways.
func BenchmarkEnqueue(b *testing.B) {
	payload := make([]byte, 256)
	for _, c := range []struct {
		name     string
		sync     bool
		parallel bool
	}{
		{"serial", false, false},
		{"parallel", false, true},
		{"serial/sync_always", true, false},
		{"parallel/sync_always", true, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := testEngine(b, Config{SyncAlways: c.sync})
			q := testQueue(b, e, "bench", QueueConfig{})
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			if c.parallel {
				b.SetParallelism(8)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := q.Enqueue(ctx, "t", payload, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for b.Loop() {
					if _, err := q.Enqueue(ctx, "t", payload, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}

// BenchmarkProcess measures tasks processed end to end (run, recorded
// done, acknowledged) with file storage, by 1, 16 or 64 workers: from a
// backlog of b.N tasks enqueued beforehand ("backlog"), and while 16
// goroutines enqueue them ("live", timed from the first enqueue).
func BenchmarkProcess(b *testing.B) {
	for _, live := range []bool{false, true} {
		for _, workers := range []int{1, 16, 64} {
			mode := "backlog"
			if live {
				mode = "live"
			}
			b.Run(fmt.Sprintf("%s/workers=%d", mode, workers), func(b *testing.B) {
				benchProcess(b, workers, live)
			})
		}
	}
}

func benchProcess(b *testing.B, workers int, live bool) {
	e := testEngine(b, Config{})
	q := testQueue(b, e, "bench", QueueConfig{Workers: workers})
	q.Handle("t", func(context.Context, *Task) ([]byte, error) { return nil, nil })
	n := int64(b.N)
	var done atomic.Int64
	all := make(chan struct{})
	q.OnDone(func(Result) {
		if done.Add(1) == n {
			close(all)
		}
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	enqueueAll := func() {
		for w := range 16 {
			wg.Go(func() {
				for i := w; i < b.N; i += 16 {
					if _, err := q.Enqueue(ctx, "t", nil, nil); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	}
	if !live {
		enqueueAll()
		wg.Wait()
	}
	b.ResetTimer()
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	if live {
		enqueueAll()
	}
	<-all
	b.StopTimer()
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

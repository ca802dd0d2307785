package cron

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNoOverlap(t *testing.T) {
	f := newFixture(t, Config{Registerer: prometheus.NewRegistry()})
	started := make(chan time.Time, 10)
	release := make(chan struct{})
	job := func(ctx context.Context) error {
		started <- f.clock.Now()
		<-release
		return nil
	}
	f.s.Every("slow", time.Minute, job, Options{NoOverlap: true})
	f.start(t)

	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	recv(t, started)
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute) // the first run goes on: skipped
	info := f.waitJob(t, "slow", func(j JobInfo) bool { return j.Skips == 1 })
	if info.LastResult != "skipped: still running" || info.Runs != 1 || !info.Running {
		t.Errorf("after the skip: %+v", info)
	}
	if logs := f.logs.String(); !strings.Contains(logs, "level=WARN msg=\"cron: tick skipped: the previous run is still running\" job=slow tick=2026-01-05T10:02:00.000Z") {
		t.Errorf("the skip is not logged:\n%s", logs)
	}
	if got := counter(t, f.s, "slow", outcomeSkipped); got != 1 {
		t.Errorf("runs_total{outcome=skipped} = %v, want 1", got)
	}

	close(release)
	f.waitJob(t, "slow", func(j JobInfo) bool { return !j.Running })
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute) // runs again
	if got := recv(t, started); !got.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("third tick ran at %s", got)
	}
	info = f.waitJob(t, "slow", func(j JobInfo) bool { return j.Runs == 2 && !j.Running })
	if info.Skips != 1 || info.LastResult != "ok" {
		t.Errorf("after the third tick: %+v", info)
	}
}

// TestOverlap checks that without NoOverlap a tick runs while the
// previous run goes on.
func TestOverlap(t *testing.T) {
	f := newFixture(t, Config{})
	var running, most atomic.Int32
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	job := func(ctx context.Context) error {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		started <- struct{}{}
		<-release
		running.Add(-1)
		return nil
	}
	f.s.Every("slow", time.Minute, job, Options{})
	f.start(t)
	for range 3 {
		f.clock.BlockUntil(1)
		f.clock.Advance(time.Minute)
		recv(t, started)
	}
	if got := most.Load(); got != 3 {
		t.Errorf("%d runs at once, want 3", got)
	}
	close(release)
	info := f.waitJob(t, "slow", func(j JobInfo) bool { return !j.Running })
	if info.Runs != 3 || info.Skips != 0 {
		t.Errorf("%+v", info)
	}
}

func TestJitter(t *testing.T) {
	const jitter = 30 * time.Second
	f := newFixture(t, Config{})
	job, runs := ticker(f.clock)
	f.s.Every("spread", time.Minute, job, Options{Jitter: jitter})
	f.start(t)

	// The same seed as the scheduler's: the test knows the delays.
	draws := newFixture(t, Config{}).s.rand
	seen := map[time.Duration]bool{}
	for i := 1; i <= 5; i++ {
		tick := t0.Add(time.Duration(i) * time.Minute)
		delay := time.Duration(draws.Int64N(int64(jitter)))
		if delay < 0 || delay >= jitter {
			t.Fatalf("delay %s out of [0, %s)", delay, jitter)
		}
		seen[delay] = true
		f.clock.BlockUntil(1)
		f.clock.Set(tick)
		f.clock.BlockUntil(2) // the next tick and the jitter
		f.clock.Advance(delay - time.Nanosecond)
		if n := f.clock.Waiters(); n != 2 {
			t.Fatalf("tick %d: the run did not wait for its jitter (%d timers)", i, n)
		}
		if info := f.job(t, "spread"); info.Runs != int64(i-1) || !info.Running {
			t.Fatalf("tick %d, during the jitter: %+v", i, info)
		}
		f.clock.Advance(time.Nanosecond)
		if got := recv(t, runs); !got.Equal(tick.Add(delay)) {
			t.Fatalf("tick %d ran at %s, want %s", i, got, tick.Add(delay))
		}
		if info := f.waitJob(t, "spread", func(j JobInfo) bool { return !j.Running }); !info.LastRun.Equal(tick.Add(delay)) {
			t.Errorf("LastRun = %s, want after the jitter", info.LastRun)
		}
	}
	if len(seen) < 4 {
		t.Errorf("delays barely vary: %v", seen)
	}
}

func TestTimeout(t *testing.T) {
	f := newFixture(t, Config{})
	type seen struct {
		deadline time.Time
		err      error
	}
	started := make(chan time.Time, 1)
	done := make(chan seen, 1)
	job := func(ctx context.Context) error {
		deadline, _ := ctx.Deadline()
		started <- deadline
		<-ctx.Done()
		done <- seen{deadline, ctx.Err()}
		return ctx.Err()
	}
	f.s.Every("bounded", time.Hour, job, Options{Timeout: 10 * time.Second})
	f.start(t)
	f.clock.BlockUntil(1)
	f.clock.Set(t0.Add(time.Hour))
	if got, want := recv(t, started), t0.Add(time.Hour+10*time.Second); !got.Equal(want) {
		t.Errorf("Deadline = %s, want %s", got, want)
	}
	f.clock.BlockUntil(2) // the next tick and the timeout
	f.clock.Advance(10*time.Second - time.Nanosecond)
	select {
	case <-done:
		t.Fatal("the context ended before the timeout")
	default:
	}
	f.clock.Advance(time.Nanosecond)
	if got := recv(t, done); !errors.Is(got.err, context.DeadlineExceeded) {
		t.Errorf("ctx.Err() = %v, want context.DeadlineExceeded", got.err)
	}
	info := f.waitJob(t, "bounded", func(j JobInfo) bool { return !j.Running })
	if info.Failures != 1 || info.LastResult != "context deadline exceeded" || info.LastDuration != 10*time.Second {
		t.Errorf("%+v", info)
	}
	if !strings.Contains(f.logs.String(), "timed_out=true") {
		t.Errorf("the timeout is not logged:\n%s", f.logs)
	}
	waitFor(t, func() bool { return f.clock.Waiters() == 1 }) // the timeout's timer is gone
}

// TestTimeoutContext checks the clock's timeout context on its own.
func TestTimeoutContext(t *testing.T) {
	clock := NewFakeClock(t0)
	type key struct{}
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	ctx, cancel := withTimeout(parent, clock, time.Second)
	defer cancel()
	if ctx.Value(key{}) != "v" {
		t.Error("the parent's values are lost")
	}
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	clock.Advance(time.Second)
	<-child.Done()
	if !errors.Is(child.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Errorf("child.Err() = %v, Cause = %v", child.Err(), context.Cause(ctx))
	}

	ctx2, cancel2 := withTimeout(parent, clock, time.Second)
	defer cancel2()
	cancelParent()
	<-ctx2.Done()
	if !errors.Is(ctx2.Err(), context.Canceled) {
		t.Errorf("Err() after the parent = %v", ctx2.Err())
	}
	if n := clock.Waiters(); n != 0 {
		t.Errorf("%d timers left", n)
	}
}

// TestFailures checks that errors and panics are logged and counted,
// and that the schedule goes on.
func TestFailures(t *testing.T) {
	f := newFixture(t, Config{})
	results := []func() error{
		func() error { return errors.New("feed down") },
		func() error { panic("nil map") },
		func() error { return nil },
	}
	var n atomic.Int32
	f.s.Every("flaky", time.Minute, func(context.Context) error {
		return results[n.Add(1)-1]()
	}, Options{})
	f.start(t)
	want := []string{"feed down", "panic: nil map", "ok"}
	for i, result := range want {
		f.clock.BlockUntil(1)
		f.clock.Advance(time.Minute)
		info := f.waitJob(t, "flaky", func(j JobInfo) bool { return j.Runs == int64(i+1) && !j.Running })
		if info.LastResult != result {
			t.Errorf("run %d: LastResult = %q, want %q", i+1, info.LastResult, result)
		}
	}
	if info := f.job(t, "flaky"); info.Failures != 2 || info.Runs != 3 {
		t.Errorf("%+v", info)
	}
	logs := f.logs.String()
	for _, want := range []string{
		`level=ERROR msg="cron: job failed" job=flaky tick=2026-01-05T10:01:00.000Z duration=0s timed_out=false err="feed down"`,
		`level=ERROR msg="cron: job panicked" job=flaky tick=2026-01-05T10:02:00.000Z duration=0s panic="nil map" stack="goroutine`,
		`TestFailures`, // in the stack
		`level=DEBUG msg="cron: job done" job=flaky tick=2026-01-05T10:03:00.000Z`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
}

func TestTickInTheJobContext(t *testing.T) {
	f := newFixture(t, Config{})
	ticks := make(chan time.Time, 1)
	f.s.Every("keyed", time.Minute, func(ctx context.Context) error {
		tick, ok := Tick(ctx)
		if !ok {
			return errors.New("no tick in the job's context")
		}
		ticks <- tick
		return nil
	}, Options{Jitter: 30 * time.Second})
	f.start(t)
	tick := t0.Add(time.Minute)
	f.clock.BlockUntil(1)
	f.clock.Set(tick)
	f.clock.BlockUntil(2)             // the next tick and the jitter
	f.clock.Advance(30 * time.Second) // past any jitter
	if got := recv(t, ticks); !got.Equal(tick) {
		t.Fatalf("Tick = %s, want the scheduled %s, not the jittered run time", got, tick)
	}
	if _, ok := Tick(context.Background()); ok {
		t.Fatal("Tick outside a job reported one")
	}
}

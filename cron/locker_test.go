package cron

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// memLocker is an in-memory Locker on a clock, shared by the schedulers
// of a test as NATS KV would be by processes.
type memLocker struct {
	clock Clock
	mu    sync.Mutex
	until map[string]time.Time
	keys  []string // in the order they were taken
	ttls  []time.Duration
}

func newMemLocker(clock Clock) *memLocker {
	return &memLocker{clock: clock, until: make(map[string]time.Time)}
}

func (l *memLocker) TryLock(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if until, ok := l.until[key]; ok && now.Before(until) {
		return false, nil
	}
	l.until[key] = now.Add(ttl)
	l.keys = append(l.keys, key)
	l.ttls = append(l.ttls, ttl)
	return true, nil
}

// TestLocker runs two schedulers of the same app on one clock and one
// Locker: each tick runs once in all.
func TestLocker(t *testing.T) {
	clock := NewFakeClock(t0)
	locker := newMemLocker(clock)
	var mu sync.Mutex
	ran := map[string][]time.Time{} // job -> run times, whichever process
	job := func(name string) Job {
		return func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			ran[name] = append(ran[name], clock.Now())
			return nil
		}
	}
	procs := make([]*fixture, 2)
	for i := range procs {
		procs[i] = newFixture(t, Config{Clock: clock, Locker: locker, Namespace: "shop"})
		if err := procs[i].s.Every("poll", time.Minute, job("poll"), Options{}); err != nil {
			t.Fatal(err)
		}
		if err := procs[i].s.Cron("sweep", "*/20 * * * * *", job("sweep"), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	// The second process starts 25 seconds after the first one, and
	// computes the same ticks.
	procs[0].start(t)
	clock.BlockUntil(2)
	clock.Advance(20 * time.Second) // the first sweep runs in process 0 alone
	waitFor(t, func() bool { return procs[0].job(t, "sweep").Runs == 1 })
	clock.Advance(5 * time.Second)
	procs[1].start(t)

	// ticks processed by both schedulers, ran or elsewhere
	handled := func(name string) int64 {
		var n int64
		for _, p := range procs {
			info := p.job(t, name)
			if info.Running {
				return -1
			}
			n += info.Runs + info.RanElsewhere
		}
		return n
	}
	for i := 1; i <= 9; i++ { // 10:00:40 to 10:03:20 every 20s
		clock.BlockUntil(4)
		clock.Set(t0.Add(20*time.Second + time.Duration(i)*20*time.Second))
		waitFor(t, func() bool { return handled("sweep") == int64(1+2*i) && handled("poll") == int64(2*((i+1)/3)) })
	}

	var wantSweep, wantPoll []time.Time
	for i := range 10 {
		wantSweep = append(wantSweep, t0.Add(time.Duration(i+1)*20*time.Second))
	}
	for i := range 3 {
		wantPoll = append(wantPoll, t0.Add(time.Duration(i+1)*time.Minute))
	}
	mu.Lock()
	slices.SortFunc(ran["sweep"], time.Time.Compare)
	slices.SortFunc(ran["poll"], time.Time.Compare)
	if !slices.EqualFunc(ran["sweep"], wantSweep, time.Time.Equal) {
		t.Errorf("sweep ran at\n%v\nwant once at each of\n%v", ran["sweep"], wantSweep)
	}
	if !slices.EqualFunc(ran["poll"], wantPoll, time.Time.Equal) {
		t.Errorf("poll ran at\n%v\nwant once at each of\n%v", ran["poll"], wantPoll)
	}
	mu.Unlock()

	var elsewhere int64
	for _, p := range procs {
		for _, info := range p.s.Jobs() {
			elsewhere += info.RanElsewhere
		}
	}
	if elsewhere != 9+3 {
		t.Errorf("RanElsewhere adds up to %d, want 12", elsewhere)
	}

	locker.mu.Lock()
	defer locker.mu.Unlock()
	for _, key := range []string{"shop/poll/2026-01-05T10:01:00Z", "shop/sweep/2026-01-05T10:00:20Z"} {
		if !slices.Contains(locker.keys, key) {
			t.Errorf("no lock %q in %q", key, locker.keys)
		}
	}
	for i, ttl := range locker.ttls {
		if ttl != time.Minute {
			t.Errorf("lock %q for %s, want 1m", locker.keys[i], ttl)
		}
	}
}

// TestLockerElsewhere checks what a process that loses the lock records.
func TestLockerElsewhere(t *testing.T) {
	taken := LockerFunc(func(context.Context, string, time.Duration) (bool, error) { return false, nil })
	f := newFixture(t, Config{Locker: taken, Registerer: prometheus.NewRegistry()})
	job, runs := ticker(f.clock)
	f.s.Every("poll", time.Minute, job, Options{})
	f.start(t)
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	info := f.waitJob(t, "poll", func(j JobInfo) bool { return j.RanElsewhere == 1 && !j.Running })
	if info.Runs != 0 || info.LastResult != "ran elsewhere" || !info.LastRun.IsZero() {
		t.Errorf("%+v", info)
	}
	if got := counter(t, f.s, "poll", outcomeElsewhere); got != 1 {
		t.Errorf("runs_total{outcome=elsewhere} = %v, want 1", got)
	}
	select {
	case <-runs:
		t.Error("the job ran without the lock")
	default:
	}
}

// TestLockerError checks that a tick whose lock fails does not run
// (it could run in every process) and counts as a failure.
func TestLockerError(t *testing.T) {
	broken := LockerFunc(func(context.Context, string, time.Duration) (bool, error) {
		return false, errors.New("nats: timeout")
	})
	f := newFixture(t, Config{Locker: broken, Namespace: "shop"})
	job, runs := ticker(f.clock)
	f.s.Every("poll", time.Minute, job, Options{})
	f.start(t)
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	info := f.waitJob(t, "poll", func(j JobInfo) bool { return j.Failures == 1 && !j.Running })
	if info.Runs != 0 || info.LastResult != "lock failed: nats: timeout" {
		t.Errorf("%+v", info)
	}
	select {
	case <-runs:
		t.Error("the job ran without the lock")
	default:
	}
	want := `level=ERROR msg="cron: tick not run: lock failed" job=poll tick=2026-01-05T10:01:00.000Z key=shop/poll/2026-01-05T10:01:00Z err="nats: timeout"`
	if logs := f.logs.String(); !strings.Contains(logs, want) {
		t.Errorf("logs lack %s:\n%s", want, logs)
	}
}

// TestLockerStop checks that Stop cancels the context of a TryLock.
func TestLockerStop(t *testing.T) {
	called := make(chan struct{})
	blocking := LockerFunc(func(ctx context.Context, _ string, _ time.Duration) (bool, error) {
		close(called)
		<-ctx.Done()
		return false, ctx.Err()
	})
	f := newFixture(t, Config{Locker: blocking})
	f.s.Every("poll", time.Minute, nop, Options{})
	f.start(t)
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	recv(t, called)
	if err := f.s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if info := f.job(t, "poll"); info.Failures != 0 || info.LastResult != "" {
		t.Errorf("a stop counted as a failure: %+v", info)
	}
}

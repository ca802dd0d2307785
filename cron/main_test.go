package cron

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the time zone tests must not depend on the machine
)

// TestMain fails the run if a scheduler goroutine outlives the tests:
// every goroutine has an owner that waits for it.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left running:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines returns the stacks of the goroutines running this
// package's code, once they have had a second to end.
func leakedGoroutines() string {
	var leaked string
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = ""
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "junction/cron.") && !strings.Contains(g, "cron.leakedGoroutines") &&
				!strings.Contains(g, "cron.TestMain") {
				leaked += g + "\n\n"
			}
		}
		if leaked == "" {
			return ""
		}
	}
	return leaked
}

// t0 is the fake clock's start: Monday 5 January 2026, 10:00 UTC.
var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// fixture is a scheduler on a fake clock, with its logs in a buffer.
type fixture struct {
	clock *FakeClock
	s     *Scheduler
	logs  *logBuffer
}

// newFixture returns a scheduler on a FakeClock at t0, in UTC, with a
// seeded jitter source, stopped when the test ends. cfg's Clock, Logger,
// Location and Rand are set unless given.
func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	clock, _ := cfg.Clock.(*FakeClock)
	if clock == nil {
		clock = NewFakeClock(t0)
		cfg.Clock = clock
	}
	logs := &logBuffer{}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Rand == nil {
		cfg.Rand = testRand()
	}
	s := New(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return &fixture{clock: clock, s: s, logs: logs}
}

func (f *fixture) start(t *testing.T) {
	t.Helper()
	if err := f.s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// job returns the named job's info.
func (f *fixture) job(t *testing.T, name string) JobInfo {
	t.Helper()
	for _, j := range f.s.Jobs() {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("no job %q in %+v", name, f.s.Jobs())
	return JobInfo{}
}

// waitJob waits until the named job's info satisfies ok: runs end on
// their own goroutines, after the job has signalled the test.
func (f *fixture) waitJob(t *testing.T, name string, ok func(JobInfo) bool) JobInfo {
	t.Helper()
	var info JobInfo
	waitFor(t, func() bool { info = f.job(t, name); return ok(info) })
	return info
}

// waitFor polls cond until it holds, or fails the test after 5 seconds.
// It waits for goroutines to get somewhere, never for time to pass: the
// fake clock does that.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 5s")
		}
	}
}

// recv receives from c, or fails the test after 5 seconds.
func recv[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received after 5s")
		panic("unreachable")
	}
}

// logBuffer is a bytes.Buffer safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// nop is a job that does nothing.
func nop(context.Context) error { return nil }

// testRand is the seeded jitter source of the tests.
func testRand() rand.Source { return rand.NewPCG(1, 2) }

package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		code = checkLeaks(before)
	}
	os.Exit(code)
}

// checkLeaks waits for the goroutines the tests started to end, and fails
// if some outlive the engines that owned them.
func checkLeaks(before int) int {
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			fmt.Fprintf(os.Stderr, "leaked goroutines: %d, were %d\n%s\n", runtime.NumGoroutine(), before, buf)
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0
}

// testLogger discards logs, unless QUEUE_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("QUEUE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testEngine opens an engine, with an embedded server in a temporary
// directory unless cfg says otherwise, closed at the end of the test.
func testEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.URL == "" && cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

func testQueue(t testing.TB, e *Engine, name string, cfg QueueConfig) *Queue {
	t.Helper()
	q, err := e.Queue(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func start(t testing.TB, q *Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func enqueue(t testing.TB, q *Queue, task string, payload string, opts *EnqueueOptions) string {
	t.Helper()
	id, err := q.Enqueue(context.Background(), task, []byte(payload), opts)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitResult waits for the task's end, for at most 20s.
func waitResult(t testing.TB, q *Queue, id string) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := q.Result(ctx, id)
	if err != nil {
		t.Fatalf("result of %s: %v (last state %+v)", id, err, r)
	}
	return r
}

// waitFor polls cond until it holds, for at most d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %s for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func echo(_ context.Context, t *Task) ([]byte, error) {
	return append([]byte("echo "), t.Payload...), nil
}

func TestEnqueueRunResult(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "basic", QueueConfig{Workers: 4})
	q.Handle("echo", echo)
	var mu sync.Mutex
	var ended []Result
	q.OnDone(func(r Result) {
		mu.Lock()
		ended = append(ended, r)
		mu.Unlock()
	})

	before := time.Now()
	id := enqueue(t, q, "echo", "hi", nil)
	st, err := q.Status(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != Pending || st.Name != "echo" || st.ID != id || st.EnqueuedAt.Before(before) {
		t.Fatalf("status before start = %+v", st)
	}
	start(t, q)
	r := waitResult(t, q, id)
	if r.State != Done || string(r.Value) != "echo hi" || r.Attempts != 1 || r.Error != "" || r.Finished.IsZero() {
		t.Fatalf("result = %+v", r)
	}
	// Result on a finished task returns at once.
	if r2 := waitResult(t, q, id); r2.State != Done {
		t.Fatalf("second result = %+v", r2)
	}
	waitFor(t, 5*time.Second, "OnDone", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ended) == 1
	})
	if ended[0].ID != id || ended[0].State != Done {
		t.Fatalf("OnDone got %+v", ended[0])
	}
}

func TestManyTasksManyWorkers(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "many", QueueConfig{Workers: 8})
	var running, peak, ran atomic.Int32
	q.Handle("t", func(ctx context.Context, task *Task) ([]byte, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
		ran.Add(1)
		return nil, nil
	})
	start(t, q)
	const n = 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = enqueue(t, q, "t", fmt.Sprint(i), nil)
	}
	for _, id := range ids {
		if r := waitResult(t, q, id); r.State != Done {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	if got := ran.Load(); got != n {
		t.Errorf("ran %d tasks, want %d", got, n)
	}
	if p := peak.Load(); p > 8 || p < 2 {
		t.Errorf("peak concurrency %d, want 2..8", p)
	}
}

func TestUnknownTask(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "unknown", QueueConfig{Backoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	q.Handle("known", echo)
	start(t, q)
	id := enqueue(t, q, "nope", "x", nil) // the queue's 3 retries
	r := waitResult(t, q, id)
	if r.State != Dead || r.Attempts != 4 || !strings.Contains(r.Error, `no handler for task "nope"`) {
		t.Fatalf("result = %+v", r)
	}
}

func TestPanickingHandler(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "panics", QueueConfig{Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	var calls atomic.Int32
	q.Handle("boom", func(ctx context.Context, t *Task) ([]byte, error) {
		if calls.Add(1) == 1 || string(t.Payload) == "always" {
			panic("kaboom")
		}
		return []byte("ok"), nil
	})
	start(t, q)
	// Once: the retry succeeds.
	r := waitResult(t, q, enqueue(t, q, "boom", "once", nil))
	if r.State != Done || r.Attempts != 2 {
		t.Fatalf("result = %+v", r)
	}
	// Always, no retry: dead with the panic as its error.
	none := 0
	r = waitResult(t, q, enqueue(t, q, "boom", "always", &EnqueueOptions{MaxRetries: &none}))
	if r.State != Dead || r.Attempts != 1 || !strings.Contains(r.Error, "panicked: kaboom") {
		t.Fatalf("result = %+v", r)
	}
}

func TestPermanentError(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "permanent", QueueConfig{})
	q.Handle("decode", func(ctx context.Context, t *Task) ([]byte, error) {
		if !strings.HasPrefix(string(t.Payload), "{") {
			return nil, Permanent(fmt.Errorf("decode payload: %q is not JSON", t.Payload))
		}
		return nil, nil
	})
	start(t, q)
	id := enqueue(t, q, "decode", "garbage", nil)
	r := waitResult(t, q, id)
	if r.State != Failed || r.Attempts != 1 || r.Error != `decode payload: "garbage" is not JSON` {
		t.Fatalf("result = %+v", r)
	}
	dead, err := q.Dead(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].ID != id || dead[0].State != Failed || string(dead[0].Payload) != "garbage" {
		t.Fatalf("dead = %+v", dead)
	}
}

func TestStatusUnknown(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "unknownid", QueueConfig{})
	for _, id := range []string{"nosuchid", "", "bad id!", strings.Repeat("x", 100)} {
		if _, err := q.Status(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Status(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := q.Result(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Result(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestStats(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "stats", QueueConfig{Workers: 2})
	q.Handle("ok", echo)
	q.Handle("bad", func(context.Context, *Task) ([]byte, error) { return nil, Permanent(errors.New("no")) })
	none := 0
	var ids []string
	for range 3 {
		ids = append(ids, enqueue(t, q, "ok", "", nil))
	}
	ids = append(ids, enqueue(t, q, "bad", "", nil))
	ids = append(ids, enqueue(t, q, "nohandler", "", &EnqueueOptions{MaxRetries: &none}))
	start(t, q)
	for _, id := range ids {
		waitResult(t, q, id)
	}
	// Not due yet: pending.
	enqueue(t, q, "ok", "", &EnqueueOptions{Delay: time.Hour})

	st, err := q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		Counts: Counts{Pending: 1, Done: 3, Failed: 1, Dead: 1},
		Tasks: map[string]Counts{
			"ok":        {Pending: 1, Done: 3},
			"bad":       {Failed: 1},
			"nohandler": {Dead: 1},
		},
	}
	if fmt.Sprint(st) != fmt.Sprint(want) {
		t.Fatalf("stats = %+v\nwant    %+v", st, want)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := testEngine(t, Config{Registerer: reg})
	// A second engine on the same registry shares the metrics.
	testEngine(t, Config{Registerer: reg})
	q := testQueue(t, e, "metrics", QueueConfig{Backoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	var calls atomic.Int32
	q.Handle("flaky", func(context.Context, *Task) ([]byte, error) {
		if calls.Add(1) == 1 {
			return nil, errors.New("first time")
		}
		return nil, nil
	})
	start(t, q)
	waitResult(t, q, enqueue(t, q, "flaky", "", nil))
	none := 0
	waitResult(t, q, enqueue(t, q, "ghost", "", &EnqueueOptions{MaxRetries: &none}))

	// A result is stored before its attempt acks NATS and counts
	// itself, and the running gauge drops after that: a scrape right
	// after a result may precede them, so wait for the counts to land.
	for _, c := range []struct {
		task, outcome string
		want          float64
	}{
		{"flaky", outcomeRetry, 1},
		{"flaky", outcomeDone, 1},
		{"ghost", outcomeDead, 1},
	} {
		what := fmt.Sprintf("tasks_total{task=%s,outcome=%s} = %v", c.task, c.outcome, c.want)
		waitFor(t, 5*time.Second, what, func() bool {
			return testutil.ToFloat64(e.metrics.tasks.WithLabelValues("metrics", c.task, c.outcome)) == c.want
		})
	}
	waitFor(t, 5*time.Second, "running = 0", func() bool {
		return testutil.ToFloat64(e.metrics.running.WithLabelValues("metrics")) == 0
	})
	// No other outcome was counted.
	if got := testutil.CollectAndCount(e.metrics.tasks); got != 3 {
		t.Errorf("%d tasks_total series, want 3", got)
	}
}

func TestConfigErrors(t *testing.T) {
	ctx := context.Background()
	for _, cfg := range []Config{
		{},
		{URL: "nats://x", DataDir: "/tmp/x"},
		{URL: "nats://x", Listen: "127.0.0.1:0"},
		{DataDir: "/tmp/x", Namespace: "a-b"},
		{DataDir: "/tmp/x", Listen: "nohostport"},
		{DataDir: "/tmp/x", Replicas: 7},
	} {
		if _, err := Open(ctx, cfg); !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrInvalidName) {
			t.Errorf("Open(%+v) = %v, want a config error", cfg, err)
		}
	}

	e := testEngine(t, Config{})
	for _, name := range []string{"", "a.b", "a b", strings.Repeat("x", 65)} {
		if _, err := e.Queue(name, QueueConfig{}); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Queue(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	for _, cfg := range []QueueConfig{
		{Workers: -1},
		{Lease: time.Millisecond},
		{ResultTTL: time.Millisecond},
		{Backoff: time.Minute, MaxBackoff: time.Second},
		{Timeout: -time.Second},
	} {
		if _, err := e.Queue("q", cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Queue(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	q := testQueue(t, e, "q", QueueConfig{})
	if _, err := e.Queue("q", QueueConfig{}); !errors.Is(err, ErrDuplicateQueue) {
		t.Errorf("second Queue(q) = %v, want ErrDuplicateQueue", err)
	}
	for _, c := range []struct {
		task string
		opts *EnqueueOptions
	}{
		{"", nil},
		{"with space", nil},
		{"t", &EnqueueOptions{Delay: -time.Second}},
		{"t", &EnqueueOptions{Delay: time.Second, At: time.Now().Add(time.Hour)}},
		{"t", &EnqueueOptions{Timeout: -time.Second}},
	} {
		if _, err := q.Enqueue(ctx, c.task, nil, c.opts); err == nil {
			t.Errorf("Enqueue(%q, %+v) succeeded", c.task, c.opts)
		}
	}
	mustPanic := func(what string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", what)
			}
		}()
		f()
	}
	q.Handle("h", echo)
	mustPanic("second handler", func() { q.Handle("h", echo) })
	mustPanic("nil handler", func() { q.Handle("n", nil) })
	mustPanic("bad task name", func() { q.Handle("a b", echo) })

	start(t, q)
	if err := q.Start(ctx); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Errorf("second Stop = %v", err)
	}
	if err := q.Start(ctx); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after Stop = %v, want ErrStopped", err)
	}
	select {
	case <-q.Stopped():
	default:
		t.Error("Stopped not closed after Stop")
	}
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, "t", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
	}
	if _, err := e.Queue("other", QueueConfig{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Queue after Close = %v, want ErrClosed", err)
	}
}

func TestTooLarge(t *testing.T) {
	e := testEngine(t, Config{})
	q := testQueue(t, e, "large", QueueConfig{})
	limit := e.maxValue()
	if _, err := q.Enqueue(context.Background(), "t", make([]byte, limit+1), nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Enqueue over the limit = %v, want ErrTooLarge", err)
	}
	q.Handle("t", func(_ context.Context, t *Task) ([]byte, error) {
		if string(t.Payload[:4]) == "huge" {
			return make([]byte, limit+1), nil
		}
		return t.Payload, nil
	})
	start(t, q)
	// The largest payload and result fit, and so does its dead letter.
	max := make([]byte, limit)
	if r := waitResult(t, q, enqueue(t, q, "t", string(max), nil)); r.State != Done || len(r.Value) != limit {
		t.Fatalf("largest result: state %s, %d bytes", r.State, len(r.Value))
	}
	huge := append([]byte("huge"), make([]byte, limit-4)...)
	r := waitResult(t, q, enqueue(t, q, "t", string(huge), nil))
	if r.State != Failed || !strings.Contains(r.Error, "over the limit") {
		t.Fatalf("result = %+v", r)
	}
	dead, err := q.Dead(context.Background())
	if err != nil || len(dead) != 1 || len(dead[0].Payload) != limit {
		t.Fatalf("dead letters: %d, %v", len(dead), err)
	}
}

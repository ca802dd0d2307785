package junction

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/wamp"
)

type video struct {
	Title string `json:"title"`
	Secs  int    `json:"secs"`
}

func TestQueueTasksThroughTheApp(t *testing.T) {
	dir := t.TempDir()
	app, logs := newTestApp(t, "shop", WithSettings(func(s *Settings) { s.DataDir = dir }))
	q := app.Queue("videos", Workers(4), MaxRetries(1), Backoff(10*time.Millisecond, 20*time.Millisecond))
	q.Task("encode", func(ctx context.Context, v video) (string, error) {
		if AppFrom(ctx) != app {
			return "", errors.New("no app in the task's ctx")
		}
		return v.Title + ".mp4", nil
	})
	q.Task("explode", func(v video) error { panic("encoder crashed on " + v.Title) })
	q.Task("fail", func() error { return errors.New("disk full") })
	startApp(t, app)
	// One budget for the whole sequence below, generous because a busy CI
	// machine can take seconds per retry; it only bounds a hang.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id, err := q.Enqueue(ctx, "encode", video{Title: "cats", Secs: 30})
	if err != nil {
		t.Fatal(err)
	}
	res, err := q.Result(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != queue.Done || res.Value != "cats.mp4" || res.Attempts != 1 {
		t.Fatalf("encode result = %+v", res)
	}

	// A payload that does not fit the handler fails at once, no retry.
	id = mustEnqueue(t, q, ctx, "encode", "not a video")
	res = mustResult(t, q, ctx, id)
	if res.State != queue.Failed || res.Attempts != 1 || !strings.Contains(res.Error, "argument 0: want junction.video") {
		t.Fatalf("bad payload result = %+v", res)
	}
	// A panic is an error: retried once, then dead, logged and counted.
	id = mustEnqueue(t, q, ctx, "explode", video{Title: "dogs"})
	res = mustResult(t, q, ctx, id)
	if res.State != queue.Dead || res.Attempts != 2 || !strings.Contains(res.Error, "encoder crashed on dogs") {
		t.Fatalf("panicking task result = %+v", res)
	}
	if n := testutil.ToFloat64(app.metrics.panics.WithLabelValues("task")); n != 2 {
		t.Fatalf("task panics counted = %v", n)
	}
	if !strings.Contains(logs.String(), "encoder crashed on dogs") {
		t.Fatal("task panic not logged")
	}
	// Per-enqueue options: no retry for this one.
	id = mustEnqueue(t, q, ctx, "fail", nil, MaxRetries(0))
	res = mustResult(t, q, ctx, id)
	if res.State != queue.Dead || res.Attempts != 1 || res.Error != "disk full" {
		t.Fatalf("failing task result = %+v", res)
	}
	// Deduplication.
	a := mustEnqueue(t, q, ctx, "encode", video{Title: "x"}, DedupID("upload-7"))
	b := mustEnqueue(t, q, ctx, "encode", video{Title: "x"}, DedupID("upload-7"))
	if a != b {
		t.Fatalf("same DedupID gave two tasks %s and %s", a, b)
	}
	// Options that do not apply are errors.
	if _, err := q.Enqueue(ctx, "encode", nil, Workers(3)); err == nil || !strings.Contains(err.Error(), "option Workers does not apply to Enqueue") {
		t.Fatalf("Enqueue with Workers: %v", err)
	}

	// The same queue through WAMP, as any client sees it.
	s := dial(t, wsURL(app))
	r, err := s.Call(ctx, "junction.queue.videos.enqueue", wamp.List{"encode", wamp.Dict{"title": "birds"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	wid, _ := r.ArgString(0)
	r, err = s.Call(ctx, "junction.queue.videos.result", wamp.List{wid}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := r.Arg(0).(wamp.Dict); d["state"] != "done" || d["value"] != "birds.mp4" {
		t.Fatalf("result through WAMP = %v", r.Args)
	}
	r, err = s.Call(ctx, "junction.queue.videos.stats", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := r.Arg(0).(wamp.Dict)
	if done, _ := wamp.AsInt64(stats["done"]); done < 2 {
		t.Fatalf("stats = %v", stats)
	}
	r, err = s.Call(ctx, "junction.queue.videos.dead", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dead, _ := r.Arg(0).(wamp.List); len(dead) != 3 {
		t.Fatalf("dead letters = %v, want the bad payload, the panic and the failure", r.Args)
	}
	_, err = s.Call(ctx, "junction.queue.videos.result", wamp.List{"no-such-id"}, wamp.Dict{"wait": false}, nil)
	if !errors.Is(err, Error("junction.error.no_such_task")) {
		t.Fatalf("result of an unknown id: %v", err)
	}
	_, err = s.Call(ctx, "junction.queue.videos.enqueue", wamp.List{"encode", nil}, wamp.Dict{"delay": 5}, nil)
	if !errors.Is(err, wamp.ErrInvalidArgument) || !strings.Contains(err.Error(), `unknown option "delay"`) {
		t.Fatalf("enqueue with an unknown option: %v", err)
	}
}

func TestQueueOnDoneEvents(t *testing.T) {
	dir := t.TempDir()
	app, _ := newTestApp(t, "ev", WithSettings(func(s *Settings) { s.DataDir = dir }))
	q := app.Queue("jobs")
	q.Task("hello", func(name string) string { return "hello " + name })
	startApp(t, app)
	s := dial(t, wsURL(app))
	done := make(chan *client.Event, 1)
	if _, err := s.Subscribe(testCtx(t), "junction.queue.jobs.on_done", func(_ context.Context, e *client.Event) { done <- e }, nil); err != nil {
		t.Fatal(err)
	}
	id, err := q.Enqueue(testCtx(t), "hello", "ann", Delay(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case e := <-done:
		d, _ := e.Arg(0).(wamp.Dict)
		if d["id"] != id || d["state"] != "done" || d["value"] != "hello ann" {
			t.Fatalf("on_done = %v", e.Args)
		}
		if time.Since(start) < 900*time.Millisecond {
			t.Fatalf("a task delayed by 1s ran after %v", time.Since(start))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no on_done event")
	}
}

func TestCronJobsRunAreListedAndCounted(t *testing.T) {
	app, _ := newTestApp(t, "crony")
	ticks := make(chan time.Time, 100)
	app.Every(100*time.Millisecond, func(ctx context.Context) error {
		if AppFrom(ctx) == nil {
			return errors.New("no app in the job's ctx")
		}
		ticks <- time.Now()
		return nil
	}, JobName("tick"))
	app.Every(100*time.Millisecond, func(ctx context.Context) error { return errors.New("backend down") }, JobName("broken"))
	app.Cron("@every 1h", func(ctx context.Context) error { return nil }, JobName("hourly"), NoOverlap(), Jitter(time.Second))
	startApp(t, app)
	for range 3 {
		select {
		case <-ticks:
		case <-time.After(5 * time.Second):
			t.Fatal("the job did not tick")
		}
	}
	waitFor(t, func() bool { return testutil.ToFloat64(app.metrics.errors.WithLabelValues("job")) >= 2 })

	s := dial(t, wsURL(app))
	r, err := s.Call(testCtx(t), "junction.cron.list", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := r.Arg(0).(wamp.List)
	byName := map[string]wamp.Dict{}
	for _, j := range jobs {
		d, _ := j.(wamp.Dict)
		name, _ := d["name"].(string)
		byName[name] = d
	}
	if len(byName) != 3 {
		t.Fatalf("junction.cron.list = %v", jobs)
	}
	if runs, _ := wamp.AsInt64(byName["tick"]["runs"]); runs < 3 {
		t.Errorf("tick runs = %v", byName["tick"]["runs"])
	}
	if byName["broken"]["last_result"] != "backend down" {
		t.Errorf("broken last_result = %v", byName["broken"]["last_result"])
	}
	if byName["hourly"]["next"] == nil || byName["hourly"]["schedule"] != "@every 1h" {
		t.Errorf("hourly = %v", byName["hourly"])
	}
}

func TestBadJobsAreSetupErrors(t *testing.T) {
	app, _ := newTestApp(t, "badcron")
	app.Cron("61 * * * *", func(context.Context) error { return nil }, JobName("bad"))
	app.Every(time.Second, func(context.Context) error { return nil }, Workers(2))
	err := app.Start(testCtx(t))
	if err == nil {
		app.Shutdown(testCtx(t))
		t.Fatal("Start accepted a bad cron spec")
	}
	for _, want := range []string{`cron job bad`, `61`, "option Workers does not apply to jobs"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start error %q lacks %q", err, want)
		}
	}
}

func TestMetricsEndpointServesAppAndRouterMetrics(t *testing.T) {
	app, _ := newTestApp(t, "metered")
	app.Every(time.Hour, func(context.Context) error { return nil }, JobName("hourly"))
	app.Register("boom", func() { panic("x") })
	startApp(t, app)
	app.Call(testCtx(t), "boom")
	resp, err := http.Get("http://" + app.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`junction_app_handler_panics_total{kind="call"} 1`,
		"junction_router_sessions",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func mustEnqueue(t *testing.T, q *Queue, ctx context.Context, task string, payload any, opts ...Option) string {
	t.Helper()
	id, err := q.Enqueue(ctx, task, payload, opts...)
	if err != nil {
		t.Fatalf("Enqueue %s: %v", task, err)
	}
	return id
}

func mustResult(t *testing.T, q *Queue, ctx context.Context, id string) *TaskResult {
	t.Helper()
	res, err := q.Result(ctx, id)
	if err != nil {
		t.Fatalf("Result %s: %v", id, err)
	}
	return res
}

func TestQueueStatusAndPermanent(t *testing.T) {
	app, logs := newTestApp(t, "shop")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the app's logs:\n%s", logs.String())
		}
	})
	q := app.Queue("jobs", MaxRetries(3), Backoff(10*time.Millisecond, 20*time.Millisecond))
	release := make(chan struct{})
	q.Task("slow", func() string { <-release; return "ok" })
	q.Task("hopeless", func() error { return Permanent(errors.New("no such customer")) })
	startApp(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Status answers at once, whatever the task's state.
	id := mustEnqueue(t, q, ctx, "slow", nil)
	st, err := q.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != id || st.State.Final() || st.Value != nil {
		t.Fatalf("status of a task that cannot have ended: %+v", st)
	}
	close(release)
	if res := mustResult(t, q, ctx, id); res.State != queue.Done || res.Value != "ok" {
		t.Fatalf("result = %+v", res)
	}
	if st, err = q.Status(ctx, id); err != nil || st.State != queue.Done || st.Value != "ok" {
		t.Fatalf("status of an ended task = %+v, %v", st, err)
	}
	if _, err := q.Status(ctx, "unknown"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("status of an unknown id: %v", err)
	}

	// junction.Permanent fails the task at once, retries left or not.
	res := mustResult(t, q, ctx, mustEnqueue(t, q, ctx, "hopeless", nil))
	if res.State != queue.Failed || res.Attempts != 1 || res.Error != "no such customer" {
		t.Fatalf("permanent failure = %+v", res)
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}

// TestEmptyListsAndZeroTimesOverWAMP: a WAMP client gets [] for an empty
// list, not null, and no zero times for what never happened.
func TestEmptyListsAndZeroTimesOverWAMP(t *testing.T) {
	app, _ := newTestApp(t, "shop")
	app.Queue("jobs").Task("nop", func() {})
	app.Every(time.Hour, func(context.Context) error { return nil })
	startApp(t, app)
	s := dial(t, wsURL(app))
	r, err := s.Call(testCtx(t), "junction.queue.jobs.dead", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := r.Arg(0).(wamp.List); !ok || l == nil || len(l) != 0 {
		t.Errorf("dead letters of an empty queue = %#v, want []", r.Arg(0))
	}
	r, err = s.Call(testCtx(t), "junction.cron.list", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs, _ := r.Arg(0).(wamp.List)
	if len(jobs) != 1 {
		t.Fatalf("junction.cron.list = %v", r.Args)
	}
	job, _ := jobs[0].(wamp.Dict)
	for _, absent := range []string{"last_run", "last_duration", "last_result"} {
		if v, ok := job[absent]; ok {
			t.Errorf("a job that never ran has %s = %v", absent, v)
		}
	}
	if job["next"] == nil || job["name"] != "every 1h0m0s" {
		t.Errorf("job = %v", job)
	}
	if b, err := json.Marshal(New("idle").Jobs()); err != nil || string(b) != "[]" {
		t.Errorf("Jobs() of an app without jobs marshals to %s (%v)", b, err)
	}
}

func hourlyReport(context.Context) error { return nil }

func TestJobsHaveReadableDefaultNames(t *testing.T) {
	app, _ := newTestApp(t, "crony")
	nop := func(context.Context) error { return nil }
	app.Every(time.Hour, nop)
	app.Every(time.Hour, func(context.Context) error { return nil })
	app.Cron("0 9 * * 1", nop)
	app.At(time.Date(2099, 1, 2, 9, 0, 0, 0, time.UTC), nop)
	app.Every(time.Minute, hourlyReport)
	app.Every(time.Minute, nop, JobName("mine"))
	startApp(t, app)
	var names []string
	for _, j := range app.Jobs() {
		names = append(names, j.Name)
	}
	want := []string{"at 2099-01-02T09:00:00Z", "cron 0 9 * * 1", "every 1h0m0s", "every 1h0m0s #2", "hourlyReport", "mine"}
	if !slices.Equal(names, want) {
		t.Fatalf("job names %q, want %q", names, want)
	}
}

package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// waitTimeout bounds every wait for something to happen.
const waitTimeout = 20 * time.Second

// harness is a router with an open realm, a queue engine in a temporary
// data dir, a dispatcher of cfg's hooks and a session that publishes.
type harness struct {
	t   *testing.T
	rt  *router.Router
	d   *Dispatcher
	pub *client.Session
	reg *prometheus.Registry
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	discard := slog.New(slog.DiscardHandler)
	rt, err := router.New(router.Config{Realms: []string{"realm1"}, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	eng, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir(), Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	cfg.Logger, cfg.Registerer = discard, reg
	// Fast retries: the tests wait for outcomes, not for time.
	cfg.Backoff, cfg.MaxBackoff = cmpOr(cfg.Backoff, 10*time.Millisecond), cmpOr(cfg.MaxBackoff, 50*time.Millisecond)
	d, err := New(rt, eng, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := d.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		if err := eng.Close(ctx); err != nil {
			t.Errorf("engine close: %v", err)
		}
		rt.Stop(ctx)
	})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	peer, err := rt.LocalPeer()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := client.Join(ctx, peer, client.Config{Realm: "realm1", Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close(context.Background()) })
	return &harness{t: t, rt: rt, d: d, pub: pub, reg: reg}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// publish publishes with acknowledgement, so that the router has routed
// the event to the dispatcher's session when it returns.
func (h *harness) publish(topic string, args wamp.List, kwargs wamp.Dict) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if _, err := h.pub.Publish(ctx, wamp.URI(topic), args, kwargs, &client.PublishOptions{Acknowledge: true, DiscloseMe: true}); err != nil {
		h.t.Fatal(err)
	}
}

// waitFor polls cond until it holds, or fails the test after waitTimeout.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; status %+v", what, h.d.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) status(name string) Status {
	for _, s := range h.d.Status() {
		if s.Name == name {
			return s
		}
	}
	h.t.Fatalf("no hook %s", name)
	return Status{}
}

// request is a request an endpoint received.
type request struct {
	header http.Header
	body   []byte
}

// endpoint is an HTTP server on loopback that records its requests and
// answers with answer(n), n counting requests from 1.
type endpoint struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
	got  chan struct{} // a token per request, unbounded by the test's needs
}

func newEndpoint(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *endpoint {
	e := &endpoint{got: make(chan struct{}, 1000)}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("endpoint: %v", err)
		}
		e.mu.Lock()
		e.reqs = append(e.reqs, request{r.Header.Clone(), body})
		n := len(e.reqs)
		e.mu.Unlock()
		e.got <- struct{}{}
		answer(n, w, r)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) requests() []request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]request(nil), e.reqs...)
}

func ok(int, http.ResponseWriter, *http.Request) {}

func TestDeliver(t *testing.T) {
	ep := newEndpoint(t, ok)
	h := newHarness(t, Config{Hooks: []Hook{{Name: "news", Topic: "com.ex.news", URL: ep.URL + "/hook",
		Headers: map[string]string{"Authorization": "Bearer xyz"}, Secret: "s3cret"}}})
	h.publish("com.ex.news", wamp.List{int64(1), "two"}, wamp.Dict{"k": "v"})
	h.waitFor("a delivery", func() bool { return h.status("news").Delivered == 1 })

	reqs := ep.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	var body struct {
		Hook        string         `json:"hook"`
		Topic       string         `json:"topic"`
		Publication int64          `json:"publication"`
		Args        []any          `json:"args"`
		Kwargs      map[string]any `json:"kwargs"`
		Details     map[string]any `json:"details"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	if body.Hook != "news" || body.Topic != "com.ex.news" || body.Publication == 0 || len(body.Args) != 2 ||
		body.Args[0] != float64(1) || body.Args[1] != "two" || body.Kwargs["k"] != "v" || body.Details["publisher"] == nil {
		t.Errorf("body %s", r.body)
	}
	for k, want := range map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer xyz", HeaderHook: "news", HeaderAttempt: "1",
		HeaderSignature: Signature("s3cret", r.body),
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s: %q, want %q", k, got, want)
		}
	}
	if r.header.Get(HeaderDelivery) == "" {
		t.Error("no delivery id")
	}
	st := h.status("news")
	if st.Failed != 0 || st.Dead != 0 || st.LastStatus != 200 || st.LastError != "" || st.LastDelivery.IsZero() || st.URL != ep.URL+"/hook" || st.Match != "exact" {
		t.Errorf("status %+v", st)
	}
	if n := testutil.ToFloat64(metric(h, "news", "delivered")); n != 1 {
		t.Errorf("metric delivered: %v", n)
	}
	// Status is what the web admin shows: snake_case JSON.
	b, err := json.Marshal(h.d.Status())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"name":"news"`, `"last_status":200`, `"delivered":1`, `"last_delivery":"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("status JSON %s lacks %s", b, key)
		}
	}
}

func metric(h *harness, hook, outcome string) prometheus.Collector {
	h.t.Helper()
	m, err := newMetrics(h.reg) // the dispatcher's, shared
	if err != nil {
		h.t.Fatal(err)
	}
	return m.deliveries.WithLabelValues(hook, outcome)
}

// TestRetry: an endpoint that fails twice, then answers: the event is
// delivered once, on the third attempt, with the same delivery id.
func TestRetry(t *testing.T) {
	ep := newEndpoint(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			http.Error(w, "not yet", http.StatusInternalServerError)
		}
	})
	h := newHarness(t, Config{Hooks: []Hook{{Name: "flaky", Topic: "com.ex.flaky", URL: ep.URL}}})
	h.publish("com.ex.flaky", wamp.List{"x"}, nil)
	h.waitFor("a delivery", func() bool { return h.status("flaky").Delivered == 1 })
	st := h.status("flaky")
	if st.Failed != 2 || st.Dead != 0 || st.LastStatus != 200 || st.LastError != "" {
		t.Errorf("status %+v", st)
	}
	reqs := ep.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.header.Get(HeaderAttempt) != strconv.Itoa(i+1) || r.header.Get(HeaderDelivery) != reqs[0].header.Get(HeaderDelivery) ||
			string(r.body) != string(reqs[0].body) {
			t.Errorf("request %d: %v %s", i, r.header, r.body)
		}
	}
	if n := testutil.ToFloat64(metric(h, "flaky", "failed")); n != 2 {
		t.Errorf("metric failed: %v", n)
	}
}

// TestDeadAndRequeue: an endpoint that fails every attempt ends in the
// dead letters; requeued once it answers again, the event is delivered.
func TestDeadAndRequeue(t *testing.T) {
	var up atomic.Bool
	ep := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	})
	h := newHarness(t, Config{Hooks: []Hook{{Name: "down", Topic: "com.ex.down", URL: ep.URL, MaxAttempts: 3}}})
	h.publish("com.ex.down", wamp.List{"lost?"}, nil)
	h.waitFor("a dead letter", func() bool { return h.status("down").Dead == 1 })
	st := h.status("down")
	if st.Failed != 3 || st.Delivered != 0 || st.LastStatus != 503 || !strings.Contains(st.LastError, "503") {
		t.Errorf("status %+v", st)
	}
	if n := len(ep.requests()); n != 3 {
		t.Errorf("%d requests, want 3 (max_attempts)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	dead, err := h.d.Queue().Dead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Name != "deliver.down" || dead[0].Attempts != 3 || !strings.Contains(string(dead[0].Payload), `"lost?"`) {
		t.Fatalf("dead letters %+v", dead)
	}

	up.Store(true)
	if err := h.d.Queue().Requeue(ctx, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the requeued delivery", func() bool { return h.status("down").Delivered == 1 })
	reqs := ep.requests()
	last := reqs[len(reqs)-1]
	if len(reqs) != 4 || last.header.Get(HeaderDelivery) != dead[0].ID || !strings.Contains(string(last.body), `"lost?"`) {
		t.Errorf("after the requeue: %d requests, last %v %s", len(reqs), last.header, last.body)
	}
	if dead, err := h.d.Queue().Dead(ctx); err != nil || len(dead) != 0 {
		t.Errorf("dead letters after the requeue: %v %v", dead, err)
	}
	if n := testutil.ToFloat64(metric(h, "down", "dead")); n != 1 {
		t.Errorf("metric dead: %v", n)
	}
}

// TestSlowEndpoint: while an endpoint holds every request, publications
// are acknowledged and another subscriber gets every event; once it
// answers, every event is delivered.
func TestSlowEndpoint(t *testing.T) {
	release := make(chan struct{})
	ep := newEndpoint(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	h := newHarness(t, Config{Workers: 1, Hooks: []Hook{{Name: "slow", Topic: "com.ex.slow", URL: ep.URL, Timeout: time.Minute}}})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	const n = 200
	events := make(chan int64, n)
	peer, err := h.rt.LocalPeer()
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.Join(ctx, peer, client.Config{Realm: "realm1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	if _, err := other.Subscribe(ctx, "com.ex.slow", func(_ context.Context, e *client.Event) {
		i, _ := wamp.AsInt64(e.Arg(0))
		events <- i
	}, nil); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h.publish("com.ex.slow", wamp.List{int64(i)}, nil)
	}
	// The endpoint has the first request and holds it.
	select {
	case <-ep.got:
	case <-ctx.Done():
		t.Fatal("no request reached the endpoint")
	}
	for i := range n {
		select {
		case got := <-events:
			if got != int64(i) {
				t.Fatalf("event %d, want %d", got, i)
			}
		case <-ctx.Done():
			t.Fatalf("the other subscriber got %d events of %d while the endpoint hung", i, n)
		}
	}
	if st := h.status("slow"); st.Delivered != 0 || st.Dropped != 0 {
		t.Fatalf("before the endpoint answers: %+v", st)
	}
	// Every event is queued meanwhile.
	h.waitFor("every event queued", func() bool {
		st, err := h.d.Queue().Stats(ctx)
		return err == nil && st.Pending+st.Running == n
	})
	close(release)
	h.waitFor("every delivery", func() bool { return h.status("slow").Delivered == n })
	if st := h.status("slow"); st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("status %+v", st)
	}
}

// TestPrefixMatch: a prefix hook gets every topic under it, with the
// topic published to; an exact one only its own.
func TestPrefixMatch(t *testing.T) {
	ep := newEndpoint(t, ok)
	h := newHarness(t, Config{Hooks: []Hook{
		{Name: "all-orders", Topic: "com.shop.order.", Match: "prefix", URL: ep.URL + "/all"},
		{Topic: "com.shop.order.paid", URL: ep.URL + "/paid"},
	}})
	for _, topic := range []string{"com.shop.order.created", "com.shop.order.paid", "com.shop.order.eu.shipped", "com.shop.user.created"} {
		h.publish(topic, nil, nil)
	}
	h.waitFor("deliveries", func() bool {
		return h.status("all-orders").Delivered == 3 && h.status("com.shop.order.paid").Delivered == 1
	})
	topics := map[string][]string{}
	for _, r := range ep.requests() {
		var body struct {
			Hook, Topic string
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		topics[body.Hook] = append(topics[body.Hook], body.Topic)
	}
	if got := strings.Join(topics["all-orders"], " "); len(topics["all-orders"]) != 3 || strings.Contains(got, "user") {
		t.Errorf("prefix hook got %v", topics["all-orders"])
	}
	if got := topics["com.shop.order.paid"]; len(got) != 1 || got[0] != "com.shop.order.paid" {
		t.Errorf("exact hook got %v", got)
	}
}

func TestLifecycle(t *testing.T) {
	ep := newEndpoint(t, ok)
	h := newHarness(t, Config{Hooks: []Hook{{Topic: "com.ex.a", URL: ep.URL}}})
	ctx := context.Background()
	if err := h.d.Start(ctx); err != ErrStarted {
		t.Errorf("second start: %v", err)
	}
	if err := h.d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.d.Stopped():
	default:
		t.Error("Stopped not closed after Stop")
	}
	if err := h.d.Stop(ctx); err != nil {
		t.Errorf("second stop: %v", err)
	}
	if err := h.d.Start(ctx); err != ErrStopped {
		t.Errorf("start after stop: %v", err)
	}
}

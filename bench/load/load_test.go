package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// startRouter serves a router on a loopback WebSocket URL for the test.
func startRouter(t *testing.T) string {
	t.Helper()
	r, err := router.New(router.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// testOptions are the CLI's defaults, scaled down, against url.
func testOptions(t *testing.T, url string, args ...string) *options {
	t.Helper()
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(append([]string{"-url", url, "-duration", "300ms", "-drain", "3s"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	return &o
}

func TestPubSub(t *testing.T) {
	url := startRouter(t)
	for _, ser := range []string{"json", "msgpack", "cbor"} {
		t.Run(ser, func(t *testing.T) {
			o := testOptions(t, url, "-mode", "pubsub", "-serializer", ser, "-subs", "5", "-pubs", "2", "-ack-every", "10")
			res, err := runPubSub(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Published == 0 {
				t.Fatal("nothing published")
			}
			if res.Delivered != res.Published*5 || res.Lost != 0 || res.Expected != res.Delivered {
				t.Errorf("published %d to 5 subscribers: delivered %d, expected %d, lost %d",
					res.Published, res.Delivered, res.Expected, res.Lost)
			}
			if res.Latency.Samples != uint64(res.Delivered) {
				t.Errorf("latency samples %d, want one per delivery (%d)", res.Latency.Samples, res.Delivered)
			}
			// Each of the 2 publishers numbers its own publishes and asks
			// for every 10th, so the total asked for is Published/10 less
			// up to one per publisher but the first; and each may still
			// wait for maxAcksOutstanding of them at the end.
			const pubs = 2
			if want := res.Published / 10; res.Acked > want || res.Acked < want-(pubs-1)-pubs*maxAcksOutstanding {
				t.Errorf("acked %d of %d publishes from %d publishers with -ack-every 10", res.Acked, res.Published, pubs)
			}
			if res.Disconnects != 0 || len(res.Errors) != 0 {
				t.Errorf("disconnects %d, errors %v", res.Disconnects, res.Errors)
			}
			if res.FanOut != nil {
				t.Errorf("a fan-out report without -rate: %+v", res.FanOut)
			}
		})
	}
}

func TestPubSubRate(t *testing.T) {
	o := testOptions(t, startRouter(t), "-mode", "pubsub", "-subs", "3", "-pubs", "2", "-rate", "100")
	res, err := runPubSub(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// 100/s each for 300 ms: about 60, never more than the schedule allows.
	if res.Published == 0 || res.Published > 62 {
		t.Errorf("published %d at 2 × 100/s in 300ms", res.Published)
	}
	if res.Delivered != res.Published*3 {
		t.Errorf("delivered %d, want %d", res.Delivered, res.Published*3)
	}
	// With a rate, each publication's first and last delivery.
	f := res.FanOut
	if f == nil {
		t.Fatal("no fan-out report with -rate")
	}
	if f.First.Samples != uint64(res.Published) || f.Last.Samples != uint64(res.Published) {
		t.Errorf("fan-out of %d and %d publications, want %d", f.First.Samples, f.Last.Samples, res.Published)
	}
	if f.First.P50 <= 0 || f.First.P50 > f.Last.P50 || f.First.Max > f.Last.Max || f.Last.Max > res.Latency.Max {
		t.Errorf("fan-out %+v against latency %+v", f, res.Latency)
	}
	var out bytes.Buffer
	res.summary(&out)
	if !strings.Contains(out.String(), "fan-out     first delivery p50") {
		t.Errorf("summary without the fan-out line:\n%s", out.String())
	}
}

// TestFanTable: a publication keeps its fastest and slowest delivery;
// numbers outside the table are ignored.
func TestFanTable(t *testing.T) {
	o := &options{Rate: 10, Duration: time.Second, Pubs: 1}
	tab := newFanTable(o)
	if len(tab) != 12 {
		t.Fatalf("table of %d for 10/s over 1s, want 12", len(tab))
	}
	for _, ns := range []int64{500, 200, 900, 300} {
		tab.record(1, ns)
	}
	tab.record(3, 0) // a clock that did not move still counts
	tab.record(0, 5)
	tab.record(13, 5)
	f := tab.summary(3)
	if f.First.Samples != 2 || f.Last.Samples != 2 {
		t.Fatalf("%d and %d publications recorded, want 2", f.First.Samples, f.Last.Samples)
	}
	if got, want := f.Last.Max, 900e-6; got != want {
		t.Errorf("slowest last delivery %v ms, want %v", got, want)
	}
	if got, want := tab[0].first.Load(), int64(200); got != want {
		t.Errorf("first delivery of publication 1: %d ns, want %d", got, want)
	}
	if newFanTable(&options{Duration: time.Second, Pubs: 1}) != nil {
		t.Error("a table without -rate")
	}
}

func TestRPC(t *testing.T) {
	for _, ser := range []string{"json", "msgpack", "cbor"} {
		t.Run(ser, func(t *testing.T) {
			// A router each: the last run's registrations go away only
			// once the router has read the closes.
			url := startRouter(t)
			o := testOptions(t, url, "-mode", "rpc", "-serializer", ser, "-callees", "2", "-callers", "3", "-inflight", "4")
			o.PID = os.Getpid() // the router runs in this process
			res, err := runRPC(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Results == 0 || res.ErrorCount != 0 || res.Unanswered != 0 || res.Disconnects != 0 {
				t.Fatalf("results %d, errors %v, unanswered %d, disconnects %d",
					res.Results, res.Errors, res.Unanswered, res.Disconnects)
			}
			if res.Calls != res.Results || res.Invocations != res.Calls || res.Latency.Samples != uint64(res.Results) {
				t.Errorf("calls %d, results %d, invocations %d, latency samples %d: want all equal",
					res.Calls, res.Results, res.Invocations, res.Latency.Samples)
			}
			if c := res.CPU; !c.RouterMeasured || c.Op != "call" || c.Ops != res.Results || c.RouterSeconds < 0 || c.LoadSeconds <= 0 || c.WallSeconds <= 0 || c.RouterCommand == "" {
				t.Errorf("CPU %+v: want the router measured and %d calls", c, res.Results)
			}
		})
	}
}

func TestRPCCountsErrors(t *testing.T) {
	url := startRouter(t)
	o := testOptions(t, url, "-mode", "rpc", "-callers", "1", "-inflight", "2")
	// Take the callee's procedure first: the run cannot start.
	p, err := open(context.Background(), o, o.URL, &wamp.Register{Request: 1, Procedure: procedure(0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runRPC(context.Background(), o); err == nil || !strings.Contains(err.Error(), string(wamp.URIProcedureAlreadyExists)) {
		t.Errorf("runRPC with the procedure taken: %v, want %s", err, wamp.URIProcedureAlreadyExists)
	}
	p.Close()
}

func TestIdle(t *testing.T) {
	o := testOptions(t, startRouter(t), "-mode", "idle", "-sessions", "20", "-settle", "50ms", "-pid", "1")
	o.PID = os.Getpid() // the router runs in this process
	res, err := runIdle(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sessions != 20 || res.Disconnects != 0 {
		t.Errorf("sessions %d, disconnects %d", res.Sessions, res.Disconnects)
	}
	if res.RouterRSSBefore <= 0 || res.RouterRSSAfter <= 0 || res.LoadRSS <= 0 {
		t.Errorf("RSS before %d, after %d, load %d: want all measured", res.RouterRSSBefore, res.RouterRSSAfter, res.LoadRSS)
	}
}

func TestConnectionFailureExits1(t *testing.T) {
	srv := httptest.NewServer(nil) // no WebSocket endpoint
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
	var out, errOut bytes.Buffer
	if code := run([]string{"-url", url, "-mode", "rpc", "-duration", "100ms"}, &out, &errOut); code != 1 {
		t.Errorf("exit %d, want 1; stderr: %s", code, errOut.String())
	}
}

func TestRunJSONLine(t *testing.T) {
	url := startRouter(t)
	var out, errOut bytes.Buffer
	code := run([]string{"-url", url, "-mode", "pubsub", "-subs", "2", "-duration", "100ms", "-json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var res pubsubResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not the JSON result: %v\n%s", err, out.String())
	}
	if res.Mode != "pubsub" || res.Delivered != 2*res.Published {
		t.Errorf("JSON result %+v", res)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "nope"},
		{"-duration", "3m"},
		{"-serializer", "xml"},
		{"-mode", "rpc", "-inflight", "0"},
		{"-floor", "-1"},
		{"-floor", "20001"},
		{"-mode", "idle", "-floor", "5"},
	} {
		if code := run(args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestParseJSONPair(t *testing.T) {
	for in, want := range map[string][2]int64{
		"[1,2]":                          {1, 2},
		" [ 42 , 1795000000000000000 ] ": {42, 1795000000000000000},
	} {
		a, b, ok := parseJSONPair([]byte(in))
		if !ok || a != want[0] || b != want[1] {
			t.Errorf("parseJSONPair(%q) = %d, %d, %v", in, a, b, ok)
		}
	}
	for _, in := range []string{"", "[]", "[1]", "[1,2", "[-1,2]", "[1.5,2]", "[1,99999999999999999999]", `["a",2]`} {
		if _, _, ok := parseJSONPair([]byte(in)); ok {
			t.Errorf("parseJSONPair(%q) succeeded", in)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h histogram
	for i := int64(1); i <= 1000; i++ {
		h.record(i * int64(time.Microsecond))
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}} {
		got := time.Duration(h.quantile(c.q))
		if d := got - c.want; d < -c.want/25 || d > c.want/25 {
			t.Errorf("quantile(%v) = %v, want %v ± 4%%", c.q, got, c.want)
		}
	}
	if l := h.latency(); l.P999 < l.P99 || l.Max != 1 || l.Samples != 1000 {
		t.Errorf("latency %+v: want p99.9 >= p99, max 1 ms, 1000 samples", l)
	}
	if h.max != int64(time.Millisecond) || h.n != 1000 {
		t.Errorf("max %d, n %d", h.max, h.n)
	}
	for _, v := range []int64{-5, 0, 63, 64, 1 << 39, 1 << 62} {
		if i := bucketOf(v); i < 0 || i >= histBuckets {
			t.Errorf("bucketOf(%d) = %d, out of range", v, i)
		}
	}
}

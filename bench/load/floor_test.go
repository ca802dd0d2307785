package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the floor probes' echo child, as the
// load tool's own binary is.
func TestMain(m *testing.M) {
	if code, child := floorChild(); child {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// checkFloor checks that both probes timed rounds round trips.
func checkFloor(t *testing.T, f *floorResult, rounds int) {
	t.Helper()
	if f == nil {
		t.Fatal("no floor report")
	}
	for name, l := range map[string]latency{"go": f.Go, "blocking": f.Blocking} {
		if l.Samples != uint64(rounds) {
			t.Errorf("%s probe: %d round trips, want %d", name, l.Samples, rounds)
		}
		if l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
			t.Errorf("%s probe: quantiles out of order: %+v", name, l)
		}
	}
}

func TestFloor(t *testing.T) {
	f, err := runFloor(context.Background(), 30, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	checkFloor(t, f, 30)
	if f.IntervalMS != 1 {
		t.Errorf("interval %v ms, want 1", f.IntervalMS)
	}
	var out bytes.Buffer
	f.summary(&out)
	for _, want := range []string{"floor       loopback round trip every 1.00 ms, Go net: p50", "blocking read(2) on locked threads: p50"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary without %q:\n%s", want, out.String())
		}
	}
}

// TestFloorEchoChildFails: a child that cannot echo fails the probe
// rather than hanging it or reporting nothing.
func TestFloorEchoChildFails(t *testing.T) {
	t.Setenv(floorEnv, "nope") // the child inherits it and refuses the probe
	if code, child := floorChild(); !child || code != 1 {
		t.Errorf("floorChild with an unknown probe: code %d, child %v; want 1, true", code, child)
	}
	_, err := probeFloor(context.Background(), "nope", 3, time.Millisecond)
	if err == nil {
		t.Fatal("a probe whose echo child refused to run reported no error")
	}
}

func TestFloorInterval(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{[]string{"-mode", "pubsub", "-rate", "200"}, 5 * time.Millisecond},
		{[]string{"-mode", "pubsub", "-rate", "1000"}, time.Millisecond},
		{[]string{"-mode", "pubsub"}, 5 * time.Millisecond},
		{[]string{"-mode", "rpc"}, 5 * time.Millisecond},
	} {
		o := testOptions(t, "ws://127.0.0.1:1/ws", c.args...)
		if got := o.floorInterval(); got != c.want {
			t.Errorf("%q: interval %v, want %v", c.args, got, c.want)
		}
	}
}

// TestPubSubAndRPCReportTheFloor: with -floor, both latency modes carry
// the probes in their summary and their JSON line.
func TestPubSubAndRPCReportTheFloor(t *testing.T) {
	url := startRouter(t)
	for _, mode := range []string{"pubsub", "rpc"} {
		t.Run(mode, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"-url", url, "-mode", mode, "-subs", "2", "-duration", "100ms",
				"-floor", "10", "-json"}, &out, &errOut)
			if code != 0 {
				t.Fatalf("exit %d; stderr: %s", code, errOut.String())
			}
			if !strings.Contains(out.String(), "  floor       loopback round trip every 5.00 ms") {
				t.Errorf("summary without the floor:\n%s", out.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var res struct {
				Mode  string       `json:"mode"`
				Floor *floorResult `json:"floor"`
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				t.Fatalf("last line is not the JSON result: %v\n%s", err, out.String())
			}
			if res.Mode != mode {
				t.Errorf("mode %q, want %q", res.Mode, mode)
			}
			checkFloor(t, res.Floor, 10)
		})
	}
}

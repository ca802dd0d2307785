package cron

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// counter returns junction_cron_runs_total{job,outcome}, 0 without
// metrics.
func counter(t *testing.T, s *Scheduler, job, outcome string) float64 {
	t.Helper()
	if s.metrics == nil {
		return 0
	}
	return testutil.ToFloat64(s.metrics.runs.WithLabelValues(job, outcome))
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, Config{Registerer: reg})
	outcomes := []func() error{
		func() error { return nil },
		func() error { return errors.New("boom") },
		func() error { panic("bang") },
		func() error { return nil },
	}
	i := 0
	f.s.Every("job", time.Minute, func(context.Context) error {
		i++
		return outcomes[i-1]()
	}, Options{})
	f.start(t)
	for n := 1; n <= len(outcomes); n++ {
		f.clock.BlockUntil(1)
		f.clock.Advance(time.Minute)
		f.waitJob(t, "job", func(j JobInfo) bool { return j.Runs == int64(n) && !j.Running })
	}
	for outcome, want := range map[string]float64{"ok": 2, "error": 1, "panic": 1, "skipped": 0, "elsewhere": 0} {
		if got := counter(t, f.s, "job", outcome); got != want {
			t.Errorf("runs_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	if n := testutil.CollectAndCount(reg, "junction_cron_run_seconds"); n != 1 {
		t.Errorf("%d run_seconds series, want 1", n)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}

	// A second scheduler on the same registry shares the metrics.
	s2 := New(Config{Registerer: reg, Clock: f.clock})
	if s2.metricsErr != nil || s2.metrics.runs != f.s.metrics.runs {
		t.Errorf("second scheduler: %v", s2.metricsErr)
	}
	s2.Stop(context.Background())

	// A clash with other metrics of the same name is reported by Start.
	bad := prometheus.NewRegistry()
	bad.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "junction_cron_runs_total", Help: "other"}))
	s3 := New(Config{Registerer: bad})
	if err := s3.Start(context.Background()); err == nil || !strings.HasPrefix(err.Error(), "cron: metrics: ") {
		t.Errorf("Start with clashing metrics: %v", err)
	}
	s3.Stop(context.Background())
}

package cron

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of a tick, the outcome label of junction_cron_runs_total.
const (
	outcomeOK        = "ok"
	outcomeError     = "error"
	outcomePanic     = "panic"
	outcomeSkipped   = "skipped"   // NoOverlap: the previous run was still running
	outcomeElsewhere = "elsewhere" // another process took the tick's lock
)

// metrics are the scheduler's Prometheus metrics; a nil *metrics records
// nothing.
type metrics struct {
	runs    *prometheus.CounterVec
	seconds *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_cron_runs_total",
			Help: "Cron ticks by job and outcome (ok, error, panic, skipped, elsewhere).",
		}, []string{"job", "outcome"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "junction_cron_run_seconds",
			Help: "Duration of cron job runs, by job.",
			// 10ms to 45min: cron jobs are often long.
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"job"}),
	}
	var err error
	m.runs, err = register(reg, m.runs)
	if err != nil {
		return nil, err
	}
	m.seconds, err = register(reg, m.seconds)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered
// under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, err
}

func (m *metrics) tick(job, outcome string) {
	if m != nil {
		m.runs.WithLabelValues(job, outcome).Inc()
	}
}

func (m *metrics) ran(job string, d time.Duration) {
	if m != nil {
		m.seconds.WithLabelValues(job).Observe(d.Seconds())
	}
}

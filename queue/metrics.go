package queue

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus metrics; a nil *metrics records
// nothing.
type metrics struct {
	tasks   *prometheus.CounterVec
	running *prometheus.GaugeVec
}

// Outcomes of an attempt, the outcome label of junction_queue_tasks_total.
const (
	outcomeDone   = "done"
	outcomeRetry  = "retry"
	outcomeFailed = "failed"
	outcomeDead   = "dead"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_queue_tasks_total",
			Help: "Task attempts that ended, by queue, task and outcome (done, retry, failed, dead).",
		}, []string{"queue", "task", "outcome"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "junction_queue_running",
			Help: "Task attempts running in this process, by queue.",
		}, []string{"queue"}),
	}
	var err error
	if m.tasks, err = register(reg, m.tasks); err != nil {
		return nil, err
	}
	if m.running, err = register(reg, m.running); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered in
// its place.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if old, ok := are.ExistingCollector.(C); ok {
			return old, nil
		}
	}
	return c, err
}

func (m *metrics) ended(queue, task, outcome string) {
	if m != nil {
		m.tasks.WithLabelValues(queue, task, outcome).Inc()
	}
}

func (m *metrics) addRunning(queue string, n float64) {
	if m != nil {
		m.running.WithLabelValues(queue).Add(n)
	}
}

package webhook

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes, the outcome label of junction_webhook_deliveries_total.
const (
	outcomeDelivered = "delivered"
	outcomeFailed    = "failed"
	outcomeDead      = "dead"
	outcomeDropped   = "dropped"
)

// metrics are the dispatcher's Prometheus metrics; a nil *metrics
// records nothing.
type metrics struct {
	deliveries *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "junction_webhook_deliveries_total",
		Help: "Webhook deliveries by hook and outcome: delivered, failed (an attempt), dead (attempts spent), dropped (not enqueued).",
	}, []string{"hook", "outcome"})
	if err := reg.Register(c); err != nil {
		// Shared with an earlier dispatcher on the same registry.
		are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
		if !ok {
			return nil, err
		}
		if c, ok = are.ExistingCollector.(*prometheus.CounterVec); !ok {
			return nil, err
		}
	}
	return &metrics{deliveries: c}, nil
}

func (m *metrics) add(hook, outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(hook, outcome).Inc()
	}
}

package junction

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/junction-run/junction/router"
)

// appMetrics are the app's own Prometheus metrics, served at /metrics with
// the embedded router's.
type appMetrics struct {
	reg *prometheus.Registry
	// panics counts recovered handler panics by kind: http, call, event,
	// hook.
	panics *prometheus.CounterVec
	// errors counts handler errors by kind.
	errors *prometheus.CounterVec
	// slow counts handlers the debug watchdog reported.
	slow prometheus.Counter
}

func newAppMetrics() *appMetrics {
	m := &appMetrics{
		reg: prometheus.NewRegistry(),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_app_handler_panics_total",
			Help: "Handler panics recovered, by kind of handler (http, call, event, hook).",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_app_handler_errors_total",
			Help: "Errors returned by handlers, by kind of handler (http, call, event, hook).",
		}, []string{"kind"}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "junction_app_slow_handlers_total",
			Help: "Handlers the debug watchdog saw running past the threshold.",
		}),
	}
	m.reg.MustRegister(m.panics, m.errors, m.slow)
	return m
}

// Metrics returns the registry of the app's metrics (handler panics,
// errors, slow handlers); the embedded router's are in Router().Metrics().
func (app *Application) Metrics() *prometheus.Registry { return app.metrics.reg }

// serveMetrics serves the app's metrics (handlers, cron, queues) and the
// embedded router's, if any, in the Prometheus text format.
func (app *Application) serveMetrics(w http.ResponseWriter, r *http.Request, rt *router.Router) {
	gather := prometheus.Gatherers{app.metrics.reg}
	if rt != nil {
		if reg := rt.Metrics(); reg != nil {
			gather = append(gather, reg)
		}
	}
	promhttp.HandlerFor(gather, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

package router

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/wamp"
)

// metrics are the router's Prometheus series. Counters per message type
// are resolved once so that counting a message is one atomic add.
type metrics struct {
	clusterNodes       prometheus.Gauge
	framesIn           prometheus.Counter
	framesOut          prometheus.Counter
	sessions           prometheus.Gauge
	received           [256]prometheus.Counter
	slowConsumers      prometheus.Counter
	protocolViolations prometheus.Counter
	// invalidMessages counts requests refused for a bad value (invalid
	// URI, invalid UTF-8, too deep) whose session went on.
	invalidMessages prometheus.Counter
	// publisherStalls counts publications after which the publisher was
	// held back for a backlogged subscriber (broker.stall).
	publisherStalls prometheus.Counter
	eventsDelivered prometheus.Counter
	retainedTopics  prometheus.Gauge
	limitsExceeded  *prometheus.CounterVec
	// authorizationDenied counts the actions refused to sessions of
	// configured realms, by action.
	authorizationDenied *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "junction_router_sessions", Help: "Open WAMP sessions."}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "junction_router_slow_consumers_total", Help: "Sessions disconnected because their outbound queue was full."}),
		protocolViolations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "junction_router_protocol_violations_total", Help: "Sessions aborted for breaking the WAMP protocol."}),
		publisherStalls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "junction_router_publisher_stalls_total", Help: "Publications after which the publisher was held back because a subscriber's outbound queue was over half full."}),
		invalidMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "junction_router_invalid_messages_total", Help: "Requests refused for an invalid URI or value (invalid UTF-8, nested too deep); their sessions go on."}),
		eventsDelivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "junction_router_events_delivered_total", Help: "EVENT messages queued to subscribers."}),
		clusterNodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "junction_cluster_nodes", Help: "Nodes of the router's cluster it sees, itself included; 0 outside a cluster."}),
		retainedTopics: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "junction_router_retained_topics", Help: "Topics holding a retained event, all realms together."}),
	}
	frames := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "junction_cluster_frames_total", Help: "Frames exchanged with the other nodes of the cluster, by direction (in, out)."}, []string{"direction"})
	m.framesIn, m.framesOut = frames.WithLabelValues("in"), frames.WithLabelValues("out")
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "junction_router_messages_received_total", Help: "WAMP messages received, by type."}, []string{"type"})
	m.limitsExceeded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "junction_router_limits_exceeded_total", Help: "Sessions, subscriptions, registrations or messages refused by a limit, by limit."},
		[]string{"limit"})
	for _, l := range limitNames {
		m.limitsExceeded.WithLabelValues(l)
	}
	m.authorizationDenied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "junction_router_authorization_denied_total", Help: "Actions refused by authorization, by action."},
		[]string{"action"})
	for t := range 256 {
		if wamp.Type(t).Known() {
			m.received[t] = received.WithLabelValues(wamp.Type(t).String())
		}
	}
	reg.MustRegister(m.sessions, m.slowConsumers, m.protocolViolations, m.invalidMessages, m.publisherStalls, m.eventsDelivered, m.retainedTopics, received, m.limitsExceeded,
		m.authorizationDenied, m.clusterNodes, frames)
	return m
}

package sms

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/plugins/internal/patterns"
)

// Plugin sends and receives texts for an app: see the package doc.
type Plugin struct {
	// Config is read when the app starts; its values before Plug are
	// the settings' defaults.
	Config Config

	host   *junction.PluginHost
	queue  *junction.Queue
	client *http.Client

	mu      sync.Mutex
	cfg     Config // Config with its defaults, from Start on
	started bool
	routes  patterns.Routes[Handler] // has its own lock
	metrics metrics
}

var _ junction.Plugin = (*Plugin)(nil)

type metrics struct {
	received, sent, refused prometheus.Counter
}

// Handler handles a text that matched its pattern. Its error is logged,
// and answered to the gateway with 500.
type Handler func(ctx context.Context, m *Msg) error

// Msg is a text received.
type Msg struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Text    string    `json:"text"`
	ID      string    `json:"id,omitempty"` // the provider's message id, if it gives one
	Backend string    `json:"backend"`
	Time    time.Time `json:"time"`
	// Pattern, Groups and Named are those of the pattern that matched
	// (Groups[0] is the whole match); in the NS.received event, of the
	// first that matched.
	Pattern string            `json:"pattern,omitempty"`
	Groups  []string          `json:"groups,omitempty"`
	Named   map[string]string `json:"named,omitempty"`
}

// Delivery is a delivery report, published on NS.delivery.
type Delivery struct {
	// Ref names the text: the ref Kannel was given with it (see
	// outgoing), the provider's message SID for Twilio.
	Ref string `json:"ref"`
	To  string `json:"to,omitempty"`
	// Status is the backend's: Kannel's DLR type (1 delivered, 2
	// failed, 4 buffered, 8 accepted by the SMSC, 16 rejected by it),
	// Twilio's MessageStatus (queued, sent, delivered, failed...).
	Status    string `json:"status"`
	Delivered bool   `json:"delivered"`
	Failed    bool   `json:"failed"`
	Backend   string `json:"backend"`
}

// New returns the plugin with cfg as the defaults of its settings.
func New(cfg Config) *Plugin { return &Plugin{Config: cfg} }

// Receive calls h for every text received whose text matches pattern,
// a regexp, with its groups: the seed's @app.sms.receive(r'LOVE \w+ \w+').
// Every handler whose pattern matches runs, in declaration order. A bad
// pattern is reported by Start.
func (p *Plugin) Receive(pattern string, h Handler) {
	p.routes.Add("sms: Receive", pattern, h)
}

// DefaultNamespace is "sms".
func (p *Plugin) DefaultNamespace() string { return "sms" }

// Provision declares the settings, the queue NS with its task "send",
// the procedure NS.send and the gateway's routes.
func (p *Plugin) Provision(h *junction.PluginHost) error {
	p.host = h
	if err := h.Settings(&p.Config); err != nil {
		return err
	}
	cfg := p.Config.withDefaults()
	p.queue = h.App().Queue(h.Namespace(), junction.Workers(4), junction.Backoff(cfg.SendBackoff, cfg.SendMaxBackoff))
	p.queue.Task("send", p.sendTask)
	if err := h.Register("send", func(ctx context.Context, text string, to []string) ([]string, error) {
		return p.Send(ctx, text, to...)
	}); err != nil {
		return err
	}
	// With their methods: a route for every method would conflict with
	// an app's "GET /" (ServeMux's precedence rules).
	for _, m := range []string{"GET", "POST"} {
		h.Handle(m+" /kannel/incoming", http.HandlerFunc(p.kannelIncoming))
		h.Handle(m+" /kannel/dlr", http.HandlerFunc(p.kannelDLR))
	}
	h.Handle("POST /twilio/incoming", http.HandlerFunc(p.twilioIncoming))
	h.Handle("POST /twilio/status", http.HandlerFunc(p.twilioStatus))
	counter := func(name, help string) prometheus.Counter { return h.Counter("junction_sms_"+name, help) }
	p.metrics = metrics{
		received: counter("received_total", "Texts received and handled."),
		sent:     counter("sent_total", "Texts accepted by the gateway."),
		refused:  counter("refused_total", "Webhook calls refused: bad signature, missing fields, failed handler."),
	}
	return nil
}

// Start checks the configuration; the gateway is reached per request.
func (p *Plugin) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.routes.Err(); err != nil {
		return err
	}
	if err := p.Config.Validate(); err != nil {
		return err
	}
	p.cfg = p.Config.withDefaults()
	p.cfg.Backend = strings.ToLower(p.cfg.Backend)
	p.client = &http.Client{Timeout: p.cfg.Timeout}
	p.started = true
	return nil
}

// Stop ends the plugin's life: the gateway's calls get 503.
func (p *Plugin) Stop(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = false
	return nil
}

// config returns the started plugin's configuration.
func (p *Plugin) config() (Config, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg, p.started
}

// dispatch publishes m on NS.received and runs the handlers whose
// pattern matches; it returns the first error, after every one ran.
func (p *Plugin) dispatch(ctx context.Context, m *Msg) error {
	type match struct {
		m *Msg
		h Handler
	}
	var matched []match
	for _, hit := range p.routes.Matching(m.Text) {
		mm := *m
		mm.Pattern, mm.Groups, mm.Named = hit.Pattern, hit.Groups, hit.Named
		matched = append(matched, match{&mm, hit.Handler})
	}
	event := m
	if len(matched) > 0 {
		event = matched[0].m
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := p.host.Publish(pctx, "received", event); err != nil {
		p.host.Logger().Warn("sms: received not published", "err", err)
	}
	cancel()
	var first error
	for _, x := range matched {
		if err := patterns.Run(func() error { return x.h(ctx, x.m) }); err != nil {
			p.host.Logger().Error("sms: handler failed", "pattern", x.m.Pattern, "from", m.From, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// received handles a text from a webhook: 503 before Start, 500 if a
// handler failed, 200 otherwise.
func (p *Plugin) received(w http.ResponseWriter, r *http.Request, m *Msg) bool {
	if m.From == "" {
		p.metrics.refused.Inc()
		http.Error(w, "sms: missing sender", http.StatusBadRequest)
		return false
	}
	m.Time = time.Now().UTC()
	if err := p.dispatch(r.Context(), m); err != nil {
		p.metrics.refused.Inc()
		http.Error(w, "sms: the handler failed", http.StatusInternalServerError)
		return false
	}
	p.metrics.received.Inc()
	return true
}

func (p *Plugin) delivered(ctx context.Context, d *Delivery) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.host.Publish(pctx, "delivery", d); err != nil {
		p.host.Logger().Warn("sms: delivery report not published", "err", err)
	}
}

// publicURL is the URL the gateway used for r: PublicURL and r's path,
// or r's own.
func (p *Plugin) publicURL(cfg Config, r *http.Request) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/") + r.URL.RequestURI()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

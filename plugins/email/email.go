package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction"
)

// Plugin sends and receives mail for an app: see the package doc. Make
// it with New, declare its receivers with Receive, plug it with Plug.
type Plugin struct {
	// Config is read when the app starts; its values before Plug are
	// the settings' defaults.
	Config Config

	host  *junction.PluginHost
	queue *junction.Queue
	cfg   Config // Config with its defaults, from Start on
	tls   *tls.Config

	mu        sync.Mutex
	receivers []*receiver
	setupErr  error
	started   bool // cfg and tls are set

	smtpd   *smtpReceiver
	imap    *imapPoller
	metrics metrics
}

var _ junction.Plugin = (*Plugin)(nil)

type metrics struct {
	received, sent, refused prometheus.Counter
}

// Handler handles a mail that its receiver's patterns matched. An error
// (or a panic) makes the mail come again: over SMTP the sender is told
// to try later (451), over IMAP it stays unread until the next poll.
type Handler func(ctx context.Context, m *Mail) error

// Filter is a pattern a receiver's mails must match.
type Filter struct {
	field string // "from", "to" or "subject"
	re    string
}

// From matches the sender's address ("shop@example.org"), a regexp.
func From(re string) Filter { return Filter{"from", re} }

// To matches one of the recipients' addresses, a regexp.
func To(re string) Filter { return Filter{"to", re} }

// Subject matches the subject, a regexp.
func Subject(re string) Filter { return Filter{"subject", re} }

type receiver struct {
	h       Handler
	filters map[string]*regexp.Regexp
}

// New returns the plugin with cfg as the defaults of its settings.
func New(cfg Config) *Plugin { return &Plugin{Config: cfg} }

// Receive calls h for every mail received that matches all of filters
// (none: every mail), the seed's receive(src=..., dest=...). Every
// receiver that matches runs, in declaration order. A bad pattern is
// reported by Start.
func (p *Plugin) Receive(h Handler, filters ...Filter) {
	r := &receiver{h: h, filters: map[string]*regexp.Regexp{}}
	var errs []error
	if h == nil {
		errs = append(errs, errors.New("email: Receive: nil handler"))
	}
	for _, f := range filters {
		re, err := regexp.Compile(f.re)
		if err != nil {
			errs = append(errs, fmt.Errorf("email: Receive: %s(%q): %w", f.field, f.re, err))
			continue
		}
		if _, dup := r.filters[f.field]; dup {
			errs = append(errs, fmt.Errorf("email: Receive: two %s patterns", f.field))
		}
		r.filters[f.field] = re
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(errs) > 0 {
		p.setupErr = errors.Join(append([]error{p.setupErr}, errs...)...)
		return
	}
	p.receivers = append(p.receivers, r)
}

// match returns the groups of r's patterns in m, or nil if one does not
// match.
func (r *receiver) match(m *Mail) map[string][]string {
	groups := map[string][]string{}
	for field, re := range r.filters {
		var g []string
		switch field {
		case "from":
			g = re.FindStringSubmatch(m.From)
		case "subject":
			g = re.FindStringSubmatch(m.Subject)
		case "to":
			for _, to := range m.To {
				if g = re.FindStringSubmatch(to); g != nil {
					break
				}
			}
		}
		if g == nil {
			return nil
		}
		groups[field] = g
	}
	return groups
}

// DefaultNamespace is "email".
func (p *Plugin) DefaultNamespace() string { return "email" }

// Provision declares the settings, the queue NS with its task "send",
// and the procedure NS.send.
func (p *Plugin) Provision(h *junction.PluginHost) error {
	p.host = h
	if err := h.Settings(&p.Config); err != nil {
		return err
	}
	cfg := p.Config.withDefaults()
	p.queue = h.App().Queue(h.Namespace(), junction.Workers(4), junction.Backoff(cfg.SendBackoff, cfg.SendMaxBackoff))
	p.queue.Task("send", p.sendTask)
	if err := h.Register("send", func(ctx context.Context, m Message) (string, error) {
		return p.Send(ctx, &m)
	}); err != nil {
		return err
	}
	counter := func(name, help string) prometheus.Counter { return h.Counter("junction_email_"+name, help) }
	p.metrics = metrics{
		received: counter("received_total", "Mails received (SMTP and IMAP) and handled."),
		sent:     counter("sent_total", "Mails accepted by the SMTP server sent through."),
		refused:  counter("refused_total", "Mails received and refused: too large, unknown domain, failed handler."),
	}
	return nil
}

// Start starts the embedded SMTP server and the IMAP poller, if
// configured: a server that cannot listen, or an IMAP server that
// refuses the connection or the login, fails it.
func (p *Plugin) Start(ctx context.Context) error {
	p.mu.Lock()
	err := p.setupErr
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if err := p.Config.Validate(); err != nil {
		return err
	}
	cfg := p.Config.withDefaults()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(cfg.TLSCAFile)
		if err != nil {
			return fmt.Errorf("email: tls-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("email: tls-ca-file %s: no PEM certificate in it", cfg.TLSCAFile)
		}
		tlsCfg.RootCAs = pool
	}
	// Under mu: the queue's workers, which may run a send left from a
	// previous run before Start, read them.
	p.mu.Lock()
	p.cfg, p.tls, p.started = cfg, tlsCfg, true
	p.mu.Unlock()
	base := context.WithoutCancel(ctx) // carries the app
	if p.cfg.Listen != "" {
		s, err := startSMTP(base, p)
		if err != nil {
			return err
		}
		p.smtpd = s
		p.host.Logger().Info("email: receiving", "smtp", s.Addr().String(), "domains", p.cfg.Domains)
	}
	if p.cfg.IMAP != "" {
		poller, err := startIMAP(base, p)
		if err != nil {
			if p.smtpd != nil {
				p.smtpd.stop(context.Background())
			}
			return err
		}
		p.imap = poller
		p.host.Logger().Info("email: polling", "imap", p.cfg.IMAP, "mailbox", p.cfg.IMAPMailbox, "every", p.cfg.IMAPPoll)
	}
	return nil
}

// Stop stops receiving: the SMTP server lets its sessions end, the
// poller finishes its poll.
func (p *Plugin) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.started = false
	p.mu.Unlock()
	var errs []error
	if p.smtpd != nil {
		errs = append(errs, p.smtpd.stop(ctx))
	}
	if p.imap != nil {
		errs = append(errs, p.imap.stop(ctx))
	}
	return errors.Join(errs...)
}

// SMTPAddr returns the address of the embedded SMTP server, nil unless
// it runs.
func (p *Plugin) SMTPAddr() interface{ String() string } {
	if p.smtpd == nil {
		return nil
	}
	return p.smtpd.Addr()
}

// dispatch publishes m on NS.received and runs the receivers that match
// it; their first error is returned, after every one ran.
func (p *Plugin) dispatch(ctx context.Context, m *Mail) error {
	p.mu.Lock()
	receivers := p.receivers
	p.mu.Unlock()
	type match struct {
		r      *receiver
		groups map[string][]string
	}
	var matched []match
	for _, r := range receivers {
		if g := r.match(m); g != nil {
			matched = append(matched, match{r, g})
		}
	}
	event := *m
	event.Attachments = nil
	for _, a := range m.Attachments {
		a.Data = nil
		event.Attachments = append(event.Attachments, a)
	}
	if len(matched) > 0 {
		event.Groups = matched[0].groups
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := p.host.Publish(pctx, "received", event); err != nil {
		p.host.Logger().Warn("email: received not published", "err", err)
	}
	cancel()
	var first error
	for _, x := range matched {
		mm := *m
		mm.Groups = x.groups
		if err := run(ctx, x.r.h, &mm); err != nil {
			p.host.Logger().Error("email: receiver failed", "from", m.From, "subject", m.Subject, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

func run(ctx context.Context, h Handler, m *Mail) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("receiver panicked: %v", r)
		}
	}()
	return h(ctx, m)
}

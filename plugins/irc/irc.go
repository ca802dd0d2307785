package irc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/plugins/internal/patterns"
)

// Plugin is an IRC bot plugged into an app: see the package doc. Make it
// with New, declare its handlers with Message, plug it with Plug.
type Plugin struct {
	// Config is read when the app starts; its values before Plug are
	// the settings' defaults.
	Config Config

	host  *junction.PluginHost
	queue *junction.Queue
	cfg   Config // Config with its defaults, from Start on

	// mu guards what follows. It is never held while calling into the
	// connection or a handler.
	mu       sync.Mutex
	routes   patterns.Routes[Handler] // has its own lock
	conn     *ircevent.Connection
	joined   map[string]bool // lower-case channel names
	joinErr  map[string]string
	changed  chan struct{} // closed and replaced when joined or joinErr change
	pongs    map[string]chan struct{}
	inflight *sendState
	stopping bool
	// saslRefusal is the server's text when it refused the SASL login
	// (901, 902 or 904), kept so that Start reports it.
	saslRefusal string

	limiter  *rate.Limiter
	inbox    chan *Msg
	cancel   context.CancelFunc
	loopDone chan struct{}
	workers  sync.WaitGroup
	metrics  metrics
}

var _ junction.Plugin = (*Plugin)(nil)

// Handler handles a message that matched its pattern. Its error is
// logged. Handlers run one message at a time, in the order the messages
// came: hand long work to a queue.
type Handler func(ctx context.Context, m *Msg) error

// Msg is a message received in a channel or in private.
type Msg struct {
	Nick string `json:"nick"`
	User string `json:"user"`
	Host string `json:"host"`
	// Target is the channel, or the bot's nick for a private message.
	Target  string    `json:"target"`
	Text    string    `json:"text"`
	Private bool      `json:"private"`
	Time    time.Time `json:"time"`
	// Pattern is the pattern that matched; Groups its groups (Groups[0]
	// is the whole match), Named its named groups. In the NS.received
	// event, those of the first pattern that matched, empty for none.
	Pattern string            `json:"pattern,omitempty"`
	Groups  []string          `json:"groups,omitempty"`
	Named   map[string]string `json:"named,omitempty"`

	p *Plugin
}

// ReplyTarget is where a reply goes: the channel, or the sender of a
// private message.
func (m *Msg) ReplyTarget() string {
	if m.Private {
		return m.Nick
	}
	return m.Target
}

// Reply sends text where m came from, through the durable queue (see
// Plugin.Send).
func (m *Msg) Reply(ctx context.Context, text string) error {
	_, err := m.p.Send(ctx, m.ReplyTarget(), text)
	return err
}

type metrics struct {
	received, sent, dropped, connections prometheus.Counter
}

// New returns the plugin with cfg as the defaults of its settings.
func New(cfg Config) *Plugin {
	return &Plugin{Config: cfg, joined: map[string]bool{}, joinErr: map[string]string{},
		changed: make(chan struct{}), pongs: map[string]chan struct{}{}}
}

// Message calls h for every message whose text matches pattern, a
// regexp (Go syntax), with its groups in m.Groups. Every handler whose
// pattern matches is called, in declaration order. A bad pattern is
// reported by Start.
func (p *Plugin) Message(pattern string, h Handler) {
	p.routes.Add("irc: Message", pattern, h)
}

// DefaultNamespace is "irc".
func (p *Plugin) DefaultNamespace() string { return "irc" }

// Provision declares the settings, the queue NS and its task "send",
// and the procedure NS.send.
func (p *Plugin) Provision(h *junction.PluginHost) error {
	p.host = h
	if err := h.Settings(&p.Config); err != nil {
		return err
	}
	cfg := p.Config.withDefaults()
	p.queue = h.App().Queue(h.Namespace(), junction.Workers(1), junction.Backoff(cfg.SendBackoff, cfg.SendMaxBackoff))
	p.queue.Task("send", p.sendTask)
	if err := h.Register("send", func(ctx context.Context, target, text string) (string, error) {
		return p.Send(ctx, target, text)
	}); err != nil {
		return err
	}
	counter := func(name, help string) prometheus.Counter { return h.Counter("junction_irc_"+name, help) }
	p.metrics = metrics{
		received:    counter("messages_received_total", "Messages received in channels and in private."),
		sent:        counter("messages_sent_total", "Messages sent and confirmed by the server."),
		dropped:     counter("messages_dropped_total", "Messages received while the handlers were too far behind."),
		connections: counter("connections_total", "Connections made to the server, the first one and reconnections."),
	}
	h.Metrics().MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "junction_irc_connected", Help: "1 while connected and registered.",
	}, func() float64 {
		if p.Connected() {
			return 1
		}
		return 0
	}))
	return nil
}

// Connected reports whether the bot is connected and registered now.
func (p *Plugin) Connected() bool {
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	return conn != nil && conn.Connected() && conn.CurrentNick() != ""
}

// Joined reports whether the bot is in channel now.
func (p *Plugin) Joined(channel string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.joined[strings.ToLower(channel)]
}

// Start connects, registers, joins the channels and returns once every
// channel is joined; a refused connection, login or join fails it,
// naming the server and the reason. From then on the connection is
// restored on its own, the channels joined again.
func (p *Plugin) Start(ctx context.Context) error {
	if err := p.routes.Err(); err != nil {
		return err
	}
	if err := p.Config.Validate(); err != nil {
		return err
	}
	cfg := p.Config.withDefaults()
	p.cfg = cfg
	log := p.host.Logger()
	if cfg.Server == "" {
		log.Info("irc: no server (--" + p.host.Namespace() + "-server): the plugin is off")
		return nil
	}
	conn := &ircevent.Connection{
		Server:        cfg.Server,
		Nick:          cfg.Nick,
		User:          cfg.User,
		RealName:      cfg.RealName,
		Password:      cfg.Password,
		UseTLS:        cfg.TLS,
		SASLLogin:     cfg.SASLLogin,
		SASLPassword:  cfg.SASLPassword,
		SASLMech:      strings.ToUpper(cfg.SASLMech),
		UseSASL:       cfg.SASLMech != "" || cfg.SASLLogin != "",
		Timeout:       cfg.Timeout,
		KeepAlive:     4 * cfg.Timeout,
		ReconnectFreq: cfg.ReconnectDelay,
		QuitMessage:   "junction: stopping",
		Version:       "junction",
		Log:           slog.NewLogLogger(log.Handler(), slog.LevelInfo),
	}
	if cfg.TLS {
		conn.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.TLSCAFile != "" {
			pem, err := os.ReadFile(cfg.TLSCAFile)
			if err != nil {
				return fmt.Errorf("irc: tls-ca-file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("irc: tls-ca-file %s: no PEM certificate in it", cfg.TLSCAFile)
			}
			conn.TLSConfig.RootCAs = pool
		}
	}
	p.limiter = rate.NewLimiter(rate.Every(cfg.FloodInterval), cfg.FloodBurst)
	p.inbox = make(chan *Msg, 1024)
	p.callbacks(conn)
	p.mu.Lock()
	p.conn, p.stopping, p.saslRefusal = conn, false, ""
	p.mu.Unlock()

	if err := conn.Connect(); err != nil {
		return fmt.Errorf("irc: connect to %s: %w", cfg.Server, p.connectError(err))
	}
	// The library's loop reconnects, and closes the socket once the
	// connection has quit.
	p.loopDone = make(chan struct{})
	go func() {
		defer close(p.loopDone)
		conn.Loop()
	}()
	if err := p.waitJoined(ctx, cfg); err != nil {
		p.mu.Lock()
		p.stopping = true
		p.mu.Unlock()
		conn.Quit()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
		defer cancel()
		p.closeConn(sctx, conn)
		return err
	}
	log.Info("irc: connected", "server", cfg.Server, "nick", conn.CurrentNick(), "channels", cfg.Channels)

	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.cancel = cancel
	p.workers.Go(func() { p.work(wctx) })
	return nil
}

// connectError is the cause of a failed Connect. On a refused SASL login
// the library sends QUIT before it passes the refusal on, and a server
// closes the connection on QUIT: which of the two Connect reports is a
// race. The refusal, seen first by this plugin's callback, is the cause.
func (p *Plugin) connectError(err error) error {
	p.mu.Lock()
	refusal := p.saslRefusal
	p.mu.Unlock()
	if refusal != "" && errors.Is(err, ircevent.ServerDisconnected) {
		return errors.New(refusal)
	}
	return err
}

// callbacks wires the connection's events to the plugin.
func (p *Plugin) callbacks(conn *ircevent.Connection) {
	conn.AddConnectCallback(func(ircmsg.Message) {
		p.metrics.connections.Inc()
		for _, ch := range p.cfg.Channels {
			name, key, _ := strings.Cut(ch, " ")
			if key != "" {
				conn.Send("JOIN", name, key)
			} else {
				conn.Send("JOIN", name)
			}
		}
	})
	// Added before Connect, so they run before the library's own
	// callbacks for these numerics, and so before it sends QUIT.
	for _, refused := range []string{ircevent.RPL_LOGGEDOUT, ircevent.ERR_NICKLOCKED, ircevent.ERR_SASLFAIL} {
		conn.AddCallback(refused, func(e ircmsg.Message) {
			why := "SASL login refused (" + e.Command + ")"
			if n := len(e.Params); n > 1 {
				why = e.Params[n-1]
			}
			p.mu.Lock()
			p.saslRefusal = why
			p.mu.Unlock()
		})
	}
	conn.AddDisconnectCallback(func(ircmsg.Message) {
		p.mu.Lock()
		clear(p.joined)
		stopping := p.stopping
		p.notifyLocked()
		p.mu.Unlock()
		if !stopping {
			p.host.Logger().Warn("irc: disconnected; reconnecting", "server", p.cfg.Server, "in", p.cfg.ReconnectDelay)
		}
	})
	conn.AddCallback("JOIN", func(e ircmsg.Message) {
		if e.Nick() != conn.CurrentNick() || len(e.Params) == 0 {
			return
		}
		ch := e.Params[0]
		p.mu.Lock()
		p.joined[strings.ToLower(ch)] = true
		delete(p.joinErr, strings.ToLower(ch))
		p.notifyLocked()
		p.mu.Unlock()
		p.host.Logger().Info("irc: joined", "channel", ch)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.host.Publish(ctx, "joined", ch); err != nil {
			p.host.Logger().Debug("irc: joined not published", "err", err)
		}
	})
	left := func(ch, nick string) {
		if nick != conn.CurrentNick() {
			return
		}
		p.mu.Lock()
		delete(p.joined, strings.ToLower(ch))
		p.notifyLocked()
		p.mu.Unlock()
	}
	conn.AddCallback("PART", func(e ircmsg.Message) {
		if len(e.Params) > 0 {
			left(e.Params[0], e.Nick())
		}
	})
	conn.AddCallback("KICK", func(e ircmsg.Message) {
		if len(e.Params) > 1 {
			left(e.Params[0], e.Params[1])
			p.host.Logger().Warn("irc: kicked", "channel", e.Params[0], "by", e.Nick())
		}
	})
	// Joins refused: banned, invite only, bad key, full, no such channel.
	for _, code := range []string{"471", "473", "474", "475", "403", "405"} {
		conn.AddCallback(code, func(e ircmsg.Message) {
			if len(e.Params) < 2 {
				return
			}
			ch := e.Params[1]
			p.mu.Lock()
			p.joinErr[strings.ToLower(ch)] = e.Params[len(e.Params)-1]
			p.notifyLocked()
			p.mu.Unlock()
		})
	}
	conn.AddCallback("PONG", func(e ircmsg.Message) {
		if len(e.Params) == 0 {
			return
		}
		p.mu.Lock()
		c := p.pongs[e.Params[len(e.Params)-1]]
		p.mu.Unlock()
		if c != nil {
			close(c)
		}
	})
	// Sends refused: 401 no such nick/channel and 404 cannot send to
	// channel (for now: tried again), 411/412 no recipient or text (for
	// good).
	for _, code := range []string{"401", "404", "411", "412"} {
		conn.AddCallback(code, func(e ircmsg.Message) {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.inflight != nil && p.inflight.err == nil {
				p.inflight.code, p.inflight.err = code, errors.New(strings.Join(e.Params[1:], ": "))
			}
		})
	}
	conn.AddCallback("PRIVMSG", func(e ircmsg.Message) {
		if len(e.Params) < 2 || e.Params[0] == "" {
			return
		}
		nuh, _ := e.NUH()
		target := e.Params[0]
		m := &Msg{Nick: nuh.Name, User: nuh.User, Host: nuh.Host, Target: target, Text: e.Params[1],
			Private: !strings.ContainsRune("#&+!", rune(target[0])), Time: time.Now().UTC(), p: p}
		p.metrics.received.Inc()
		select {
		case p.inbox <- m:
		default:
			p.metrics.dropped.Inc()
			p.host.Logger().Warn("irc: message dropped: the handlers are too far behind", "from", m.Nick, "target", target)
		}
	})
}

// notifyLocked wakes those waiting for a change of joined or joinErr.
// mu is held.
func (p *Plugin) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitJoined waits until every channel is joined, or one is refused.
func (p *Plugin) waitJoined(ctx context.Context, cfg Config) error {
	t := time.NewTimer(cfg.Timeout)
	defer t.Stop()
	for {
		p.mu.Lock()
		var missing []string
		for _, ch := range cfg.Channels {
			name, _, _ := strings.Cut(ch, " ")
			if why, ok := p.joinErr[strings.ToLower(name)]; ok {
				p.mu.Unlock()
				return fmt.Errorf("irc: join %s on %s: %s", name, cfg.Server, why)
			}
			if !p.joined[strings.ToLower(name)] {
				missing = append(missing, name)
			}
		}
		changed := p.changed
		p.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-t.C:
			return fmt.Errorf("irc: join %s on %s: no answer within %v", strings.Join(missing, ", "), cfg.Server, cfg.Timeout)
		case <-ctx.Done():
			return fmt.Errorf("irc: join %s on %s: %w", strings.Join(missing, ", "), cfg.Server, ctx.Err())
		}
	}
}

// work runs the handlers and publishes NS.received, one message at a
// time.
func (p *Plugin) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-p.inbox:
			p.dispatch(ctx, m)
		}
	}
}

func (p *Plugin) dispatch(ctx context.Context, m *Msg) {
	log := p.host.Logger()
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
		log.Warn("irc: received not published", "err", err)
	}
	cancel()
	for _, x := range matched {
		if err := patterns.Run(func() error { return x.h(ctx, x.m) }); err != nil {
			log.Error("irc: handler failed", "pattern", x.m.Pattern, "from", x.m.Nick, "err", err)
		}
	}
}

// Stop quits the server (QUIT), stops reconnecting and waits for the
// handlers to finish the message in hand.
func (p *Plugin) Stop(ctx context.Context) error {
	p.mu.Lock()
	conn := p.conn
	p.stopping = true
	p.mu.Unlock()
	if conn == nil {
		return nil
	}
	conn.Quit()
	err := p.closeConn(ctx, conn)
	if p.cancel != nil {
		p.cancel()
	}
	done := make(chan struct{})
	go func() { p.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("irc: a handler is still running: %w", ctx.Err()))
	}
	return err
}

// closeConn waits for the connection's loop to end after Quit: the
// server closes the connection, or, after a grace second, the plugin
// does; a loop asleep between reconnections is woken.
func (p *Plugin) closeConn(ctx context.Context, conn *ircevent.Connection) error {
	grace := time.NewTimer(time.Second)
	defer grace.Stop()
	nudge := time.NewTicker(100 * time.Millisecond)
	defer nudge.Stop()
	graceOver := false
	for {
		select {
		case <-p.loopDone:
			return nil
		case <-grace.C:
			graceOver = true
		case <-nudge.C:
			if graceOver || !conn.Connected() {
				conn.Reconnect()
			}
		case <-ctx.Done():
			conn.Reconnect()
			return fmt.Errorf("irc: quit: %w", ctx.Err())
		}
	}
}

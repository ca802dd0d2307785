package junction

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/plugins/netproto"
)

// TCP serves a custom protocol on TCP beside HTTP and WAMP: handler
// serves each connection at addr (host:port; ":0" picks a free port).
// It is a plugin in namespace "tcp" unless Namespace gives another (a
// second TCP server needs one): its settings --tcp-listen (default
// addr), --tcp-max-connections, --tcp-max-buffered, --tcp-max-frame,
// --tcp-read-timeout and --tcp-write-timeout are netproto.Config's; it
// listens before Ready and stops, letting its handlers flush, at
// shutdown. The handlers' context carries the app (AppFrom), to publish
// and call.
//
// The returned server's fields may be set before Run: Framing (default
// netproto.Lines), and Config, whose values are the settings' defaults.
// Its Addr and Stats work once the app runs.
func (app *Application) TCP(addr string, handler netproto.Handler, opts ...PlugOption) *netproto.TCPServer {
	srv := &netproto.TCPServer{Handler: handler, Config: netproto.Config{Listen: addr}}
	p := &netPlugin{kind: "tcp", settings: &srv.Config, tcp: srv}
	if handler == nil {
		app.setupError(fmt.Errorf("junction: TCP(%q): nil handler", addr))
	}
	app.Plug(p, opts...)
	return srv
}

// UDP serves a custom protocol on UDP: handler serves each datagram
// received at addr, as TCP does for connections, in namespace "udp"
// unless Namespace gives another; its settings are netproto.UDPConfig's
// (--udp-listen, --udp-max-in-flight, --udp-max-datagram).
func (app *Application) UDP(addr string, handler netproto.PacketHandler, opts ...PlugOption) *netproto.UDPServer {
	srv := &netproto.UDPServer{Handler: handler, Config: netproto.UDPConfig{Listen: addr}}
	p := &netPlugin{kind: "udp", settings: &srv.Config, udp: srv}
	if handler == nil {
		app.setupError(fmt.Errorf("junction: UDP(%q): nil handler", addr))
	}
	app.Plug(p, opts...)
	return srv
}

// netPlugin runs a netproto server as a plugin of the app.
type netPlugin struct {
	kind     string // "tcp" or "udp"
	settings any    // the server's config
	tcp      *netproto.TCPServer
	udp      *netproto.UDPServer
	host     *PluginHost
}

var _ Plugin = (*netPlugin)(nil)

func (p *netPlugin) DefaultNamespace() string { return p.kind }

func (p *netPlugin) Provision(h *PluginHost) error {
	p.host = h
	if err := h.Settings(p.settings); err != nil {
		return err
	}
	m := h.Metrics()
	stat := func(name, help string, gauge bool, f func(netproto.Stats) float64) {
		var c prometheus.Collector
		opts := prometheus.Opts{Name: "junction_" + p.kind + "_" + name, Help: help}
		v := func() float64 { return f(p.stats()) }
		if gauge {
			c = prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts), v)
		} else {
			c = prometheus.NewCounterFunc(prometheus.CounterOpts(opts), v)
		}
		m.MustRegister(c)
	}
	if p.kind == "tcp" {
		stat("connections_open", "Connections open now.", true, func(s netproto.Stats) float64 { return float64(s.Open) })
		stat("connections_total", "Connections accepted.", false, func(s netproto.Stats) float64 { return float64(s.Accepted) })
		stat("connections_refused_total", "Connections closed at once, over the bound.", false, func(s netproto.Stats) float64 { return float64(s.Refused) })
		stat("slow_consumers_total", "Connections closed for not reading what they were sent.", false, func(s netproto.Stats) float64 { return float64(s.SlowConsumers) })
		stat("read_timeouts_total", "Connections closed for sending nothing for too long.", false, func(s netproto.Stats) float64 { return float64(s.ReadTimeouts) })
	} else {
		stat("datagrams_total", "Datagrams handled.", false, func(s netproto.Stats) float64 { return float64(s.Accepted) })
		stat("datagrams_dropped_total", "Datagrams dropped, over the bound of those handled at once.", false, func(s netproto.Stats) float64 { return float64(s.Dropped) })
	}
	stat("malformed_total", "Frames or datagrams refused as too large or malformed.", false, func(s netproto.Stats) float64 { return float64(s.Malformed) })
	return nil
}

func (p *netPlugin) stats() netproto.Stats {
	if p.tcp != nil {
		return p.tcp.Stats()
	}
	return p.udp.Stats()
}

func (p *netPlugin) Start(ctx context.Context) error {
	app := p.host.App()
	log := p.host.Logger()
	// The handlers' context: the app's, ended by Stop.
	base := func() context.Context { return withApp(app.root().runCtx, app) }
	var err error
	if p.tcp != nil {
		p.tcp.Logger, p.tcp.BaseContext = log, base
		err = p.tcp.Start(ctx)
		if err == nil {
			log.Info("junction: serving tcp", "addr", p.tcp.Addr().String())
		}
	} else {
		p.udp.Logger, p.udp.BaseContext = log, base
		err = p.udp.Start(ctx)
		if err == nil {
			log.Info("junction: serving udp", "addr", p.udp.Addr().String())
		}
	}
	return err
}

func (p *netPlugin) Stop(ctx context.Context) error {
	if p.tcp != nil {
		return p.tcp.Stop(ctx)
	}
	return p.udp.Stop(ctx)
}

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/internal/connlimit"
	"github.com/junction-run/junction/internal/signals"
	"github.com/junction-run/junction/link"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
)

// server is a router behind its listeners: WebSocket ones (HTTP servers
// for the WAMP path, /healthz and /metrics) and RawSocket ones.
type server struct {
	router *router.Router
	log    *slog.Logger
	// ln is the first WebSocket listener, nil if there is none.
	ln        net.Listener
	listeners []openListener
	https     []*http.Server
	// idleTimeout closes HTTP keep-alive connections left idle.
	idleTimeout time.Duration
	// certs are the TLS listeners' certificates, reloaded on SIGHUP.
	certs []*certStore

	// node is the server's cluster membership, nil outside a cluster.
	node *cluster.Node
	// links are the running links to other deployments.
	links []*link.Link
	// bridge is the HTTP bridge, nil for none.
	bridge *admin.Bridge
	// admin is the web admin, nil for none.
	admin *admin.Admin
	// webhooks are the node's webhooks, nil for none.
	webhooks *webhooks

	// stopRawSockets makes the RawSocket accept loops close their
	// listeners; rawSockets waits for the loops.
	stopRawSockets context.CancelFunc
	rawSockets     sync.WaitGroup
}

type routerFlags struct {
	config     string
	listen     string
	rawsockets []string
	realms     []string
	history    historyFlag
	maxMessage int
	queue      int
	// connection limits (connlimit.Config)
	maxConns, maxConnsPerIP int
	idleTimeout             time.Duration
	logs                    logFlags
	// cluster: --cluster-listen, --peers, --nats, --node-name,
	// --cluster-name, --data-dir, --cluster-token-file
	clusterListen, peers, natsURLs string
	nodeName, clusterName, dataDir string
	clusterTokenFile               string
	bridgeTokenFile                string
	adminPasswordFile              string
	admin                          bool
	// set holds the flags given on the command line, which override the
	// configuration file.
	set map[string]bool
}

// register declares the flags, each default the value the router runs
// with when neither the flag nor the configuration file gives one.
func (f *routerFlags) register(fs *flagSet) {
	fs.String(&f.config, "config", "", "read listeners, realms, roles, limits... from this YAML or JSON `file` (see the README); flags given as well override it", nil)
	fs.String(&f.listen, "listen", "127.0.0.1:8080", "serve WebSocket (/ws), health (/healthz) and metrics (/metrics) on this `HOST:PORT`; with --config, replaces the address of the file's first websocket listener", checkListen)
	fs.List(&f.rawsockets, "rawsocket", "also serve WAMP over RawSocket on this `address`: a TCP HOST:PORT or a Unix socket unix:PATH (repeatable)", checkRawSocket)
	fs.List(&f.realms, "realm", "another `realm` to serve, open to anonymous sessions with every permission (repeatable); without --config, realm1 is always served", checkRealm)
	fs.Var(&f.history, "event-history", "keep the last LIMIT events of the topics a `rule` [prefix:|wildcard:]TOPIC=LIMIT matches, for wamp.subscription.get_events (repeatable)")
	fs.Int(&f.maxMessage, "max-message-size", transport.DefaultMaxMessageSize, fmt.Sprintf("largest incoming message, in `bytes`, from %d (1 KiB) to %d (1 GiB)", transport.MinMessageSize, transport.MaxMessageSize), checkMessageSize)
	fs.Int(&f.queue, "outbound-queue", transport.DefaultOutboundQueue, "`count` of messages queued for a slow peer before it is disconnected", checkCount)
	fs.Int(&f.maxConns, "max-connections", connlimit.DefaultMaxConnections, "connections open at once on all listeners (a `count`, or -1 for no limit); over it a connection is refused", checkConnLimit)
	fs.Int(&f.maxConnsPerIP, "max-connections-per-ip", connlimit.DefaultMaxConnectionsPerIP, "connections open at once from one IP address, IPv6: one /64 (a `count`, or -1 for no limit)", checkConnLimit)
	fs.Duration(&f.idleTimeout, "idle-timeout", connlimit.DefaultIdleTimeout, "close an HTTP keep-alive connection idle for this `duration`", checkTimeout)
	fs.String(&f.clusterListen, "cluster-listen", "", "join a cluster: accept routes from the other nodes on this `HOST:PORT` (an embedded NATS server; see \"Running a cluster\" in the README)", checkOptionalHostPort)
	fs.String(&f.peers, "peers", "", "other nodes' --cluster-listen addresses, comma-separated `HOST:PORT,...` (one is enough: NATS finds the rest)", checkHostPorts)
	fs.String(&f.natsURLs, "nats", "", "join a cluster through an existing NATS deployment, comma-separated `nats://HOST:PORT,...`, instead of an embedded server", checkNATSURLs)
	fs.String(&f.nodeName, "node-name", "", "this node's `name` in the cluster (default: host name and cluster port)", checkNodeName)
	fs.String(&f.clusterName, "cluster-name", cluster.DefaultCluster, "the cluster's `name`: nodes with other names on the same NATS do not see each other", checkNodeName)
	fs.String(&f.dataDir, "data-dir", "", "store the embedded NATS server's JetStream in this `directory`, clustered with the peers' (default: no JetStream); the webhooks' queue goes in its webhooks subdirectory", nil)
	fs.String(&f.clusterTokenFile, "cluster-token-file", "", "`file` holding the secret every node of the cluster shares: routes and NATS connections must present it", nil)
	fs.String(&f.bridgeTokenFile, "http-bridge-token-file", "", "serve the HTTP bridge (POST /publish, POST /call) to requests bearing the token this `file` holds, as authid and authrole http-bridge in realm1", nil)
	fs.Bool(&f.admin, "admin", "serve the web admin at /admin/ to user admin, with a password made for the run and logged at start (unless --admin-password-file or the admin section gives users)")
	fs.String(&f.adminPasswordFile, "admin-password-file", "", "serve the web admin at /admin/ to user admin, whose password this `file` holds (hashed when read)", nil)
	f.logs.register(fs, "info")
}

// parsed records which flags fs was given.
func (f *routerFlags) parsed(fs *flagSet) {
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
}

// startServer validates the whole configuration, loads the certificates,
// opens every listener, and only then serves: a configuration error or a
// listener that cannot be opened leaves nothing running.
func startServer(f *routerFlags, stderr io.Writer) (*server, error) {
	p, err := f.plan()
	if err != nil {
		return nil, err
	}
	log, err := p.logs.logger(stderr)
	if err != nil {
		return nil, err
	}
	var logs *admin.LogBuffer
	if p.admin != nil {
		// The admin's log tail sees what the router logs.
		logs = admin.NewLogBuffer(log.Handler(), 1000)
		log = slog.New(logs)
	}
	p.cfg.Logger = log
	p.cfg.Transport.Logger = log
	rt, err := router.New(p.cfg)
	if err != nil {
		return nil, usageError{err}
	}
	lim := connlimit.New(p.conns, rt.Metrics(), log)
	opened, err := openListeners(p.listeners, lim)
	if err != nil {
		rt.Stop(context.Background())
		return nil, err
	}
	s := &server{router: rt, log: log, listeners: opened, idleTimeout: lim.Config().IdleTimeout, stopRawSockets: func() {}}
	// abandon undoes what was started, before anything is served.
	abandon := func(err error) (*server, error) {
		for _, o := range opened {
			o.ln.Close()
		}
		s.stop() // the links started, the router, the cluster node
		return nil, err
	}
	if p.cluster.Enabled() {
		p.cluster.Logger = log
		if s.node, err = cluster.Start(context.Background(), p.cluster, rt); err != nil {
			return abandon(err)
		}
	}
	if p.bridge != nil {
		p.bridge.Logger = log
		if s.bridge, err = admin.NewBridge(rt, *p.bridge); err != nil {
			return abandon(usageError{err})
		}
	}
	if p.webhooks != nil {
		if s.webhooks, err = startWebhooks(p.webhooks, rt, log); err != nil {
			return abandon(err)
		}
	}
	if p.admin != nil {
		p.admin.Logger = log
		src := admin.Sources{Logs: logs}
		if s.webhooks != nil {
			src.Webhooks = func() any { return s.webhooks.Status() }
			src.Queues = webhookQueues(s.webhooks.d.Queue())
		}
		cfg := *p.admin
		if len(cfg.Users) == 0 { // --admin alone
			u, password, err := admin.GeneratedUser("admin")
			if err != nil {
				return abandon(err)
			}
			cfg.Users = []admin.User{u}
			log.Info("web admin: log in as admin with the password made for this run (--admin-password-file sets one)",
				"url", adminURL(opened), "password", password)
		}
		if s.admin, err = admin.New(rt, cfg, src); err != nil {
			return abandon(err)
		}
	}
	for _, lc := range p.links {
		lc.Local, lc.Logger = rt, log
		l, err := link.New(lc)
		if err == nil {
			err = l.Start(context.Background())
		}
		if err != nil {
			return abandon(fmt.Errorf("link %s: %w", lc.Name, err))
		}
		s.links = append(s.links, l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopRawSockets = cancel
	for _, o := range opened {
		if o.spec.certs != nil {
			s.certs = append(s.certs, o.spec.certs)
		}
		switch o.spec.kind {
		case listenWebSocket:
			if s.ln == nil {
				s.ln = o.ln
			}
			s.serveHTTP(o)
		case listenRawSocket:
			s.rawSockets.Go(func() {
				serve := func(peer transport.Peer) { rt.AdoptFrom(peer, o.spec.listener) }
				if err := transport.ServeRawSocket(ctx, o.ln, p.cfg.Transport, serve); err != nil {
					log.Error("rawsocket server failed", "listener", o.spec.listener.Name, "err", err)
				}
			})
		}
		attrs := []any{"url", o.url(), "realms", rt.Realms()}
		if o.spec.certs != nil {
			attrs = append(attrs, o.spec.certs.logAttrs()...)
		}
		log.Info("router listening", attrs...)
	}
	return s, nil
}

// serveHTTP serves a WebSocket listener: WAMP on its path, /healthz and
// /metrics.
func (s *server) serveHTTP(o openListener) {
	mux := http.NewServeMux()
	mux.Handle(o.spec.path, s.router.Handler(o.spec.listener))
	mux.HandleFunc("/healthz", s.healthz)
	if s.bridge != nil {
		s.bridge.Register(mux)
	}
	if s.admin != nil {
		mux.Handle("/admin/", s.admin.Handler())
	}
	mux.Handle("/metrics", promhttp.HandlerFor(s.router.Metrics(), promhttp.HandlerOpts{}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       s.idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.https = append(s.https, srv)
	go func() {
		if err := srv.Serve(o.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server failed", "listener", o.spec.listener.Name, "err", err)
		}
	}()
}

// healthz answers 200 while the router runs, with a JSON body:
// {"status":"ok"}, and in a cluster the node's name and the nodes it
// sees, itself included. A node that sees no peer is still healthy: it
// serves its own sessions.
func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	body := map[string]any{"status": "ok"}
	if s.node != nil {
		body["node"] = s.node.Name()
		body["nodes"] = s.node.Nodes()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// reloadCertificates reads every TLS listener's certificate files again.
// A pair that fails to load is logged and the one in use is kept.
// Connections already established are not affected either way.
func (s *server) reloadCertificates() {
	for _, c := range s.certs {
		if err := c.reload(); err != nil {
			s.log.Error("TLS certificate not reloaded; the current one stays in use", append(c.logAttrs(), "err", err)...)
			continue
		}
		s.log.Info("TLS certificate reloaded", c.logAttrs()...)
	}
}

// stop closes the RawSocket listeners (removing Unix socket files), says
// GOODBYE to every session, then closes the HTTP listeners.
func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.stopRawSockets()
	for _, srv := range s.https {
		srv.SetKeepAlivesEnabled(false)
	}
	for _, l := range s.links {
		if err := l.Stop(ctx); err != nil {
			s.log.Warn("link: stopping", "err", err)
		}
	}
	if s.bridge != nil {
		if err := s.bridge.Close(ctx); err != nil {
			s.log.Warn("http bridge: closing", "err", err)
		}
	}
	if s.admin != nil {
		if err := s.admin.Close(ctx); err != nil {
			s.log.Warn("web admin: closing", "err", err)
		}
	}
	s.webhooks.stop(ctx)
	s.router.Stop(ctx)
	if s.node != nil {
		if err := s.node.Close(); err != nil {
			s.log.Warn("cluster: leaving", "err", err)
		}
	}
	for _, srv := range s.https {
		srv.Shutdown(ctx)
	}
	// The accept loops return once their sessions have, which Stop saw to.
	s.rawSockets.Wait()
	s.log.Info("router stopped")
}

func setupRouter(fs *flagSet) work {
	f := new(routerFlags)
	f.register(fs)
	return func(_ []string, _, stderr io.Writer) error {
		f.parsed(fs)
		return runRouter(f, stderr)
	}
}

// runRouter serves until SIGINT or SIGTERM, reloading the certificates on
// SIGHUP.
func runRouter(f *routerFlags, stderr io.Writer) error {
	wait := notifySignals()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	s, err := startServer(f, stderr)
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	go func() {
		wait()
		close(stopped)
	}()
	for {
		select {
		case <-hup:
			s.reloadCertificates()
		case <-stopped:
			s.stop()
			return nil
		}
	}
}

// notifySignals starts catching SIGINT and SIGTERM, before anything is
// announced, and returns a function that blocks until one arrives; a
// signal signals.Repeat or more after it exits at once (closer ones are
// the same request delivered twice, see internal/signals).
func notifySignals() (wait func()) {
	ctx, _ := signals.Notify(func() {
		fmt.Fprintln(os.Stderr, "junction: second signal, exiting now")
		os.Exit(1)
	})
	return func() { <-ctx.Done() }
}

// adminURL is where the web admin is served: on the first websocket
// listener.
func adminURL(opened []openListener) string {
	for _, o := range opened {
		if o.spec.kind == listenWebSocket {
			u := o.url()
			u = strings.Replace(strings.Replace(u, "wss://", "https://", 1), "ws://", "http://", 1)
			return strings.TrimSuffix(u, o.spec.path) + "/admin/"
		}
	}
	return "(no websocket listener)"
}

// Package cluster joins Junction routers into one logical router over
// NATS: the routers' realms, sessions, registrations and subscriptions
// span every node (see router.Node for what crosses and how).
//
// A node either runs an embedded NATS server clustered with its peers
// through NATS routes (Config.Listen, Config.Peers), or connects to an
// existing NATS deployment (Config.NATS). Either way, nodes find each
// other through beacons on a NATS subject, once a second by default; a
// node silent for Config.DeadAfter (3s by default) is dead to the others,
// which then drop its sessions. No state lives in NATS itself: each node
// holds its own sessions and mirrors its peers', so a node's death takes
// only its own sessions with it.
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/junction-run/junction/internal/natsserver"
	"github.com/junction-run/junction/router"
)

// Config configures a node.
type Config struct {
	// Name names the node, unique in the cluster: letters, digits, '-'
	// and '_'. Default: the host name and the port of Listen, or a random
	// suffix without Listen.
	Name string `json:"node_name,omitempty" yaml:"node_name,omitempty"`
	// Cluster names the cluster: nodes of different clusters on one NATS
	// deployment do not see each other. Default "junction".
	Cluster string `json:"name,omitempty" yaml:"name,omitempty"`
	// Listen is the HOST:PORT where the embedded NATS server accepts
	// routes from its peers (--cluster-listen).
	Listen string `json:"listen,omitempty" yaml:"listen,omitempty"`
	// Peers are the HOST:PORT route addresses of other nodes (--peers).
	// A node need not list every other: NATS routes gossip the rest.
	Peers []string `json:"peers,omitempty" yaml:"peers,omitempty"`
	// NATS are the URLs of an existing NATS deployment to use instead of
	// an embedded server (--nats); Listen and Peers must then be empty.
	NATS []string `json:"nats,omitempty" yaml:"nats,omitempty"`
	// Token authenticates routes between embedded servers and the
	// connection to them, and is the token given to the NATS of --nats.
	Token string `json:"-" yaml:"-"`
	// DataDir, if set, enables JetStream in the embedded server, stored
	// there, clustered with the peers' (queues and cron locks then
	// survive the loss of a node). Peers must then list every node, this
	// one included (NATS ignores the route to itself), as a JetStream
	// cluster needs configured routes on every server. Default: no
	// JetStream.
	DataDir string `json:"data_dir,omitempty" yaml:"data_dir,omitempty"`
	// ClientListen, if set, is where the embedded server also accepts
	// NATS clients (an app's queue workers in other processes...).
	ClientListen string `json:"client_listen,omitempty" yaml:"client_listen,omitempty"`
	// Beacon is how often the node announces itself. Default 1s.
	Beacon time.Duration `json:"beacon,omitempty" yaml:"beacon,omitempty"`
	// DeadAfter is how long a silent node is still taken for alive.
	// Default 3s; it must be at least twice Beacon.
	DeadAfter time.Duration `json:"dead_after,omitempty" yaml:"dead_after,omitempty"`
	// Logger receives the node's logs. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// Defaults.
const (
	DefaultCluster   = "junction"
	DefaultBeacon    = time.Second
	DefaultDeadAfter = 3 * time.Second
)

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("cluster: invalid configuration")

// Enabled reports whether the configuration asks for a cluster at all.
func (c Config) Enabled() bool { return c.Listen != "" || len(c.Peers) > 0 || len(c.NATS) > 0 }

func (c Config) withDefaults() Config {
	if c.Cluster == "" {
		c.Cluster = DefaultCluster
	}
	if c.Beacon == 0 {
		c.Beacon = DefaultBeacon
	}
	if c.DeadAfter == 0 {
		c.DeadAfter = DefaultDeadAfter
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Name == "" {
		c.Name = defaultName(c.Listen)
	}
	return c
}

// defaultName is the host name and the port of listen, made a valid node
// name.
func defaultName(listen string) string {
	host, _ := os.Hostname()
	suffix := ""
	if _, port, err := net.SplitHostPort(listen); err == nil && port != "0" {
		suffix = port
	} else {
		suffix = strconv.FormatInt(time.Now().UnixNano()%1e6, 10)
	}
	name := []rune{}
	for _, c := range host + "-" + suffix {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			c = '-'
		}
		name = append(name, c)
	}
	s := string(name)
	if len(s) > 64 {
		s = s[len(s)-64:]
	}
	return s
}

// Validate checks the configuration; errors name the setting at fault.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if !router.ValidNodeName(c.Name) {
		return bad("node name %q: want 1 to 64 letters, digits, '-' or '_'", c.Name)
	}
	if !router.ValidNodeName(c.Cluster) {
		return bad("cluster name %q: want 1 to 64 letters, digits, '-' or '_'", c.Cluster)
	}
	if len(c.NATS) > 0 && (c.Listen != "" || len(c.Peers) > 0 || c.DataDir != "" || c.ClientListen != "") {
		return bad("--nats joins an existing NATS: it excludes --cluster-listen, --peers, the data dir and the client listener of an embedded server")
	}
	if c.DataDir != "" && len(c.Peers) == 0 {
		return bad("a JetStream cluster (--data-dir) needs its nodes listed in --peers on every node: give every node's --cluster-listen address, this node's included")
	}
	if len(c.NATS) == 0 && c.Listen == "" {
		return bad("--cluster-listen is required to run an embedded NATS server (or give --nats)")
	}
	for _, a := range append([]string{c.Listen, c.ClientListen}, c.Peers...) {
		if a == "" {
			continue
		}
		if _, _, err := hostPort(a); err != nil {
			return bad("address %q: %v", a, err)
		}
	}
	for _, u := range c.NATS {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || (p.Scheme != "nats" && p.Scheme != "tls" && p.Scheme != "ws" && p.Scheme != "wss") {
			return bad("NATS URL %q: want nats://HOST:PORT", u)
		}
	}
	if c.Beacon < 10*time.Millisecond {
		return bad("beacon %s: want 10ms or more", c.Beacon)
	}
	if c.DeadAfter < 2*c.Beacon {
		return bad("dead_after %s: want at least twice the beacon interval (%s)", c.DeadAfter, c.Beacon)
	}
	return nil
}

func hostPort(a string) (string, int, error) { return natsserver.HostPort(a) }

// Node is a running member of a cluster.
type Node struct {
	cfg  Config
	log  *slog.Logger
	node *router.Node
	srv  *server.Server // nil with Config.NATS
	nc   *nats.Conn
	subs []*nats.Subscription

	prefix      string // "junction.<cluster>."
	incarnation uint64
	events      chan *nats.Msg
	stop        chan struct{}
	done        chan struct{}
	closeOnce   sync.Once

	// seen holds the live peers' last beacons; only loop uses it.
	seen map[string]time.Time
}

// beacon is what a node announces on the beacon subject.
type beacon struct {
	Name        string `json:"name"`
	Incarnation uint64 `json:"inc"`
	Seq         uint64 `json:"seq"`
}

// Start makes r a node of the cluster cfg describes: it starts the
// embedded NATS server (or connects to cfg.NATS) and starts announcing
// itself. Peers need not be up: they are found whenever they come.
func Start(ctx context.Context, cfg Config, r *router.Router) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Node{cfg: cfg, log: cfg.Logger, prefix: "junction." + cfg.Cluster + ".",
		incarnation: uint64(time.Now().UnixNano()), events: make(chan *nats.Msg, 1<<16),
		stop: make(chan struct{}), done: make(chan struct{}), seen: make(map[string]time.Time)}
	opts := []nats.Option{nats.Name("junction node " + cfg.Name), nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond), nats.NoEcho(),
		nats.ReconnectHandler(func(*nats.Conn) { n.log.Info("cluster: NATS connection back", "node", cfg.Name) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				n.log.Warn("cluster: NATS connection lost: reconnecting", "node", cfg.Name, "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			n.log.Warn("cluster: NATS error", "node", cfg.Name, "err", err)
		}),
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	var err error
	if len(cfg.NATS) > 0 {
		n.nc, err = nats.Connect(strings.Join(cfg.NATS, ","), append(opts, nats.RetryOnFailedConnect(true))...)
	} else {
		if n.srv, err = startServer(ctx, cfg); err != nil {
			return nil, err
		}
		n.nc, err = nats.Connect("", append(opts, nats.InProcessServer(n.srv))...)
	}
	if err != nil {
		n.shutdownServer()
		return nil, fmt.Errorf("cluster: connect to NATS: %w", err)
	}
	if n.node, err = r.JoinCluster(cfg.Name, n); err != nil {
		n.nc.Close()
		n.shutdownServer()
		return nil, err
	}
	for _, subject := range []string{n.prefix + "node." + cfg.Name, n.prefix + "beacon"} {
		sub, err := n.nc.ChanSubscribe(subject, n.events)
		if err != nil {
			n.nc.Close()
			n.shutdownServer()
			return nil, fmt.Errorf("cluster: subscribe %s: %w", subject, err)
		}
		sub.SetPendingLimits(-1, -1)
		n.subs = append(n.subs, sub)
	}
	go n.loop()
	n.announce()
	attrs := []any{"node", cfg.Name, "cluster", cfg.Cluster}
	if n.srv != nil {
		attrs = append(attrs, "routes", n.RouteAddr(), "peers", cfg.Peers)
	} else {
		attrs = append(attrs, "nats", cfg.NATS)
	}
	n.log.Info("cluster: node started", attrs...)
	return n, nil
}

// startServer starts the embedded NATS server, clustered with the peers.
func startServer(ctx context.Context, cfg Config) (*server.Server, error) {
	opts := &server.Options{
		ServerName: cfg.Name,
		NoSigs:     true,
		// The node itself connects in process; without ClientListen the
		// client port is a random loopback one (the server does not
		// listen for routes when it listens for no client at all).
		Host:          "127.0.0.1",
		Port:          server.RANDOM_PORT,
		Authorization: cfg.Token,
		JetStream:     cfg.DataDir != "",
		StoreDir:      cfg.DataDir,
		Cluster: server.ClusterOpts{
			Name: cfg.Cluster,
			// Dead routes are found within seconds, not NATS's default
			// two minutes, so that they are dialed again soon.
			PingInterval: time.Second,
			MaxPingsOut:  3,
		},
	}
	if cfg.ClientListen != "" {
		opts.Host, opts.Port, _ = hostPort(cfg.ClientListen)
		if opts.Port == 0 {
			opts.Port = server.RANDOM_PORT
		}
	}
	opts.Cluster.Host, opts.Cluster.Port, _ = hostPort(cfg.Listen)
	if opts.Cluster.Port == 0 {
		opts.Cluster.Port = server.RANDOM_PORT
	}
	if cfg.Token != "" {
		opts.Cluster.Username, opts.Cluster.Password = "junction", cfg.Token
	}
	for _, p := range cfg.Peers {
		u := &url.URL{Scheme: "nats-route", Host: p}
		if cfg.Token != "" {
			u.User = url.UserPassword("junction", cfg.Token)
		}
		opts.Routes = append(opts.Routes, u)
	}
	quiet := func(msg string) bool {
		// A peer that is not up yet is redialed every second: not an
		// error worth more than a debug line each time.
		return strings.Contains(msg, "Error trying to connect to route")
	}
	return natsserver.Start(ctx, opts, natsserver.Logger{Log: cfg.Logger, Prefix: "nats: ", Quiet: quiet}, "cluster: embedded NATS server")
}

// Send sends a frame to a peer (router.Link).
func (n *Node) Send(node string, frame []byte) {
	data := make([]byte, 0, 1+len(n.cfg.Name)+len(frame))
	data = append(data, byte(len(n.cfg.Name)))
	data = append(data, n.cfg.Name...)
	data = append(data, frame...)
	if err := n.nc.Publish(n.prefix+"node."+node, data); err != nil {
		n.log.Warn("cluster: frame not sent", "to", node, "err", err)
	}
}

// loop is the link's goroutine: it hands frames and beacons to the
// router's node in the order they arrive, and finds dead peers.
func (n *Node) loop() {
	defer close(n.done)
	beat := time.NewTicker(n.cfg.Beacon)
	defer beat.Stop()
	check := time.NewTicker(n.cfg.Beacon / 4)
	defer check.Stop()
	for {
		select {
		case m := <-n.events:
			n.handle(m)
		case <-beat.C:
			n.announce()
		case now := <-check.C:
			n.reap(now)
		case <-n.stop:
			return
		}
	}
}

func (n *Node) handle(m *nats.Msg) {
	if strings.HasSuffix(m.Subject, ".beacon") {
		var b beacon
		if err := json.Unmarshal(m.Data, &b); err != nil || b.Name == n.cfg.Name {
			return
		}
		n.seen[b.Name] = time.Now()
		n.node.Seen(b.Name, b.Incarnation, b.Seq)
		return
	}
	if len(m.Data) == 0 || int(m.Data[0]) >= len(m.Data) {
		return
	}
	l := int(m.Data[0])
	n.node.Receive(string(m.Data[1:1+l]), m.Data[1+l:])
}

// reap loses the peers silent for longer than DeadAfter.
func (n *Node) reap(now time.Time) {
	for name, at := range n.seen {
		if now.Sub(at) > n.cfg.DeadAfter {
			delete(n.seen, name)
			n.log.Warn("cluster: node silent: taken for dead", "node", name, "after", n.cfg.DeadAfter)
			n.node.Lost(name)
		}
	}
}

func (n *Node) announce() {
	b, _ := json.Marshal(beacon{Name: n.cfg.Name, Incarnation: n.incarnation, Seq: n.node.Seq()})
	if err := n.nc.Publish(n.prefix+"beacon", b); err != nil {
		n.log.Debug("cluster: beacon not sent", "err", err)
	}
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Nodes returns the names of the nodes this node sees, itself included,
// sorted.
func (n *Node) Nodes() []string {
	names := append(n.node.Peers(), n.cfg.Name)
	slices.Sort(names)
	return names
}

// Conn is the node's NATS connection.
func (n *Node) Conn() *nats.Conn { return n.nc }

// ClientURL is where the embedded server accepts NATS clients, "" without
// Config.ClientListen or an embedded server.
func (n *Node) ClientURL() string {
	if n.srv == nil || n.cfg.ClientListen == "" {
		return ""
	}
	return n.srv.ClientURL()
}

// RouteAddr is the address the embedded server accepts routes on (its
// port resolved when Listen asked for port 0), "" with Config.NATS.
func (n *Node) RouteAddr() string {
	if n.srv == nil {
		return ""
	}
	if a := n.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Close leaves the cluster: the peers are told, so that they forget this
// node at once, then NATS is drained and the embedded server stopped.
// Call it once the router's sessions are gone (after Router.Stop), so
// that they left the cluster one by one.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		// The beacons stop first: one sent after the goodbye would make
		// the peers take this node for a new one.
		close(n.stop)
		<-n.done
		n.node.Leave()
		if ferr := n.nc.FlushTimeout(2 * time.Second); ferr != nil && !errors.Is(ferr, nats.ErrConnectionClosed) {
			err = ferr
		}
		n.nc.Close()
		n.shutdownServer()
		n.log.Info("cluster: node left", "node", n.cfg.Name)
	})
	return err
}

func (n *Node) shutdownServer() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
}

package junction

import (
	"time"

	"github.com/junction-run/junction/internal/connlimit"
)

// Settings are the built-in settings of an app's run command. Each comes,
// in this order of precedence, from its flag (--listen), its environment
// variable (MYAPP_LISTEN for an app named "myapp"), the settings file
// (--config), the defaults given to New with WithSettings, and the
// defaults below.
type Settings struct {
	// Listen is the HTTP address; the embedded router's WebSocket
	// endpoint is /ws on it. Default 127.0.0.1:8080. "" serves no HTTP:
	// for a component-only app (a service joined to a remote router with
	// Connect), or one whose embedded router only its own components use.
	Listen string `flag:"listen" json:"listen" yaml:"listen" help:"HTTP address; the embedded router serves WAMP at /ws on it (\"\" for no HTTP)"`
	// Connect, if set, is the URL of a remote router to join (ws://,
	// wss://, tcp://, unix:) instead of embedding one. Default: embed.
	Connect string `flag:"connect" json:"connect" yaml:"connect" help:"URL of a remote router to join instead of embedding one (ws://host:port/ws)"`
	// Realm is the WAMP realm. Default realm1.
	Realm string `flag:"realm" json:"realm" yaml:"realm" help:"WAMP realm to serve (embedded router) or join"`
	// Debug turns on verbose logs, template reloading and the slow
	// handler watchdog.
	Debug bool `flag:"debug" json:"debug" yaml:"debug" help:"verbose logs, template reloading, slow handler watchdog"`
	// DataDir is where the app keeps its state (the embedded NATS
	// server's store of queues), locked while the app runs: a second
	// process on the same directory is refused. Default
	// $STATE_DIRECTORY (systemd's StateDirectory=), else
	// $XDG_STATE_HOME/APP, else ~/.local/state/APP, never the working
	// directory; in a test binary, Start without Main uses a temporary
	// directory instead, removed by Shutdown. Created (0700) only when
	// something stores in it.
	DataDir string `flag:"data-dir" json:"data-dir" yaml:"data-dir" help:"directory for the app's state, locked while the app runs"`
	// NATS, if set, is the URL of the NATS server (JetStream) that holds
	// the app's queues and cron locks, shared by every process of the
	// app. Default: a server embedded in the app, storing in DataDir.
	NATS string `flag:"nats" json:"nats" yaml:"nats" help:"URL of an external NATS server for queues and cron locks (default: embedded, in --data-dir)"`
	// NATSListen, if set, makes the embedded NATS server reachable at
	// this host:port, so that other processes of the app share it with
	// --nats nats://HOST:PORT. Default: in-process only.
	NATSListen string `flag:"nats-listen" json:"nats-listen" yaml:"nats-listen" help:"address where other processes reach the embedded NATS server"`
	// ClusterListen, if set, makes the app's embedded router a node of a
	// cluster of instances of the app: its NATS server accepts routes
	// from the other instances at this host:port. The app needs the
	// cluster's code: a queue, a cron job or the Clustered option.
	ClusterListen string `flag:"cluster-listen" json:"cluster-listen" yaml:"cluster-listen" help:"join other instances in a cluster: accept their routes on this host:port"`
	// Peers are the other instances' ClusterListen addresses; with
	// queues, every instance's, this one's included.
	Peers []string `flag:"peers" json:"peers" yaml:"peers" help:"the other instances' --cluster-listen addresses (comma-separated)"`
	// NodeName names this instance in the cluster. Default: host name
	// and cluster port.
	NodeName string `flag:"node-name" json:"node-name" yaml:"node-name" help:"this instance's name in the cluster"`
	// ClusterTokenFile holds the secret every instance of the cluster
	// shares.
	ClusterTokenFile string `flag:"cluster-token-file" json:"cluster-token-file" yaml:"cluster-token-file" help:"file holding the secret the instances of the cluster share"`
	// Metrics is the path where the app serves its Prometheus metrics
	// (and the embedded router's), ahead of its own routes. Default
	// /metrics; "" serves none.
	Metrics string `flag:"metrics" json:"metrics" yaml:"metrics" help:"path of the Prometheus metrics endpoint (\"\" for none)"`
	// Admin serves the web admin at /admin/ (package admin), to user
	// admin with a password made for the run and logged at start, unless
	// AdminPasswordFile gives one. It needs the embedded router.
	Admin bool `flag:"admin" json:"admin" yaml:"admin" help:"serve the web admin at /admin/ (user admin; a password made for the run is logged unless --admin-password-file gives one)"`
	// AdminPasswordFile serves the web admin to user admin, whose
	// password the file holds (hashed when read).
	AdminPasswordFile string `flag:"admin-password-file" json:"admin-password-file" yaml:"admin-password-file" help:"serve the web admin at /admin/ to user admin, whose password this file holds"`
	// HTTPBridgeTokenFile serves the HTTP bridge (POST /publish, POST
	// /call, crossbar.io's bodies) to requests bearing the token the
	// file holds, as authid and authrole http-bridge.
	HTTPBridgeTokenFile string `flag:"http-bridge-token-file" json:"http-bridge-token-file" yaml:"http-bridge-token-file" help:"serve POST /publish and /call to requests bearing the token this file holds"`
	// LogFormat is text or json. Default text.
	LogFormat string `flag:"log-format" json:"log-format" yaml:"log-format" help:"log format: text or json"`
	// LogLevel is debug, info, warn or error. Default info (debug with
	// Debug).
	LogLevel string `flag:"log-level" json:"log-level" yaml:"log-level" help:"log level: debug, info, warn or error"`
	// ShutdownTimeout bounds how long a graceful shutdown waits for
	// in-flight HTTP requests and WAMP calls. Default 10s.
	ShutdownTimeout time.Duration `flag:"shutdown-timeout" json:"shutdown-timeout" yaml:"shutdown-timeout" help:"how long shutdown waits for in-flight requests and calls"`
	// SlowHandler is the watchdog threshold in debug mode: a handler
	// running longer is reported with its stack. Default 100ms.
	SlowHandler time.Duration `flag:"slow-handler" json:"slow-handler" yaml:"slow-handler" help:"debug mode: report handlers running longer than this"`
	// MaxConnections bounds the HTTP and WebSocket connections open at
	// once; over it a connection gets 503 and is closed. Default 100000;
	// -1 for no limit.
	MaxConnections int `flag:"max-connections" json:"max-connections" yaml:"max-connections" help:"connections open at once; over it a connection is refused with 503 (-1: no limit)"`
	// MaxConnectionsPerIP bounds the connections open at once from one
	// IP address (IPv6: one /64). Default 1000; -1 for no limit.
	MaxConnectionsPerIP int `flag:"max-connections-per-ip" json:"max-connections-per-ip" yaml:"max-connections-per-ip" help:"connections open at once from one IP address (-1: no limit)"`
	// IdleTimeout closes an HTTP keep-alive connection idle that long.
	// Default 60s.
	IdleTimeout time.Duration `flag:"idle-timeout" json:"idle-timeout" yaml:"idle-timeout" help:"close an HTTP keep-alive connection idle for this long"`
}

func defaultSettings() Settings {
	return Settings{
		Listen:          defaultListen,
		Realm:           "realm1",
		Metrics:         "/metrics",
		LogFormat:       "text",
		LogLevel:        "info",
		ShutdownTimeout: 10 * time.Second,
		SlowHandler:     100 * time.Millisecond,

		MaxConnections:      connlimit.DefaultMaxConnections,
		MaxConnectionsPerIP: connlimit.DefaultMaxConnectionsPerIP,
		IdleTimeout:         connlimit.DefaultIdleTimeout,
	}
}

package junction_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/junction-run/junction"
)

// An app's own settings come, like the built-in ones, from flags,
// environment variables and the settings file; --help lists them all.
func ExampleApplication_AddSettings() {
	app := junction.New("shop")

	settings := struct {
		MaxItems int           `help:"most items in a cart"`
		Currency string        `env:"CURRENCY" help:"prices' currency"`
		Poll     time.Duration `help:"how often to poll the suppliers"`
		DB       struct {
			Host string `help:"database host"`
		}
	}{MaxItems: 10, Currency: "EUR", Poll: time.Minute}
	app.AddSettings(&settings)
	app.Flags().Bool("dry-run", false, "change nothing") // the standard library's flags work too

	app.Main(context.Background(), []string{"--help"}, os.Stdout, os.Stderr)
	// Output:
	// Usage:
	//   shop [run] [flags]           run the app (the default command)
	//   shop template [flags] KIND   print a deployment file for KIND: nginx, systemd, supervisord, openrc, docker
	//   shop help [command]          show this help, or a command's
	//
	// Settings:
	//   --config file
	//         settings file, YAML or JSON, whose keys are the flags' names
	//         (env SHOP_CONFIG)
	//   --listen string
	//         HTTP address; the embedded router serves WAMP at /ws on it ("" for no HTTP)
	//         (default 127.0.0.1:8080, env SHOP_LISTEN)
	//   --connect string
	//         URL of a remote router to join instead of embedding one (ws://host:port/ws)
	//         (env SHOP_CONNECT)
	//   --realm string
	//         WAMP realm to serve (embedded router) or join
	//         (default realm1, env SHOP_REALM)
	//   --debug
	//         verbose logs, template reloading, slow handler watchdog
	//         (env SHOP_DEBUG)
	//   --data-dir string
	//         directory for the app's state, locked while the app runs
	//         (default ~/.local/state/shop, env SHOP_DATA_DIR)
	//   --nats string
	//         URL of an external NATS server for queues and cron locks (default: embedded, in --data-dir)
	//         (env SHOP_NATS)
	//   --nats-listen string
	//         address where other processes reach the embedded NATS server
	//         (env SHOP_NATS_LISTEN)
	//   --cluster-listen string
	//         join other instances in a cluster: accept their routes on this host:port
	//         (env SHOP_CLUSTER_LISTEN)
	//   --peers list
	//         the other instances' --cluster-listen addresses (comma-separated)
	//         (env SHOP_PEERS)
	//   --node-name string
	//         this instance's name in the cluster
	//         (env SHOP_NODE_NAME)
	//   --cluster-token-file string
	//         file holding the secret the instances of the cluster share
	//         (env SHOP_CLUSTER_TOKEN_FILE)
	//   --metrics string
	//         path of the Prometheus metrics endpoint ("" for none)
	//         (default /metrics, env SHOP_METRICS)
	//   --admin
	//         serve the web admin at /admin/ (user admin; a password made for the run is logged unless --admin-password-file gives one)
	//         (env SHOP_ADMIN)
	//   --admin-password-file string
	//         serve the web admin at /admin/ to user admin, whose password this file holds
	//         (env SHOP_ADMIN_PASSWORD_FILE)
	//   --http-bridge-token-file string
	//         serve POST /publish and /call to requests bearing the token this file holds
	//         (env SHOP_HTTP_BRIDGE_TOKEN_FILE)
	//   --log-format string
	//         log format: text or json
	//         (default text, env SHOP_LOG_FORMAT)
	//   --log-level string
	//         log level: debug, info, warn or error
	//         (default info, env SHOP_LOG_LEVEL)
	//   --shutdown-timeout duration
	//         how long shutdown waits for in-flight requests and calls
	//         (default 10s, env SHOP_SHUTDOWN_TIMEOUT)
	//   --slow-handler duration
	//         debug mode: report handlers running longer than this
	//         (default 100ms, env SHOP_SLOW_HANDLER)
	//   --max-connections int
	//         connections open at once; over it a connection is refused with 503 (-1: no limit)
	//         (default 100000, env SHOP_MAX_CONNECTIONS)
	//   --max-connections-per-ip int
	//         connections open at once from one IP address (-1: no limit)
	//         (default 1000, env SHOP_MAX_CONNECTIONS_PER_IP)
	//   --idle-timeout duration
	//         close an HTTP keep-alive connection idle for this long
	//         (default 1m0s, env SHOP_IDLE_TIMEOUT)
	//
	// Settings of shop:
	//   --max-items int
	//         most items in a cart
	//         (default 10, env SHOP_MAX_ITEMS)
	//   --currency string
	//         prices' currency
	//         (default EUR, env CURRENCY)
	//   --poll duration
	//         how often to poll the suppliers
	//         (default 1m0s, env SHOP_POLL)
	//   --db-host string
	//         database host
	//         (env SHOP_DB_HOST)
	//   --dry-run
	//         change nothing
	//         (env SHOP_DRY_RUN)
	//
	// Each setting comes from its flag, else its environment variable, else
	// the settings file (--config, YAML or JSON), else its default.
}

// A mistake on the command line, in the environment or in the settings
// file stops the app before it starts, with exit code 2.
func ExampleApplication_Main() {
	app := junction.New("shop")
	settings := struct{ MaxItems int }{MaxItems: 10}
	app.AddSettings(&settings)

	code := app.Main(context.Background(), []string{"--max-items=lots"}, os.Stdout, os.Stdout)
	fmt.Println("exit code", code)
	// Output:
	// shop: invalid value "lots" for --max-items: want an integer
	// run 'shop --help' for usage
	// exit code 2
}

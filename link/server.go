package link

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/junction-run/junction/internal/natsserver"
	"github.com/nats-io/nats-server/v2/server"
)

// leafReconnect is how often the embedded server redials the peer's
// leaf node listener while the connection is down.
const leafReconnect = time.Second

// startServer starts the embedded NATS server: JetStream in domain
// cfg.Name, a leaf node listener and/or remote, no client listener (the
// link talks to it in-process).
// It returns the leaf node listener's address too, "" without one.
func startServer(ctx context.Context, cfg Config) (*server.Server, string, error) {
	opts := &server.Options{
		ServerName:      "junction-link-" + cfg.Name,
		JetStream:       true,
		JetStreamDomain: cfg.Name,
		StoreDir:        filepath.Join(cfg.DataDir, "jetstream"),
		NoSigs:          true,
		DontListen:      true,
	}
	if cfg.Listen != "" {
		host, port, _ := splitListen(cfg.Listen) // validated
		if port == 0 {
			port = server.RANDOM_PORT
		}
		opts.LeafNode.Host, opts.LeafNode.Port = host, port
		// The peer redials the URL it was given, never an address of
		// ours it would learn (wrong behind a proxy or NAT).
		opts.LeafNode.NoAdvertise = true
		// A token is a user without password, as a remote with only a
		// user in its URL presents it.
		opts.LeafNode.Username, opts.LeafNode.Password = cfg.User, cfg.Password
		if cfg.Token != "" {
			opts.LeafNode.Username = cfg.Token
		}
	}
	if cfg.Remote != "" {
		u, _ := remoteURL(cfg.Remote, cfg.User, cfg.Password, cfg.Token) // validated
		opts.LeafNode.ReconnectInterval = leafReconnect
		opts.LeafNode.Remotes = []*server.RemoteLeafOpts{{URLs: []*url.URL{u}}}
	}
	quiet := func(msg string) bool {
		// The peer is down or restarting: the link says so itself, once,
		// rather than at every redial.
		return strings.Contains(strings.ToLower(msg), "leafnode")
	}
	srv, err := natsserver.Start(ctx, opts, natsserver.Logger{Log: cfg.Logger.With("link", cfg.Name), Prefix: "link: nats: ", Quiet: quiet},
		"link: embedded NATS server")
	if err != nil {
		return nil, "", err
	}
	addr := ""
	if cfg.Listen != "" {
		// The server wrote the port it got back into opts, under the
		// lock ReadyForConnections took after it.
		addr = net.JoinHostPort(opts.LeafNode.Host, strconv.Itoa(opts.LeafNode.Port))
	}
	return srv, addr, nil
}

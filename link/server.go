package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, "", fmt.Errorf("link: embedded NATS server: %w", err)
	}
	srv.SetLoggerV2(serverLogger{cfg.Logger.With("link", cfg.Name)}, false, false, false)
	srv.Start()
	for deadline := time.Now().Add(30 * time.Second); !srv.ReadyForConnections(50 * time.Millisecond); {
		if err := ctx.Err(); err != nil {
			srv.Shutdown()
			return nil, "", fmt.Errorf("link: embedded NATS server: not ready: %w", context.Cause(ctx))
		}
		if time.Now().After(deadline) {
			srv.Shutdown()
			return nil, "", errors.New("link: embedded NATS server: not ready after 30s")
		}
	}
	addr := ""
	if cfg.Listen != "" {
		// The server wrote the port it got back into opts, under the
		// lock ReadyForConnections took after it.
		addr = net.JoinHostPort(opts.LeafNode.Host, strconv.Itoa(opts.LeafNode.Port))
	}
	return srv, addr, nil
}

// serverLogger passes the embedded server's logs to slog: notices at
// debug level, leaf node connection errors (the peer is down, which the
// link reports itself) at debug too, the rest at their own level.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) {
	l.log.Debug("link: nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Warnf(format string, v ...any) {
	l.log.Warn("link: nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Fatalf(format string, v ...any) {
	l.log.Error("link: nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(strings.ToLower(msg), "leafnode") {
		// The peer is down or restarting: the link says so itself,
		// once, rather than at every redial.
		l.log.Debug("link: nats: " + msg)
		return
	}
	l.log.Error("link: nats: " + msg)
}
func (l serverLogger) Debugf(format string, v ...any) {
	l.log.Debug("link: nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Tracef(format string, v ...any) {
	l.log.Debug("link: nats: " + fmt.Sprintf(format, v...))
}

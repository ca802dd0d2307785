package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startServer starts the embedded server and waits until it accepts
// clients, at most 30s or until ctx ends.
func startServer(ctx context.Context, cfg Config) (embeddedServer, error) {
	opts := &server.Options{
		ServerName: "junction-" + cfg.Namespace,
		JetStream:  true,
		StoreDir:   cfg.DataDir,
		SyncAlways: cfg.SyncAlways,
		NoSigs:     true,
		DontListen: cfg.Listen == "",
		// Authorization is what clients give as their token: unset,
		// the server asks nothing.
		Authorization: cfg.Token,
	}
	if cfg.Listen != "" {
		opts.Host, opts.Port, _ = listenAddr(cfg.Listen) // validated
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("queue: embedded NATS server: %w", err)
	}
	srv.SetLoggerV2(serverLogger{cfg.Logger}, false, false, false)
	srv.Start()
	for deadline := time.Now().Add(30 * time.Second); !srv.ReadyForConnections(50 * time.Millisecond); {
		if err := ctx.Err(); err != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("queue: embedded NATS server: not ready: %w", context.Cause(ctx))
		}
		if time.Now().After(deadline) {
			srv.Shutdown()
			return nil, errors.New("queue: embedded NATS server: not ready after 30s")
		}
	}
	return srv, nil
}

// listenAddr splits a Listen address; port 0 asks for a free port.
func listenAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// serverLogger passes the embedded server's logs to slog: notices at
// debug level (the server is chatty when it starts), the rest at their
// own level.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Errorf(format string, v ...any) {
	l.log.Error("nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Debugf(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}
func (l serverLogger) Tracef(format string, v ...any) {
	l.log.Debug("nats: " + fmt.Sprintf(format, v...))
}

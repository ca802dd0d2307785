// Package natsserver starts the NATS servers Junction embeds (the
// queues', a cluster node's, a link's) the same way: logs into slog,
// a bounded wait until the server takes connections.
package natsserver

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

// readyTimeout bounds the wait for a server to take connections.
const readyTimeout = 30 * time.Second

// Start creates a server from opts, logging through log, starts it and
// waits until it takes connections, at most 30s or until ctx ends. what
// names the server in errors ("queue: embedded NATS server").
func Start(ctx context.Context, opts *server.Options, log Logger, what string) (*server.Server, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	srv.SetLoggerV2(log, false, false, false)
	srv.Start()
	for deadline := time.Now().Add(readyTimeout); !srv.ReadyForConnections(50 * time.Millisecond); {
		if err := ctx.Err(); err != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("%s: not ready: %w", what, context.Cause(ctx))
		}
		if time.Now().After(deadline) {
			srv.Shutdown()
			return nil, errors.New(what + ": not ready after 30s (is its port free?)")
		}
	}
	return srv, nil
}

// Logger passes a server's logs to slog: notices, debug and trace lines
// at debug level (a server is chatty when it starts), warnings and
// errors at their own, except errors Quiet says are expected (a peer
// being redialed), which go to debug too. Every line starts with Prefix.
type Logger struct {
	Log    *slog.Logger
	Prefix string // e.g. "nats: "
	Quiet  func(msg string) bool
}

func (l Logger) Noticef(format string, v ...any) { l.Log.Debug(l.Prefix + fmt.Sprintf(format, v...)) }
func (l Logger) Warnf(format string, v ...any)   { l.Log.Warn(l.Prefix + fmt.Sprintf(format, v...)) }
func (l Logger) Fatalf(format string, v ...any)  { l.Log.Error(l.Prefix + fmt.Sprintf(format, v...)) }
func (l Logger) Debugf(format string, v ...any)  { l.Log.Debug(l.Prefix + fmt.Sprintf(format, v...)) }
func (l Logger) Tracef(format string, v ...any)  { l.Log.Debug(l.Prefix + fmt.Sprintf(format, v...)) }
func (l Logger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if l.Quiet != nil && l.Quiet(msg) {
		l.Log.Debug(l.Prefix + msg)
		return
	}
	l.Log.Error(l.Prefix + msg)
}

// HostPort splits a HOST:PORT address and checks the port.
func HostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

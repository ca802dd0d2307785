package queue

import (
	"context"

	"github.com/junction-run/junction/internal/natsserver"
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
	return natsserver.Start(ctx, opts, natsserver.Logger{Log: cfg.Logger, Prefix: "nats: "}, "queue: embedded NATS server")
}

// listenAddr splits a Listen address; port 0 asks for a free port.
func listenAddr(addr string) (string, int, error) {
	host, port, err := natsserver.HostPort(addr)
	if err != nil {
		return "", 0, err
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

package transport

import (
	"context"
	"fmt"

	"github.com/gobwas/ws"
)

// dialWebSocket connects to a WAMP router's WebSocket URL (ws:// or
// wss://), offering cfg.Serializers in order.
func dialWebSocket(ctx context.Context, url string, cfg Config) (Peer, error) {
	var protos []string
	for _, c := range cfg.Serializers {
		protos = append(protos, c.Subprotocol())
	}
	d := ws.Dialer{Protocols: protos, TLSConfig: cfg.TLS}
	conn, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", url, err)
	}
	c := pick(cfg.Serializers, hs.Protocol)
	if c == nil {
		conn.Close()
		return nil, fmt.Errorf("%w: router chose %q", ErrNoSubprotocol, hs.Protocol)
	}
	return newWSConn(conn, br, c, cfg, true), nil
}

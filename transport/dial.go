package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Dial connects to the WAMP router at rawURL, whose scheme picks the
// transport:
//
//	ws://host:port/path, wss://...     WebSocket (TLS for wss)
//	tcp://host:port, rs://host:port    RawSocket over TCP
//	tcps://host:port, rss://host:port  RawSocket over TLS over TCP
//	unix:///path/to.sock               RawSocket over a Unix socket
//	unix:/path/to.sock, unix:rel.sock
//
// rss is Autobahn's scheme for RawSocket over TLS, tcps the one other Go
// WAMP libraries use. TLS connections are configured by cfg.TLS.
//
// Over WebSocket it offers cfg.Serializers in order; over RawSocket it
// asks for them in turn, see DialRawSocket.
func Dial(ctx context.Context, rawURL string, cfg Config) (Peer, error) {
	cfg = cfg.withDefaults()
	scheme, _, ok := strings.Cut(rawURL, ":")
	if !ok {
		return nil, fmt.Errorf("transport: dial %q: no scheme: want a ws, wss, tcp, rs, tcps, rss or unix URL", rawURL)
	}
	secure := false
	switch strings.ToLower(scheme) {
	case "ws", "wss":
		return dialWebSocket(ctx, rawURL, cfg)
	case "tcp", "rs", "unix":
	case "tcps", "rss":
		secure = true
	default:
		return nil, fmt.Errorf("transport: dial %q: unknown scheme %q: want a ws, wss, tcp, rs, tcps, rss or unix URL", rawURL, scheme)
	}
	network, address, err := rawSocketAddr(rawURL)
	if err != nil {
		return nil, err
	}
	if secure {
		return dialRawSockets(ctx, network, address, cfg, tlsClientConfig(cfg.TLS, address))
	}
	return DialRawSocket(ctx, network, address, cfg)
}

// rawSocketAddr splits a tcp://, rs://, tcps://, rss:// or unix: URL into
// a network and an address for net.Dial.
func rawSocketAddr(rawURL string) (network, address string, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", fmt.Errorf("transport: dial: %w", err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("transport: dial %q: a RawSocket URL has no user, query or fragment", rawURL)
	}
	if strings.EqualFold(u.Scheme, "unix") {
		path := u.Path
		if u.Opaque != "" {
			path = u.Opaque // unix:relative/path.sock
		}
		if u.Host != "" || path == "" {
			return "", "", fmt.Errorf("transport: dial %q: want unix:///absolute/path or unix:path", rawURL)
		}
		return "unix", path, nil
	}
	if u.Host == "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return "", "", fmt.Errorf("transport: dial %q: want %s://host:port with no path", rawURL, u.Scheme)
	}
	return "tcp", u.Host, nil
}

// tlsClientConfig is c (or a zero config) with ServerName set to the
// host of address if it was empty.
func tlsClientConfig(c *tls.Config, address string) *tls.Config {
	if c == nil {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c = c.Clone()
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			host = address
		}
		c.ServerName = host
	}
	return c
}

// startTLS runs the client's TLS handshake on conn within ctx and the
// write timeout.
func startTLS(ctx context.Context, conn net.Conn, c *tls.Config, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tc := tls.Client(conn, c)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

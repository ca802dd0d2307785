package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DialRawSocket connects to a WAMP router's RawSocket listener: network
// is "tcp" (address host:port) or "unix" (address a socket path). It asks
// for the first of cfg.Serializers, and for the next one on a new
// connection each time the router answers that it does not support it.
// It announces the largest power of two not above cfg.MaxMessageSize
// (between 512 B and 16 MiB) as the longest message it reads.
//
// ctx bounds the connection and the handshake, which must also complete
// within cfg.WriteTimeout. Errors from the handshake wrap ErrHandshake,
// and ErrNoSubprotocol when no serializer was accepted.
func DialRawSocket(ctx context.Context, network, address string, cfg Config) (Peer, error) {
	return dialRawSockets(ctx, network, address, cfg.withDefaults(), nil)
}

// dialRawSockets is DialRawSocket, over TLS if tc is not nil.
func dialRawSockets(ctx context.Context, network, address string, cfg Config, tc *tls.Config) (Peer, error) {
	var refused error
	for _, c := range cfg.Serializers {
		id := rsSerializerID(c)
		if id == 0 {
			continue
		}
		p, err := dialRawSocket(ctx, network, address, id, cfg, tc)
		if err == nil || !errors.Is(err, ErrNoSubprotocol) {
			return p, err
		}
		refused = err
	}
	if refused == nil {
		refused = fmt.Errorf("%w: no serializer of the configuration has a RawSocket ID", ErrNoSubprotocol)
	}
	return nil, refused
}

// dialRawSocket connects, over TLS if tc is not nil, and asks for
// serializer id.
func dialRawSocket(ctx context.Context, network, address string, id byte, cfg Config, tc *tls.Config) (Peer, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s %s: %w", network, address, err)
	}
	if tc != nil {
		if conn, err = startTLS(ctx, conn, tc, cfg.WriteTimeout); err != nil {
			return nil, fmt.Errorf("transport: dial %s %s: TLS handshake: %w", network, address, err)
		}
	}
	deadline := time.Now().Add(cfg.WriteTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn.SetDeadline(deadline)
	unblock := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	nibble, limit := rsLength(cfg.MaxMessageSize)
	var reply [4]byte
	_, err = conn.Write([]byte{rsMagic, nibble<<4 | id, 0, 0})
	if err == nil {
		_, err = io.ReadFull(conn, reply[:])
	}
	if !unblock() && ctx.Err() != nil {
		err = ctx.Err()
	}
	var peerLimit int
	if err == nil {
		peerLimit, err = parseRSReply(reply, id)
	} else {
		err = fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("transport: rawsocket %s %s: %w", network, address, err)
	}
	conn.SetDeadline(time.Time{})
	return newRSConn(conn, rsCodec(cfg.Serializers, id), cfg, limit, peerLimit), nil
}

// parseRSReply checks the router's handshake reply to a request for
// serializer id, and returns the router's limit.
func parseRSReply(reply [4]byte, id byte) (int, error) {
	switch {
	case reply[0] != rsMagic:
		return 0, fmt.Errorf("%w: not a RawSocket router: first byte 0x%02x", ErrHandshake, reply[0])
	case reply[2] != 0 || reply[3] != 0:
		return 0, fmt.Errorf("%w: reserved bytes 0x%02x%02x set in the reply", ErrHandshake, reply[2], reply[3])
	case reply[1]&0x0f == 0:
		code := reply[1] >> 4
		err := fmt.Errorf("%w: router refused: %s (error %d)", ErrHandshake, rsErrorName(code), code)
		if code == rsErrSerializer {
			err = fmt.Errorf("%w: serializer %s: %w", ErrNoSubprotocol, rsSerializerName(id), err)
		}
		return 0, err
	case reply[1]&0x0f != id:
		return 0, fmt.Errorf("%w: router chose serializer %d, asked for %d", ErrHandshake, reply[1]&0x0f, id)
	}
	return rsLimit(reply[1] >> 4), nil
}

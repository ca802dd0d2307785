package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// AcceptRawSocket performs the router's side of the RawSocket opening
// handshake on a freshly accepted conn and returns the peer. It accepts
// the serializer the client asks for if it is in cfg.Serializers, and
// announces the largest power of two not above cfg.MaxMessageSize
// (between 512 B and 16 MiB) as the longest message it reads.
//
// The handshake must complete within cfg.WriteTimeout. On error conn is
// closed, after the specification's error reply where there is one:
// serializer unsupported (code 1) or use of reserved bits (code 3). The
// error wraps ErrHandshake, and ErrNoSubprotocol for a serializer refused.
func AcceptRawSocket(conn net.Conn, cfg Config) (Peer, error) {
	cfg = cfg.withDefaults()
	conn.SetDeadline(time.Now().Add(cfg.WriteTimeout))
	var req [4]byte
	if _, err := io.ReadFull(conn, req[:]); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: read request: %w", ErrHandshake, err)
	}
	if req[0] != rsMagic {
		// Not RawSocket at all: no reply makes sense.
		conn.Close()
		return nil, fmt.Errorf("%w: first byte 0x%02x, want 0x7f", ErrHandshake, req[0])
	}
	id := req[1] & 0x0f
	c := rsCodec(cfg.Serializers, id)
	var code byte
	var refused error
	switch {
	case req[2] != 0 || req[3] != 0:
		code = rsErrReserved
		refused = fmt.Errorf("%w: reserved bytes 0x%02x%02x set", ErrHandshake, req[2], req[3])
	case c == nil:
		code = rsErrSerializer
		refused = fmt.Errorf("%w: %w: serializer %d (%s) not accepted", ErrHandshake, ErrNoSubprotocol, id, rsSerializerName(id))
	}
	if refused != nil {
		conn.Write([]byte{rsMagic, code << 4, 0, 0})
		conn.Close()
		return nil, refused
	}
	nibble, limit := rsLength(cfg.MaxMessageSize)
	if _, err := conn.Write([]byte{rsMagic, nibble<<4 | id, 0, 0}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: write reply: %w", ErrHandshake, err)
	}
	conn.SetDeadline(time.Time{})
	r := newRSConn(conn, c, cfg, limit, rsLimit(req[1]>>4))
	r.preAuth()
	return r, nil
}

// ServeRawSocket accepts RawSocket connections on l until ctx is done or
// l is closed. Each connection's handshake (AcceptRawSocket) runs in a
// goroutine of its own, then serve runs there with the peer: pass a
// router's Attach. A failed handshake is logged at debug level and
// affects no other connection.
//
// When ctx is done, ServeRawSocket closes l and the connections whose
// handshake has not completed. It returns once every serve call has
// returned (ending the sessions is the router's Stop), with nil after ctx
// is done, or else the error that stopped Accept. Temporary Accept errors
// (too many open files...) are retried after a pause.
func ServeRawSocket(ctx context.Context, l net.Listener, cfg Config, serve func(Peer)) error {
	cfg = cfg.withDefaults()
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var pause time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var te interface{ Temporary() bool }
			if !errors.As(err, &te) || !te.Temporary() {
				return fmt.Errorf("transport: rawsocket accept on %s: %w", l.Addr(), err)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			cfg.Logger.Warn("transport: rawsocket accept failed; retrying", "addr", l.Addr().String(), "pause", pause, "err", err)
			select {
			case <-time.After(pause):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		pause = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Ending the handshake when ctx is done: its deadline passes.
			unblock := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
			p, err := AcceptRawSocket(conn, cfg)
			if !unblock() {
				// ctx ended the handshake, or was done just as it succeeded.
				if err == nil {
					p.Close()
				}
				return
			}
			if err != nil {
				cfg.Logger.Debug("transport: rawsocket handshake failed", "remote", remoteAddr(conn), "err", err)
				return
			}
			serve(p)
		}()
	}
}

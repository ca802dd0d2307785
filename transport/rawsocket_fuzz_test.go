package transport

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// fakeConn is a net.Conn that reads in, in small uneven chunks so that
// frames arrive in pieces, and records what is written.
type fakeConn struct {
	mu     sync.Mutex
	in     []byte
	out    bytes.Buffer
	closed bool
}

type fakeAddr struct{}

func (fakeAddr) Network() string { return "fake" }
func (fakeAddr) String() string  { return "fuzz" }

func (c *fakeConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+len(c.in)%13)], c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *fakeConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.out.Write(p)
}

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *fakeConn) written() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *fakeConn) LocalAddr() net.Addr              { return fakeAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return fakeAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

var discardLogger = slog.New(slog.DiscardHandler)

// fuzzMessages are valid messages of every serializer, to seed with.
func fuzzMessages(f *testing.F) (out [][]byte) {
	for _, m := range []wamp.Message{
		&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}},
		&wamp.Call{Request: 1, Procedure: "com.example.add", Payload: wamp.Payload{Args: wamp.List{int64(2), int64(3)}}},
		&wamp.Publish{Request: 2, Topic: "t", Payload: wamp.Payload{Args: wamp.List{"x"}, Kwargs: wamp.Dict{"k": []byte{0, 1}}}},
	} {
		for _, c := range codec.All {
			b, err := codec.Encode(c, m)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// readAll reads p until Read fails for good, checking each result: a
// message, a decode error (after which reading goes on) or one of the
// errors that end a connection.
func readAll(t *testing.T, p Peer, limit int) {
	for range limit {
		m, err := p.Read()
		switch {
		case err == nil:
			if m == nil {
				t.Fatal("Read returned neither a message nor an error")
			}
			continue
		case errors.Is(err, wamp.ErrMalformed):
			continue
		case errors.Is(err, io.EOF), errors.Is(err, ErrClosed), errors.Is(err, ErrMessageTooBig),
			errors.Is(err, ErrProtocol), errors.Is(err, ErrSlowConsumer):
			return
		default:
			t.Fatalf("Read error %v (%T)", err, err)
		}
	}
	t.Fatalf("still reading after %d reads", limit)
}

// FuzzRawSocketHandshake feeds arbitrary bytes to the router's side of
// the handshake: it must give a peer or an error, never panic, and write
// back nothing (for what is not RawSocket) or one well-formed reply.
func FuzzRawSocketHandshake(f *testing.F) {
	for _, req := range [][]byte{
		{0x7f, 0xf1, 0, 0}, {0x7f, 0x02, 0, 0}, {0x7f, 0x83, 0, 0}, {0x7f, 0xf0, 0, 0},
		{0x7f, 0xf4, 0, 0}, {0x7f, 0xff, 0, 0}, {0x7f, 0xf1, 0, 1}, {0x7f, 0xf1, 0x80, 0},
		{0x7f}, {}, []byte("GET / HTTP/1.1\r\n"), {0x7f, 0xf1, 0, 0, 0, 0, 0, 2, '[', ']'},
	} {
		f.Add(req, uint8(0), uint32(0))
		f.Add(req, uint8(1), uint32(1000))
		f.Add(req, uint8(6), uint32(1<<30))
	}
	f.Fuzz(func(t *testing.T, data []byte, serializers uint8, maxSize uint32) {
		cfg := Config{MaxMessageSize: int(maxSize % (1 << 26)), Logger: discardLogger}
		for i, c := range codec.All {
			if serializers&(1<<i) != 0 {
				cfg.Serializers = append(cfg.Serializers, c)
			}
		}
		conn := &fakeConn{in: slices.Clone(data)}
		p, err := AcceptRawSocket(conn, cfg)
		reply := conn.written()
		if len(data) < 4 || data[0] != 0x7f {
			if err == nil || !errors.Is(err, ErrHandshake) || len(reply) != 0 {
				t.Fatalf("not a handshake: peer %v, error %v, reply % x", p, err, reply)
			}
			return
		}
		if len(reply) < 4 || reply[0] != 0x7f || reply[2] != 0 || reply[3] != 0 {
			t.Fatalf("malformed reply % x", reply)
		}
		if err != nil {
			if p != nil || !errors.Is(err, ErrHandshake) || len(reply) != 4 {
				t.Fatalf("failed handshake: peer %v, error %v, reply % x", p, err, reply)
			}
			code, reserved := reply[1]>>4, data[2] != 0 || data[3] != 0
			switch {
			case reply[1]&0x0f != 0:
				t.Fatalf("error reply % x names a serializer", reply)
			case reserved && code != rsErrReserved, !reserved && code != rsErrSerializer:
				t.Fatalf("error code %d for request % x", code, data[:4])
			case code == rsErrSerializer && !errors.Is(err, ErrNoSubprotocol):
				t.Fatalf("refused serializer: %v", err)
			}
			return
		}
		defer p.Close()
		if data[2] != 0 || data[3] != 0 || reply[1]&0x0f != data[1]&0x0f {
			t.Fatalf("request % x accepted with reply % x", data[:4], reply[:4])
		}
		if _, limit := rsLength(cfg.withDefaults().MaxMessageSize); rsLimit(reply[1]>>4) != limit {
			t.Fatalf("reply % x announces %d bytes, want %d", reply[:4], rsLimit(reply[1]>>4), limit)
		}
		c := rsCodec(cfg.withDefaults().Serializers, data[1]&0x0f)
		if c == nil || p.Info().Serializer != c.Name() {
			t.Fatalf("serializer %q accepted for request % x", p.Info().Serializer, data[:4])
		}
		readAll(t, p, len(data)+2)
	})
}

// FuzzRawSocketFraming feeds arbitrary bytes to a router-side peer after
// a valid handshake that announced 512 bytes: it must never panic, never
// allocate much beyond the 512 bytes per frame, and end with a clean
// error. What it writes must be pongs echoing the pings, in order.
func FuzzRawSocketFraming(f *testing.F) {
	msgs := fuzzMessages(f)
	for i, m := range msgs {
		f.Add(rsFrameBytes(rsMessage, m), uint8(i%3))
		f.Add(append(rsFrameBytes(rsPing, []byte("ping!")), rsFrameBytes(rsMessage, m)...), uint8(i%3))
		f.Add(rsFrameBytes(rsMessage, m)[:len(m)/2], uint8(i%3))
	}
	for _, b := range [][]byte{
		{}, {0}, {0, 0, 0}, {0, 0, 0, 0},
		{0, 0, 2, 0}, {0, 0xff, 0xff, 0xff}, {0x08, 0, 0, 0}, {0x08, 0, 0, 1},
		{0x10, 0, 0, 0}, {0x80, 0, 0, 0}, {0x03, 0, 0, 0}, {0x07, 0, 0, 0},
		{0x01, 0, 0, 0, 0x02, 0, 0, 0}, {0x01, 0, 0x02, 0},
		append(rsFrameBytes(rsPing, make([]byte, 512)), rsFrameBytes(rsPing, make([]byte, 512))...),
		rsFrameBytes(rsMessage, []byte(`[1,"realm1",{"roles":{"caller":{}}}]`)),
		rsFrameBytes(rsMessage, []byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`)),
		rsFrameBytes(rsMessage, []byte{0xff, 0xfe, 0xfd}),
	} {
		for ser := range uint8(3) {
			f.Add(b, ser)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, ser uint8) {
		id := ser%3 + 1
		conn := &fakeConn{in: append([]byte{0x7f, 0x40 | id, 0, 0}, data...)}
		before := allocated()
		p, err := AcceptRawSocket(conn, Config{MaxMessageSize: 512, PingInterval: -1, WriteTimeout: 2 * time.Second, Logger: discardLogger})
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, p, len(data)/4+2)
		start := time.Now()
		p.Close()
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Close took %v after the connection failed", d)
		}
		if grown := allocated() - before; grown > 1<<20+256*uint64(len(data)) {
			t.Fatalf("allocated %d bytes for %d bytes of input", grown, len(data))
		}
		checkPongs(t, data, conn.written())
	})
}

// allocated returns the bytes allocated by the process so far, without
// stopping the world as runtime.ReadMemStats does.
func allocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// checkPongs checks that out, what the peer wrote after the handshake
// reply, is pongs echoing a prefix of the pings of in.
func checkPongs(t *testing.T, in, out []byte) {
	var pings [][]byte
	for len(in) >= 4 {
		typ, n, err := parseRSHeader(in)
		if err != nil || n > 512 || len(in) < 4+n {
			break
		}
		if typ == rsPing {
			pings = append(pings, in[4:4+n])
		}
		in = in[4+n:]
	}
	if len(out) < 4 {
		t.Fatalf("no handshake reply: % x", out)
	}
	out = out[4:]
	for i := 0; len(out) > 0; i++ {
		typ, n, err := parseRSHeader(out)
		if err != nil || typ != rsPong || len(out) < 4+n {
			t.Fatalf("frame %d written is not a whole pong: % x", i, out[:min(len(out), 16)])
		}
		if i >= len(pings) || !bytes.Equal(out[4:4+n], pings[i]) {
			t.Fatalf("pong %d does not echo ping %d", i, i)
		}
		out = out[4+n:]
	}
}

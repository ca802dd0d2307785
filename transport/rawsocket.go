package transport

import (
	"bytes"
	"fmt"
	"io"
	"math/bits"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// The RawSocket protocol, from the WAMP specification's "RawSocket
// Transport" section.
const (
	rsMagic     = 0x7f    // first byte of a handshake request and reply
	rsMinLength = 1 << 9  // LENGTH nibble 0
	rsMaxLength = 1 << 24 // LENGTH nibble 15, and the largest frame

	// Frame types, the low 3 bits of a frame header's first byte.
	rsMessage byte = 0
	rsPing    byte = 1
	rsPong    byte = 2

	// Handshake error codes, the high nibble of an error reply's second
	// byte.
	rsErrSerializer byte = 1
	rsErrLength     byte = 2
	rsErrReserved   byte = 3
	rsErrMaxConns   byte = 4
)

var rsErrorText = [...]string{
	rsErrSerializer: "serializer unsupported",
	rsErrLength:     "maximum message length unacceptable",
	rsErrReserved:   "use of reserved bits (unsupported feature)",
	rsErrMaxConns:   "maximum connection count reached",
}

func rsErrorName(code byte) string {
	if int(code) < len(rsErrorText) && rsErrorText[code] != "" {
		return rsErrorText[code]
	}
	return "unknown error"
}

// rsSerializers are the RawSocket serializer IDs of the codecs, by Name.
var rsSerializers = [...]string{1: "json", 2: "msgpack", 3: "cbor", 4: "ubjson", 5: "flatbuffers"}

// rsSerializerID returns c's RawSocket serializer ID, 0 if it has none.
func rsSerializerID(c codec.Codec) byte {
	for id, name := range rsSerializers {
		if name != "" && name == c.Name() {
			return byte(id)
		}
	}
	return 0
}

// rsCodec returns the codec of codecs whose serializer ID is id, or nil.
func rsCodec(codecs []codec.Codec, id byte) codec.Codec {
	for _, c := range codecs {
		if id != 0 && rsSerializerID(c) == id {
			return c
		}
	}
	return nil
}

func rsSerializerName(id byte) string {
	if int(id) < len(rsSerializers) && rsSerializers[id] != "" {
		return rsSerializers[id]
	}
	return "unknown"
}

// rsLength returns the handshake's LENGTH nibble for a limit of max bytes
// and the limit it announces: the largest power of two not above max,
// within what the nibble can say (512 B to 16 MiB).
func rsLength(max int) (nibble byte, limit int) {
	if max >= rsMaxLength {
		return 15, rsMaxLength
	}
	if max < rsMinLength {
		return 0, rsMinLength
	}
	n := bits.Len(uint(max)) - 1 - 9
	return byte(n), 1 << (9 + n)
}

// rsLimit is the limit announced by a LENGTH nibble.
func rsLimit(nibble byte) int { return 1 << (9 + nibble&0x0f) }

// appendRSHeader appends the header of a frame of type typ and n bytes
// (n <= 16 MiB): the 25th length bit says exactly 16 MiB.
func appendRSHeader(buf *bytes.Buffer, typ byte, n int) {
	h := [4]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}
	if n == rsMaxLength {
		h[0] |= 0x08
	}
	buf.Write(h[:])
}

// parseRSHeader reads a frame header: 4 reserved bits, the 25th length
// bit, 3 type bits, then a 24-bit length.
func parseRSHeader(h []byte) (typ byte, n int, err error) {
	if h[0]&0xf0 != 0 {
		return 0, 0, fmt.Errorf("%w: reserved bits set in frame header 0x%02x", ErrProtocol, h[0])
	}
	typ = h[0] & 0x07
	if typ > rsPong {
		return 0, 0, fmt.Errorf("%w: unknown frame type %d", ErrProtocol, typ)
	}
	n = int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if h[0]&0x08 != 0 {
		if n != 0 {
			return 0, 0, fmt.Errorf("%w: 25th length bit set with a length of %d", ErrProtocol, n)
		}
		n = rsMaxLength
	}
	return typ, n, nil
}

// rsFrame is what an rsConn queues: a message encoded by Send, or a ping
// or pong.
type rsFrame struct {
	typ   byte
	mtype wamp.Type // of the message encoded in data, for logs
	data  []byte
}

func (f *rsFrame) Type() wamp.Type { return f.mtype }

var rsFramePool = sync.Pool{New: func() any { return &rsFrame{data: make([]byte, 0, 512)} }}

// rsConn is a WAMP peer over one RawSocket connection, router or client
// side. Unlike a WebSocket peer, it encodes in Send, so that a message
// larger than the other side accepts is refused there and never written.
type rsConn struct {
	streamConn
	max     int // largest frame accepted: the limit this side announced
	peerMax int // largest frame the other side accepts
	// pongBytes counts the bytes of pongs queued: a peer that pings and
	// never reads the pongs is a slow consumer once they pass
	// pongBudget.
	pongBytes atomic.Int64
}

// pongBudget bounds the bytes of pongs queued on a connection: the
// announced limit, or 64 KiB if that is less.
func (r *rsConn) pongBudget() int64 { return int64(max(r.max, 64<<10)) }

func newRSConn(conn net.Conn, c codec.Codec, cfg Config, max, peerMax int) *rsConn {
	r := &rsConn{max: max, peerMax: peerMax}
	info := Info{Transport: "rawsocket", Serializer: c.Name(), RemoteAddr: remoteAddr(conn)}
	r.streamConn.init(conn, nil, c, cfg, info, r, &rsFrame{typ: rsPing})
	return r
}

// remoteAddr names the other end of conn; a Unix-socket client has no
// address, so it is named after the socket.
func remoteAddr(conn net.Conn) string {
	if a := conn.RemoteAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	if a := conn.LocalAddr(); a != nil {
		return a.Network() + ":" + a.String()
	}
	return ""
}

// Send encodes m and queues it. A message that cannot be encoded, or is
// larger than the other side accepts, is refused with an error (wrapping
// ErrMessageTooBig for the latter) and the peer stays open.
func (r *rsConn) Send(m wamp.Message) error { return r.sendVia(nil, m) }

// sendVia implements batchable.
func (r *rsConn) sendVia(b *Batch, m wamp.Message) error {
	f := rsFramePool.Get().(*rsFrame)
	data, err := r.codec.Append(f.data[:0], m)
	if err != nil {
		r.recycle(f)
		return fmt.Errorf("transport: encode %s: %w", m.Type(), err)
	}
	f.typ, f.mtype, f.data = rsMessage, m.Type(), data
	if len(data) > r.peerMax {
		r.recycle(f)
		return fmt.Errorf("%w: %s of %d bytes, the peer accepts %d", ErrMessageTooBig, m.Type(), len(data), r.peerMax)
	}
	if err := r.enqueue(b, item{msg: f}); err != nil {
		r.recycle(f)
		return err
	}
	return nil
}

// SendShared is Send for a message delivered to many peers: its encoding
// is made once per serializer, by the first peer that needs it.
func (r *rsConn) SendShared(s *Shared) error { return r.sendSharedVia(nil, s) }

// sendSharedVia implements sharedSender.
func (r *rsConn) sendSharedVia(f *Fanout, s *Shared) error {
	data, err := s.Encoded(r.codec)
	if err != nil {
		return fmt.Errorf("transport: encode %s: %w", s.Msg.Type(), err)
	}
	if len(data) > r.peerMax {
		return fmt.Errorf("%w: %s of %d bytes, the peer accepts %d", ErrMessageTooBig, s.Msg.Type(), len(data), r.peerMax)
	}
	return r.enqueue(f, item{shared: s})
}

func (r *rsConn) recycle(f *rsFrame) {
	if cap(f.data) > 64<<10 {
		return
	}
	f.data = f.data[:0]
	rsFramePool.Put(f)
}

// Close flushes what is queued (within the write timeout) and closes.
func (r *rsConn) Close() error { return r.closeAfter(nil) }

// Read returns the next WAMP message, answering pings on the way. It
// waits for data in this small frame, as the WebSocket peer's Read does,
// so that an idle connection's goroutine has a shallow stack.
func (r *rsConn) Read() (wamp.Message, error) {
	for {
		if r.br.Buffered() == 0 {
			if err := r.await(); err != nil {
				return nil, r.readFailed(err)
			}
		}
		if m, err := r.readFrame(); m != nil || err != nil {
			return m, err
		}
	}
}

// readFrame reads one frame: it returns a message, or nil, nil after a
// ping or pong. A frame over the announced limit, or one that breaks the
// framing, closes the connection; a message that does not decode is
// returned as an error and the connection stays usable.
//
//go:noinline
func (r *rsConn) readFrame() (wamp.Message, error) {
	r.expect(4)
	h, err := r.br.Peek(4)
	if err != nil {
		return nil, r.readFailed(err)
	}
	typ, n, err := parseRSHeader(h)
	if err != nil {
		r.abort()
		return nil, err
	}
	r.br.Discard(4)
	if limit := min(r.max, r.readLimit); n > limit {
		r.abort()
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooBig, n, limit)
	}
	r.expect(n)
	switch typ {
	case rsPing:
		return nil, r.pong(n)
	case rsPong:
		return nil, r.skip(n)
	}
	if n <= r.br.Size() {
		// The whole frame fits in the read buffer: decode it in place
		// (the codecs copy what they keep), with no allocation.
		buf, err := r.br.Peek(n)
		if err != nil {
			return nil, r.readFailed(err)
		}
		m, err := r.codec.Decode(buf)
		r.br.Discard(n)
		return m, err
	}
	bp := readBufPool.Get().(*[]byte)
	buf, err := readGrowing(r.br, *bp, n)
	if err != nil {
		readBufPool.Put(bp)
		return nil, r.readFailed(err)
	}
	m, err := r.codec.Decode(buf)
	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		readBufPool.Put(bp)
	}
	return m, err
}

// expect renews the read deadline before reading n bytes that are not
// all buffered: a frame must keep arriving, however long the
// connection has been busy.
func (r *rsConn) expect(n int) {
	if r.cfg.ReadTimeout > 0 && r.br.Buffered() < n {
		r.conn.SetReadDeadline(time.Now().Add(r.cfg.ReadTimeout))
	}
}

// pong reads a ping's n bytes and queues a pong that echoes them.
func (r *rsConn) pong(n int) error {
	if r.pongBytes.Add(int64(n)) > r.pongBudget() {
		r.abort()
		return fmt.Errorf("%w: %d bytes of pongs not read", ErrSlowConsumer, r.pongBytes.Load())
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.br, body); err != nil {
		return r.readFailed(err)
	}
	return r.push(item{msg: &rsFrame{typ: rsPong, data: body}})
}

// skip discards n bytes.
func (r *rsConn) skip(n int) error {
	for n > 0 {
		b, err := r.br.Peek(min(n, r.br.Size()))
		if err != nil {
			return r.readFailed(err)
		}
		r.br.Discard(len(b))
		n -= len(b)
	}
	return nil
}

// appendFrames frames the writer's backlog; messages were encoded (and
// checked against the other side's limit) by Send and SendShared.
func (r *rsConn) appendFrames(buf *bytes.Buffer, items []item) bool {
	for _, it := range items {
		if it.shared != nil {
			if data, err := it.shared.Encoded(r.codec); err == nil {
				appendRSHeader(buf, rsMessage, len(data))
				buf.Write(data)
			}
			continue
		}
		f, ok := it.msg.(*rsFrame)
		if !ok {
			continue
		}
		appendRSHeader(buf, f.typ, len(f.data))
		buf.Write(f.data)
		switch f.typ {
		case rsMessage:
			r.recycle(f)
		case rsPong:
			r.pongBytes.Add(-int64(len(f.data)))
		}
	}
	return false
}

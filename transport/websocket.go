package transport

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// wsConn is a WAMP peer over one WebSocket connection, server or client
// side. Read runs in the caller's goroutine; writeLoop owns all writes.
type wsConn struct {
	streamConn
	client bool // client frames are masked

	hdr  [ws.MaxHeaderSize]byte // header scratch for Read
	whdr [ws.MaxHeaderSize]byte // header scratch for the writer
	frag []byte                 // a fragmented message being assembled
}

// control frames ride the outbound queue as these messages, so that the
// writer stays the only goroutine writing.
type controlFrame struct {
	op   ws.OpCode
	body []byte
}

func (*controlFrame) Type() wamp.Type { return 0 }

func newWSConn(conn net.Conn, br *bufio.Reader, c codec.Codec, cfg Config, client bool) *wsConn {
	w := &wsConn{client: client}
	info := Info{Transport: "websocket", Serializer: c.Name(), RemoteAddr: conn.RemoteAddr().String()}
	w.streamConn.init(conn, br, c, cfg, info, w, &controlFrame{op: ws.OpPing})
	return w
}

// closeQueue stops further sends and lets the writer flush what is
// queued, then a close frame.
func (w *wsConn) closeQueue(code ws.StatusCode, reason string) {
	w.finish(&controlFrame{op: ws.OpClose, body: ws.NewCloseFrameBody(code, reason)})
}

// Close sends a close frame after what is queued, then closes.
func (w *wsConn) Close() error {
	return w.closeAfter(&controlFrame{op: ws.OpClose, body: ws.NewCloseFrameBody(ws.StatusNormalClosure, "")})
}

// Read returns the next WAMP message, answering pings and assembling
// fragments on the way.
//
// Read waits for data in this small frame and only then calls the large
// readMessage: an idle connection's goroutine is parked on a shallow
// stack, which the garbage collector shrinks to a few KiB. Keep-alive
// rides on the read deadline, so it costs no timer: after PingInterval of
// silence Read sends a ping, and gives up when ReadTimeout has passed with
// nothing received.
func (w *wsConn) Read() (wamp.Message, error) {
	for {
		if w.br.Buffered() == 0 {
			if err := w.await(); err != nil {
				return nil, w.readFailed(err)
			}
		}
		if m, err := w.readFrame(); m != nil || err != nil {
			return m, err
		}
	}
}

// readFrame reads one frame: it returns a message when the frame completes
// one, and nil, nil after a control frame or a fragment.
//
//go:noinline
func (w *wsConn) readFrame() (wamp.Message, error) {
	h, err := ws.ReadHeaderBuffer(w.br, w.hdr[:])
	if err != nil {
		return nil, w.readFailed(err)
	}
	if h.Masked == w.client {
		w.fail(ws.StatusProtocolError, "bad masking")
		return nil, fmt.Errorf("%w: masked=%v from the %s", ErrProtocol, h.Masked, map[bool]string{true: "server", false: "client"}[w.client])
	}
	if h.Rsv != 0 {
		w.fail(ws.StatusProtocolError, "reserved bits set")
		return nil, fmt.Errorf("%w: reserved bits set", ErrProtocol)
	}
	if h.OpCode.IsControl() {
		return nil, w.control(h)
	}
	size := int64(len(w.frag)) + h.Length
	if size > int64(w.readLimit) {
		w.fail(ws.StatusMessageTooBig, "message too big")
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooBig, size, w.readLimit)
	}
	switch {
	case h.OpCode == ws.OpContinuation && w.frag == nil,
		h.OpCode != ws.OpContinuation && w.frag != nil:
		w.fail(ws.StatusProtocolError, "bad fragmentation")
		return nil, fmt.Errorf("%w: unexpected opcode %d while assembling fragments", ErrProtocol, h.OpCode)
	case h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
		w.fail(ws.StatusProtocolError, "unknown opcode")
		return nil, fmt.Errorf("%w: unknown opcode %d", ErrProtocol, h.OpCode)
	}
	if !h.Fin || w.frag != nil {
		// Fragments are rare: assemble them in a buffer of their own.
		start := len(w.frag)
		chunk, err := readGrowing(w.br, nil, int(h.Length))
		if err != nil {
			return nil, w.readFailed(err)
		}
		w.frag = append(w.frag, chunk...)
		if h.Masked {
			ws.Cipher(w.frag[start:], h.Mask, 0)
		}
		if w.frag == nil {
			w.frag = []byte{}
		}
		if !h.Fin {
			return nil, nil
		}
		data := w.frag
		w.frag = nil
		return w.decode(data)
	}
	if h.Length <= int64(w.br.Size()) {
		// The whole frame fits in the read buffer: decode it in place
		// (the codecs copy what they keep), with no allocation.
		buf, err := w.br.Peek(int(h.Length))
		if err != nil {
			return nil, w.readFailed(err)
		}
		if h.Masked {
			ws.Cipher(buf, h.Mask, 0)
		}
		m, err := w.decode(buf)
		w.br.Discard(len(buf))
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	bp := readBufPool.Get().(*[]byte)
	buf, err := readGrowing(w.br, *bp, int(h.Length))
	if err != nil {
		readBufPool.Put(bp)
		return nil, w.readFailed(err)
	}
	if h.Masked {
		ws.Cipher(buf, h.Mask, 0)
	}
	m, err := w.decode(buf)
	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		readBufPool.Put(bp)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (w *wsConn) decode(data []byte) (wamp.Message, error) {
	if !w.codec.Binary() && !utf8.Valid(data) {
		w.fail(ws.StatusInvalidFramePayloadData, "invalid UTF-8")
		return nil, fmt.Errorf("%w: text frame is not valid UTF-8", ErrProtocol)
	}
	// The codecs copy what they keep, so data can be reused after this.
	return w.codec.Decode(data)
}

// control handles a ping, pong or close frame.
func (w *wsConn) control(h ws.Header) error {
	if h.Length > 125 || !h.Fin {
		w.fail(ws.StatusProtocolError, "bad control frame")
		return fmt.Errorf("%w: control frame of %d bytes or fragmented", ErrProtocol, h.Length)
	}
	body := make([]byte, h.Length)
	if _, err := io.ReadFull(w.br, body); err != nil {
		return w.readFailed(err)
	}
	if h.Masked {
		ws.Cipher(body, h.Mask, 0)
	}
	switch h.OpCode {
	case ws.OpPing:
		w.push(item{msg: &controlFrame{op: ws.OpPong, body: body}})
	case ws.OpClose:
		code, reason := ws.ParseCloseFrameData(body)
		switch {
		case len(body) == 1 || len(body) >= 2 && !validCloseCode(code):
			w.fail(ws.StatusProtocolError, "invalid close code")
			return fmt.Errorf("%w: close frame with code %d", ErrProtocol, code)
		case !utf8.ValidString(reason):
			w.fail(ws.StatusInvalidFramePayloadData, "invalid UTF-8")
			return fmt.Errorf("%w: close reason is not valid UTF-8", ErrProtocol)
		}
		w.Close()
		return io.EOF
	}
	return nil
}

// validCloseCode reports whether a peer may send code in a close frame
// (RFC 6455 section 7.4): the defined codes but 1004 (reserved) and 1005,
// 1006 and 1015 (never sent), the IANA-registered 1012 to 1014, and the
// ranges for libraries (3000-3999) and applications (4000-4999).
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// fail sends a close frame with code and reason, then closes.
func (w *wsConn) fail(code ws.StatusCode, reason string) {
	w.closeQueue(code, reason)
	go func() {
		select {
		case <-w.flushed:
		case <-time.After(w.cfg.WriteTimeout):
		}
		w.abort()
	}()
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendFrames encodes and frames the writer's backlog, reporting whether
// it ends with a close frame.
func (w *wsConn) appendFrames(buf *bytes.Buffer, items []item) bool {
	scratch := scratchPool.Get().(*[]byte)
	sentClose := false
	for i := range items {
		if w.frame(buf, scratch, items[i], w.whdr[:]) {
			sentClose = true
		}
	}
	if cap(*scratch) <= 64<<10 {
		scratchPool.Put(scratch)
	}
	return sentClose
}

// frame appends one WebSocket frame to buf, reporting whether it was a
// close frame. scratch is reused for encoding. A message that cannot be
// encoded is a bug of its sender: it is logged and dropped.
func (w *wsConn) frame(buf *bytes.Buffer, scratch *[]byte, it item, hdr []byte) bool {
	var (
		payload []byte
		op      = ws.OpText
		err     error
	)
	if w.codec.Binary() {
		op = ws.OpBinary
	}
	logIt := true
	switch {
	case it.shared != nil:
		payload, logIt, err = it.shared.encoded(w.codec)
	default:
		if cf, ok := it.msg.(*controlFrame); ok {
			op, payload = cf.op, cf.body
			break
		}
		*scratch, err = w.codec.Append((*scratch)[:0], it.msg)
		payload = *scratch
	}
	if err != nil {
		if logIt { // a message shared by many peers is logged once
			w.cfg.Logger.Error("transport: dropping message that cannot be encoded",
				"type", it.message().Type(), "serializer", w.codec.Name(), "err", err)
		}
		return false
	}
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload)), Masked: w.client}
	if w.client {
		h.Mask = ws.NewMask()
	}
	ws.WriteHeaderBuffer(buf, h, hdr)
	start := buf.Len()
	buf.Write(payload)
	if w.client {
		ws.Cipher(buf.Bytes()[start:], h.Mask, 0)
	}
	return op == ws.OpClose
}

package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/junction-run/junction/wamp"
)

type msgpackCodec struct{}

func (msgpackCodec) Name() string        { return "msgpack" }
func (msgpackCodec) Subprotocol() string { return "wamp.2.msgpack" }
func (msgpackCodec) Binary() bool        { return true }

// mpDecoder pairs a reusable decoder with its reader.
type mpDecoder struct {
	data []byte
	r    bytes.Reader
	d    *msgpack.Decoder
	ext  bool // an extension value was read
}

// newMPDecoder returns a decoder reading data. Decoders are not pooled:
// the library keeps a scratch buffer that hostile lengths can grow, and
// a pooled decoder would carry it from message to message.
func newMPDecoder(data []byte) *mpDecoder {
	md := &mpDecoder{data: data}
	md.r.Reset(data)
	md.d = msgpack.NewDecoder(&md.r)
	return md
}

// offset is how far md has read into its data.
func (md *mpDecoder) offset() int { return len(md.data) - md.r.Len() }

func (c msgpackCodec) Decode(data []byte) (wamp.Message, error) {
	md := newMPDecoder(data)
	code, err := md.d.PeekCode()
	if err != nil {
		return nil, malformed(0, "msgpack: %v", err)
	}
	if !msgpcode.IsFixedArray(code) && code != msgpcode.Array16 && code != msgpcode.Array32 {
		return nil, malformed(0, "msgpack: message is not an array")
	}
	n, err := md.d.DecodeArrayLen()
	if err != nil {
		return nil, malformed(0, "msgpack: %v", err)
	}
	if n > md.r.Len() {
		return nil, malformed(0, "msgpack: array of %d elements in %d bytes", n, md.r.Len())
	}
	f := &mpFrame{md: md, n: n}
	m, err := buildMessage("msgpack", n, f)
	if err != nil {
		return nil, err
	}
	if md.r.Len() != 0 {
		return nil, malformed(m.Type(), "msgpack: %d bytes of trailing data", md.r.Len())
	}
	return m, nil
}

// mpFrame reads elements in order, as buildMessage asks for them.
type mpFrame struct {
	md *mpDecoder
	n  int
}

func (f *mpFrame) value(int) (any, error) {
	if i := f.md.offset(); i < len(f.md.data) && f.md.data[i] == emptyFixMap {
		// Most options and details are empty: a nil Dict reads the same
		// and costs no allocation (as in JSON's frames).
		f.md.r.ReadByte() // the decoder reads md.r directly, so skip it there
		return wamp.Dict(nil), nil
	}
	return decodeMsgpackValue(f.md, 0, true)
}

// emptyFixMap is msgpack's empty map, a fixmap of no entries.
const emptyFixMap = 0x80

// raw returns a copy of the next value's bytes, validated by walking it
// without building it. A value holding extension types (a JavaScript
// undefined, a timestamp) is decoded and encoded again instead, so that
// what is forwarded holds only the plain types every decoder reads.
func (f *mpFrame) raw(int) ([]byte, error) {
	start := f.md.offset()
	f.md.ext = false
	if _, err := decodeMsgpackValue(f.md, 0, false); err != nil {
		return nil, err
	}
	b := f.md.data[start:f.md.offset()]
	if !f.md.ext {
		return bytes.Clone(b), nil
	}
	v, err := decodeMsgpackValue(newMPDecoder(b), 0, true)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := encodeMsgpackValue(enc, v, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (f *mpFrame) isList(b []byte) bool {
	return len(b) > 0 && (msgpcode.IsFixedArray(b[0]) || b[0] == msgpcode.Array16 || b[0] == msgpcode.Array32)
}

func (f *mpFrame) isDict(b []byte) bool {
	return len(b) > 0 && (msgpcode.IsFixedMap(b[0]) || b[0] == msgpcode.Map16 || b[0] == msgpcode.Map32)
}

func (msgpackCodec) DecodeValue(data []byte) (any, error) {
	md := newMPDecoder(data)
	v, err := decodeMsgpackValue(md, 0, true)
	if err != nil {
		return nil, fmt.Errorf("%w: msgpack: %v", wamp.ErrMalformed, err)
	}
	if md.r.Len() != 0 {
		return nil, fmt.Errorf("%w: msgpack: trailing data", wamp.ErrMalformed)
	}
	return v, nil
}

// decodeMsgpackValue decodes one value into normalised types, or with
// keep false only checks and skips it. Lengths are checked against the
// bytes left, so that a hostile length cannot make us allocate more than
// the message could hold.
func decodeMsgpackValue(md *mpDecoder, depth int, keep bool) (any, error) {
	d := md.d
	c, err := d.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case c == msgpcode.Nil:
		return nil, d.DecodeNil()
	case c == msgpcode.True || c == msgpcode.False:
		return d.DecodeBool()
	case msgpcode.IsFixedNum(c), c == msgpcode.Int8, c == msgpcode.Int16, c == msgpcode.Int32, c == msgpcode.Int64:
		return d.DecodeInt64()
	case c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32, c == msgpcode.Uint64:
		u, err := d.DecodeUint64()
		if err != nil {
			return nil, err
		}
		if u <= math.MaxInt64 {
			return int64(u), nil
		}
		return u, nil
	case c == msgpcode.Float || c == msgpcode.Double:
		return d.DecodeFloat64()
	case msgpcode.IsString(c), msgpcode.IsBin(c):
		b, err := readMsgpackBytes(md, keep, msgpcode.IsString(c))
		if err != nil || !keep {
			return nil, err
		}
		if msgpcode.IsString(c) {
			return string(b), nil
		}
		return b, nil
	case msgpcode.IsExt(c):
		return decodeMsgpackExt(md, keep)
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		if depth >= MaxDepth {
			return nil, errTooDeep
		}
		n, err := d.DecodeArrayLen()
		if err != nil {
			return nil, err
		}
		if n > md.r.Len() {
			return nil, fmt.Errorf("array of %d elements in %d bytes", n, md.r.Len())
		}
		var l wamp.List
		if keep {
			l = make(wamp.List, n)
		}
		for i := range n {
			v, err := decodeMsgpackValue(md, depth+1, keep)
			if err != nil {
				return nil, err
			}
			if keep {
				l[i] = v
			}
		}
		if !keep {
			return nil, nil
		}
		return l, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		if depth >= MaxDepth {
			return nil, errTooDeep
		}
		n, err := d.DecodeMapLen()
		if err != nil {
			return nil, err
		}
		if 2*n > md.r.Len() {
			return nil, fmt.Errorf("map of %d entries in %d bytes", n, md.r.Len())
		}
		var m wamp.Dict
		if keep {
			m = make(wamp.Dict, n)
		}
		for range n {
			kc, err := d.PeekCode()
			if err != nil {
				return nil, err
			}
			if !msgpcode.IsString(kc) {
				return nil, fmt.Errorf("map key is not a string")
			}
			kb, err := readMsgpackBytes(md, keep, true)
			if err != nil {
				return nil, err
			}
			v, err := decodeMsgpackValue(md, depth+1, keep)
			if err != nil {
				return nil, err
			}
			if keep {
				m[string(kb)] = v
			}
		}
		if !keep {
			return nil, nil
		}
		return m, nil
	}
	return nil, fmt.Errorf("unsupported msgpack type code 0x%02x", c)
}

// readMsgpackBytes reads a str or bin value; a str must be valid UTF-8.
// The library would allocate whatever length the header claims; checking
// it against the bytes left first keeps a 5-byte hostile header from
// costing 4 GiB.
func readMsgpackBytes(md *mpDecoder, keep, str bool) ([]byte, error) {
	n, err := md.d.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if n > md.r.Len() {
		return nil, fmt.Errorf("string of %d bytes in %d bytes", n, md.r.Len())
	}
	if str {
		off := md.offset()
		if !utf8.Valid(md.data[off : off+n]) {
			return nil, errInvalidUTF8
		}
	}
	if !keep {
		_, err := md.r.Seek(int64(n), io.SeekCurrent)
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(&md.r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// mpEncoder writes a message with a pooled msgpack.Encoder. Raw payload
// elements are copied into the same buffer, which the encoder writes to
// directly (bytes.Buffer needs no adapter, so nothing is buffered between).
type mpEncoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
	err error
}

var mpEncoders = sync.Pool{New: func() any {
	me := &mpEncoder{}
	me.enc = msgpack.NewEncoder(&me.buf)
	me.enc.SetSortMapKeys(true)
	me.enc.UseCompactInts(true)
	return me
}}

func (c msgpackCodec) Append(dst []byte, m wamp.Message) ([]byte, error) {
	me := mpEncoders.Get().(*mpEncoder)
	defer func() {
		me.err = nil
		if me.buf.Cap() <= 64<<10 {
			mpEncoders.Put(me)
		}
	}()
	me.buf.Reset()
	wamp.Encode(m, me)
	if me.err != nil {
		return dst, fmt.Errorf("codec: msgpack: encode %s: %w", m.Type(), me.err)
	}
	return append(dst, me.buf.Bytes()...), nil
}

func (e *mpEncoder) fail(err error) {
	if err != nil && e.err == nil {
		e.err = err
	}
}

func (e *mpEncoder) Array(n int)      { e.fail(e.enc.EncodeArrayLen(n)) }
func (e *mpEncoder) Uint(v uint64)    { e.fail(e.enc.EncodeUint(v)) }
func (e *mpEncoder) String(s string)  { e.fail(e.enc.EncodeString(s)) }
func (e *mpEncoder) Dict(d wamp.Dict) { e.value(d) }
func (e *mpEncoder) value(v any)      { e.fail(encodeMsgpackValue(e.enc, v, 0)) }
func (e *mpEncoder) Args(p *wamp.Payload) {
	args, _, raw, err := payloadValues("msgpack", p)
	switch {
	case err != nil:
		e.fail(err)
	case raw:
		e.buf.Write(p.Raw.Args)
	case args == nil:
		e.fail(e.enc.EncodeArrayLen(0))
	default:
		e.value(args)
	}
}

func (e *mpEncoder) Kwargs(p *wamp.Payload) {
	_, kwargs, raw, err := payloadValues("msgpack", p)
	switch {
	case err != nil:
		e.fail(err)
	case raw:
		e.buf.Write(p.Raw.Kwargs)
	default:
		e.value(kwargs)
	}
}

func encodeMsgpackValue(enc *msgpack.Encoder, v any, depth int) error {
	switch v.(type) {
	case wamp.List, wamp.Dict:
		if depth >= maxDepth {
			return fmt.Errorf("%w: containers nested deeper than %d levels", ErrUnsupportedValue, maxDepth)
		}
	}
	switch v := v.(type) {
	case nil:
		return enc.EncodeNil()
	case wamp.Dict:
		if v == nil {
			return enc.EncodeMapLen(0)
		}
		if err := enc.EncodeMapLen(len(v)); err != nil {
			return err
		}
		for _, k := range sortedKeys(v) {
			if err := enc.EncodeString(k); err != nil {
				return err
			}
			if err := encodeMsgpackValue(enc, v[k], depth+1); err != nil {
				return err
			}
		}
		return nil
	case wamp.List:
		if err := enc.EncodeArrayLen(len(v)); err != nil {
			return err
		}
		for _, e := range v {
			if err := encodeMsgpackValue(enc, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	case wamp.ID:
		return enc.EncodeUint(uint64(v))
	case wamp.URI:
		return enc.EncodeString(string(v))
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return nil
}

// Extension types that clients send.
const (
	// mpExtUndefined with one zero byte is JavaScript's undefined as
	// msgpackr (wampy's encoder) writes it: 0xd4 0x00 0x00.
	mpExtUndefined = 0
	// mpExtTimestamp is the specification's timestamp extension.
	mpExtTimestamp = -1
)

// decodeMsgpackExt reads an extension value: undefined becomes nil, a
// timestamp an RFC 3339 string (see timestampString); any other type is
// refused, naming it.
func decodeMsgpackExt(md *mpDecoder, keep bool) (any, error) {
	typ, n, err := md.d.DecodeExtHeader()
	if err != nil {
		return nil, err
	}
	if n > md.r.Len() {
		return nil, fmt.Errorf("extension of %d bytes in %d bytes", n, md.r.Len())
	}
	off := md.offset()
	b := md.data[off : off+n]
	if _, err := md.r.Seek(int64(n), io.SeekCurrent); err != nil {
		return nil, err
	}
	md.ext = true
	switch {
	case typ == mpExtUndefined && n == 1 && b[0] == 0:
		return nil, nil
	case typ == mpExtTimestamp:
		t, ok := msgpackTimestamp(b)
		if !ok {
			return nil, badValue("MessagePack timestamp of %d bytes", n)
		}
		if !keep {
			return nil, nil
		}
		return timestampString(t), nil
	}
	return nil, badValue("unsupported MessagePack extension type %d", typ)
}

// msgpackTimestamp decodes the three forms of the timestamp extension.
func msgpackTimestamp(b []byte) (time.Time, bool) {
	switch len(b) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(b)), 0), true
	case 8:
		v := binary.BigEndian.Uint64(b)
		nsec := int64(v >> 34)
		if nsec > 999999999 {
			return time.Time{}, false
		}
		return time.Unix(int64(v&(1<<34-1)), nsec), true
	case 12:
		nsec := int64(binary.BigEndian.Uint32(b))
		if nsec > 999999999 {
			return time.Time{}, false
		}
		return time.Unix(int64(binary.BigEndian.Uint64(b[4:])), nsec), true
	}
	return time.Time{}, false
}

package codec

import (
	"fmt"
	"math"
	"reflect"

	"github.com/fxamacker/cbor/v2"

	"github.com/junction-run/junction/wamp"
)

type cborCodec struct{}

func (cborCodec) Name() string        { return "cbor" }
func (cborCodec) Subprotocol() string { return "wamp.2.cbor" }
func (cborCodec) Binary() bool        { return true }

var (
	cborDec = mustDecMode(cbor.DecOptions{
		DefaultMapType:   reflect.TypeOf(wamp.Dict(nil)),
		MaxNestedLevels:  maxDepth,
		MaxArrayElements: 1 << 24,
		MaxMapPairs:      1 << 24,
		IndefLength:      cbor.IndefLengthAllowed,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		UTF8:             cbor.UTF8RejectInvalid,
	})
	cborEnc = mustEncMode(cbor.EncOptions{Sort: cbor.SortBytewiseLexical})
)

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}

func mustEncMode(o cbor.EncOptions) cbor.EncMode {
	m, err := o.EncMode()
	if err != nil {
		panic(err)
	}
	return m
}

func (c cborCodec) Decode(data []byte) (wamp.Message, error) {
	var elems []cbor.RawMessage
	if err := cborDec.Unmarshal(data, &elems); err != nil {
		return nil, malformed(0, "not a CBOR array: %v", err)
	}
	return buildMessage("cbor", len(elems), cborFrame(elems))
}

type cborFrame []cbor.RawMessage

func (f cborFrame) value(i int) (any, error)  { return decodeCBORValue(f[i]) }
func (f cborFrame) raw(i int) ([]byte, error) { return f[i], nil }

// CBOR major types 4 (array) and 5 (map) sit in the top three bits.
func (f cborFrame) isList(b []byte) bool { return len(b) > 0 && b[0]>>5 == 4 }
func (f cborFrame) isDict(b []byte) bool { return len(b) > 0 && b[0]>>5 == 5 }

func (cborCodec) DecodeValue(data []byte) (any, error) {
	return decodeCBORValue(data)
}

func decodeCBORValue(data []byte) (any, error) {
	var v any
	if err := cborDec.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: cbor: %v", wamp.ErrMalformed, err)
	}
	return normalizeCBOR(v)
}

// normalizeCBOR maps what the CBOR library produces onto the common value
// types: unsigned integers become int64 when they fit, and tags and other
// exotic values are refused.
func normalizeCBOR(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, int64, string, float64:
		return v, nil
	case []byte:
		if v == nil {
			return []byte{}, nil
		}
		return v, nil
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), nil
		}
		return v, nil
	case float32:
		return float64(v), nil
	case []any, map[string]any:
		return normalizeContainer(v, normalizeCBOR)
	}
	return nil, fmt.Errorf("%w: cbor: unsupported value of type %T", wamp.ErrMalformed, v)
}

func (c cborCodec) Append(dst []byte, m wamp.Message) ([]byte, error) {
	e := cborEncoder{buf: dst}
	wamp.Encode(m, &e)
	if e.err != nil {
		return dst, fmt.Errorf("codec: cbor: encode %s: %w", m.Type(), e.err)
	}
	return e.buf, nil
}

// cborEncoder writes heads itself (they are a byte or a few) and hands
// dicts and values to the CBOR library.
type cborEncoder struct {
	buf []byte
	err error
}

func appendCBORHead(b []byte, major byte, n uint64) []byte {
	major <<= 5
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= math.MaxUint8:
		return append(b, major|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, major|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, major|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func (e *cborEncoder) Array(n int)   { e.buf = appendCBORHead(e.buf, 4, uint64(n)) }
func (e *cborEncoder) Uint(v uint64) { e.buf = appendCBORHead(e.buf, 0, v) }
func (e *cborEncoder) String(s string) {
	e.buf = appendCBORHead(e.buf, 3, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *cborEncoder) Dict(d wamp.Dict) {
	if len(d) == 0 {
		e.buf = appendCBORHead(e.buf, 5, 0)
		return
	}
	e.value(d)
}

func (e *cborEncoder) value(v any) {
	b, err := cborEnc.Marshal(v)
	if err != nil {
		if e.err == nil {
			e.err = fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
		}
		return
	}
	e.buf = append(e.buf, b...)
}

func (e *cborEncoder) Args(p *wamp.Payload) {
	args, _, raw, err := payloadValues("cbor", p)
	switch {
	case err != nil:
		if e.err == nil {
			e.err = err
		}
	case raw:
		e.buf = append(e.buf, p.Raw.Args...)
	case args == nil:
		e.buf = appendCBORHead(e.buf, 4, 0)
	default:
		e.value(args)
	}
}

func (e *cborEncoder) Kwargs(p *wamp.Payload) {
	_, kwargs, raw, err := payloadValues("cbor", p)
	switch {
	case err != nil:
		if e.err == nil {
			e.err = err
		}
	case raw:
		e.buf = append(e.buf, p.Raw.Kwargs...)
	default:
		e.value(kwargs)
	}
}

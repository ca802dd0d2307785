package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/junction-run/junction/wamp"
)

type cborCodec struct{}

func (cborCodec) Name() string        { return "cbor" }
func (cborCodec) Subprotocol() string { return "wamp.2.cbor" }
func (cborCodec) Binary() bool        { return true }

var (
	// cborDec decodes and checks one element: valid UTF-8, containers
	// (and tags) nested at most MaxDepth levels.
	cborDec = mustDecMode(cbor.DecOptions{
		DefaultMapType:   reflect.TypeOf(wamp.Dict(nil)),
		MaxNestedLevels:  MaxDepth,
		MaxArrayElements: 1 << 24,
		MaxMapPairs:      1 << 24,
		IndefLength:      cbor.IndefLengthAllowed,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		UTF8:             cbor.UTF8RejectInvalid,
	})
	// cborSplit splits a message into its elements, leaving what
	// cborDec checks to each element, so that a bad value in a request's
	// arguments can be answered with an ERROR naming the request.
	cborSplit = mustDecMode(cbor.DecOptions{
		MaxNestedLevels:  4 * MaxDepth,
		MaxArrayElements: 1 << 24,
		MaxMapPairs:      1 << 24,
		IndefLength:      cbor.IndefLengthAllowed,
		UTF8:             cbor.UTF8DecodeInvalid,
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
	if err := cborSplit.Unmarshal(data, &elems); err != nil {
		return nil, malformed(0, "not a CBOR array: %v", err)
	}
	return buildMessage("cbor", len(elems), cborFrame(elems))
}

type cborFrame []cbor.RawMessage

func (f cborFrame) value(i int) (any, error) { return decodeCBORValue(f[i]) }

func (f cborFrame) raw(i int) ([]byte, error) {
	if err := cborDec.Wellformed(f[i]); err != nil {
		return nil, cborValueError(err)
	}
	// Wellformed leaves text strings unchecked.
	if _, ok := cborTextValid(f[i]); !ok {
		return nil, errInvalidUTF8
	}
	return f[i], nil
}

// cborTextValid walks one well-formed CBOR item and reports whether all
// its text strings are valid UTF-8, and the item's length.
func cborTextValid(b []byte) (int, bool) {
	major, info := b[0]>>5, b[0]&0x1f
	if info == 31 { // indefinite length: items up to the break byte
		i := 1
		for b[i] != 0xff {
			n, ok := cborTextValid(b[i:])
			if !ok {
				return 0, false
			}
			i += n
		}
		return i + 1, true
	}
	arg, i := uint64(info), 1
	switch info {
	case 24:
		arg, i = uint64(b[1]), 2
	case 25:
		arg, i = uint64(binary.BigEndian.Uint16(b[1:])), 3
	case 26:
		arg, i = uint64(binary.BigEndian.Uint32(b[1:])), 5
	case 27:
		arg, i = binary.BigEndian.Uint64(b[1:]), 9
	}
	switch major {
	case 2:
		return i + int(arg), true
	case 3:
		end := i + int(arg)
		return end, utf8.Valid(b[i:end])
	case 4, 5:
		items := arg
		if major == 5 {
			items *= 2
		}
		for range items {
			n, ok := cborTextValid(b[i:])
			if !ok {
				return 0, false
			}
			i += n
		}
		return i, true
	case 6:
		n, ok := cborTextValid(b[i:])
		return i + n, ok
	}
	return i, true // integers, simple values and floats: their head is all
}

// cborValueError tells the faults of a well-formed value (too deep,
// invalid UTF-8) from the rest.
func cborValueError(err error) error {
	var deep *cbor.MaxNestedLevelError
	var sem *cbor.SemanticError
	switch {
	case errors.As(err, &deep):
		return errTooDeep
	case errors.As(err, &sem) && strings.Contains(sem.Error(), "UTF-8"):
		return errInvalidUTF8
	}
	return fmt.Errorf("%w: cbor: %v", wamp.ErrMalformed, err)
}

// CBOR major types 4 (array) and 5 (map) sit in the top three bits.
func (f cborFrame) isList(b []byte) bool { return len(b) > 0 && b[0]>>5 == 4 }
func (f cborFrame) isDict(b []byte) bool { return len(b) > 0 && b[0]>>5 == 5 }

func (cborCodec) DecodeValue(data []byte) (any, error) {
	return decodeCBORValue(data)
}

func decodeCBORValue(data []byte) (any, error) {
	var v any
	if err := cborDec.Unmarshal(data, &v); err != nil {
		return nil, cborValueError(err)
	}
	return normalizeCBOR(v)
}

// normalizeCBOR maps what the CBOR library produces onto the common value
// types: undefined is nil, unsigned integers become int64 when they fit,
// date-times (tags 0 and 1) RFC 3339 strings (see timestampString),
// bignums (tags 2 and 3) integers when they fit in 64 bits; any other tag
// gives its content. Other exotic values are refused.
func normalizeCBOR(v any) (any, error) {
	switch v := v.(type) {
	case time.Time:
		return timestampString(v), nil
	case big.Int:
		return normalizeBigInt(&v)
	case *big.Int:
		return normalizeBigInt(v)
	case cbor.Tag:
		return normalizeCBOR(v.Content)
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

// cborEncoders holds encoders between messages: wamp.Encode takes an
// interface, so an encoder on the stack would escape, one per message.
var cborEncoders = sync.Pool{New: func() any { return new(cborEncoder) }}

func (c cborCodec) Append(dst []byte, m wamp.Message) ([]byte, error) {
	e := cborEncoders.Get().(*cborEncoder)
	*e = cborEncoder{buf: dst}
	wamp.Encode(m, e)
	buf, err := e.buf, e.err
	*e = cborEncoder{} // the pool keeps no caller's buffer
	cborEncoders.Put(e)
	if err != nil {
		return dst, fmt.Errorf("codec: cbor: encode %s: %w", m.Type(), err)
	}
	return buf, nil
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
	if nestsDeeper(v, MaxDepth) {
		if e.err == nil {
			e.err = fmt.Errorf("%w: containers nested deeper than %d levels", ErrUnsupportedValue, maxDepth)
		}
		return
	}
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

func normalizeBigInt(b *big.Int) (any, error) {
	switch {
	case b.IsInt64():
		return b.Int64(), nil
	case b.IsUint64():
		return b.Uint64(), nil
	}
	return nil, badValue("CBOR bignum %s does not fit in 64 bits", b)
}

// nestsDeeper reports whether v's lists and dicts nest more than n levels
// (the CBOR library has no bound of its own when encoding).
func nestsDeeper(v any, n int) bool {
	switch v := v.(type) {
	case wamp.List:
		if n == 0 {
			return true
		}
		for _, e := range v {
			if nestsDeeper(e, n-1) {
				return true
			}
		}
	case wamp.Dict:
		if n == 0 {
			return true
		}
		for _, e := range v {
			if nestsDeeper(e, n-1) {
				return true
			}
		}
	}
	return false
}

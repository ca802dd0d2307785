package codec

import (
	"errors"
	"fmt"
	"sync"

	"github.com/junction-run/junction/wamp"
)

// Codec is one WAMP serializer. Implementations are safe for concurrent use.
type Codec interface {
	// Name is the serializer's short name: "json", "msgpack" or "cbor".
	Name() string
	// Subprotocol is the WebSocket subprotocol, such as "wamp.2.json".
	Subprotocol() string
	// Binary reports whether messages go in binary WebSocket frames.
	Binary() bool
	// Append appends the encoding of m to dst.
	Append(dst []byte, m wamp.Message) ([]byte, error)
	// Decode decodes one message. Its payload is left encoded in
	// Payload.Raw. Malformed input yields an error wrapping
	// wamp.ErrMalformed (a *wamp.DecodeError for message-level faults).
	Decode(data []byte) (wamp.Message, error)
	// DecodeValue decodes one value, as found in RawPayload.Args/Kwargs.
	DecodeValue(data []byte) (any, error)
}

// Errors returned by this package.
var (
	// ErrUnknownSerializer is returned for a serializer name that is not
	// one of JSON, MessagePack and CBOR.
	ErrUnknownSerializer = errors.New("codec: unknown serializer")
	// ErrUnsupportedValue is returned when a value cannot be encoded.
	ErrUnsupportedValue = errors.New("codec: unsupported value")
)

// The three serializers.
var (
	JSON    Codec = jsonCodec{}
	MsgPack Codec = msgpackCodec{}
	CBOR    Codec = cborCodec{}
)

// All lists the serializers in order of preference.
var All = []Codec{JSON, MsgPack, CBOR}

// ByName returns the codec with the given Name.
func ByName(name string) (Codec, error) {
	for _, c := range All {
		if c.Name() == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownSerializer, name)
}

// BySubprotocol returns the codec for a WebSocket subprotocol such as
// "wamp.2.msgpack".
func BySubprotocol(p string) (Codec, error) {
	for _, c := range All {
		if c.Subprotocol() == p {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: subprotocol %q", ErrUnknownSerializer, p)
}

// Encode returns the encoding of m by c.
func Encode(c Codec, m wamp.Message) ([]byte, error) {
	return c.Append(nil, m)
}

// Values returns p's arguments as Go values, decoding Raw if need be. It
// does not modify p, so it is safe on payloads shared between goroutines.
func Values(p *wamp.Payload) (wamp.List, wamp.Dict, error) {
	r := p.Raw
	if r == nil {
		return p.Args, p.Kwargs, nil
	}
	c, err := ByName(r.Serializer)
	if err != nil {
		return nil, nil, err
	}
	var args wamp.List
	var kwargs wamp.Dict
	if r.Args != nil {
		v, err := c.DecodeValue(r.Args)
		if err != nil {
			return nil, nil, fmt.Errorf("decode args: %w", err)
		}
		var ok bool
		if args, ok = v.(wamp.List); !ok && v != nil {
			return nil, nil, fmt.Errorf("%w: args: not a list", wamp.ErrMalformed)
		}
	}
	if r.Kwargs != nil {
		v, err := c.DecodeValue(r.Kwargs)
		if err != nil {
			return nil, nil, fmt.Errorf("decode kwargs: %w", err)
		}
		var ok bool
		if kwargs, ok = v.(wamp.Dict); !ok && v != nil {
			return nil, nil, fmt.Errorf("%w: kwargs: not a dict", wamp.ErrMalformed)
		}
	}
	return args, kwargs, nil
}

// Resolve replaces p's raw payload, if any, with decoded values. Use it
// only on a payload the caller owns; see Values otherwise.
func Resolve(p *wamp.Payload) error {
	if p.Raw == nil {
		return nil
	}
	args, kwargs, err := Values(p)
	if err != nil {
		return err
	}
	p.Args, p.Kwargs, p.Raw = args, kwargs, nil
	return nil
}

// DecodeResolved decodes a message and resolves its payload: what a client
// wants.
func DecodeResolved(c Codec, data []byte) (wamp.Message, error) {
	m, err := c.Decode(data)
	if err != nil {
		return nil, err
	}
	if p, ok := wamp.PayloadOf(m); ok {
		if err := Resolve(p); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// payloadValues returns the payload's values for encoding by the codec
// named self: nil, nil, true when the raw bytes can be copied as they are.
func payloadValues(self string, p *wamp.Payload) (wamp.List, wamp.Dict, bool, error) {
	if p.Raw != nil && p.Raw.Serializer == self {
		return nil, nil, true, nil
	}
	args, kwargs, err := Values(p)
	return args, kwargs, false, err
}

// malformed returns a whole-message decode error.
func malformed(t wamp.Type, format string, args ...any) error {
	return &wamp.DecodeError{Type: t, Index: -1, Reason: fmt.Sprintf(format, args...)}
}

// elemError returns an element-level decode error.
func elemError(t wamp.Type, i int, format string, args ...any) error {
	return &wamp.DecodeError{Type: t, Index: i, Reason: fmt.Sprintf(format, args...)}
}

// decodeFrame is shared by the codecs: given the element count n and
// accessors for the type code, generic elements and raw payload elements,
// it builds the message. kinds reports whether raw payload elements are a
// list (i == pi) and a dict (i == pi+1).
type frameReader interface {
	value(i int) (any, error)
	raw(i int) ([]byte, error)
	isList(raw []byte) bool
	isDict(raw []byte) bool
}

// elemsPool holds buildMessage's element lists: a message keeps the
// values, never the list.
var elemsPool = sync.Pool{New: func() any { s := make([]any, 0, 8); return &s }}

func buildMessage(name string, n int, fr frameReader) (wamp.Message, error) {
	ep := elemsPool.Get().(*[]any)
	m, err := buildFrom(ep, name, n, fr)
	if cap(*ep) <= 64 {
		// Only the first len slots were written: the pool's lists are nil
		// past their length, and so is what append allocates.
		clear(*ep)
		*ep = (*ep)[:0]
		elemsPool.Put(ep)
	}
	return m, err
}

// buildFrom is buildMessage, with the elements read into *ep.
func buildFrom(ep *[]any, name string, n int, fr frameReader) (wamp.Message, error) {
	if n == 0 {
		return nil, malformed(0, "empty message array")
	}
	tv, err := fr.value(0)
	if err != nil {
		return nil, elemError(0, 0, "message type: %v", err)
	}
	code, ok := wamp.AsInt64(tv)
	if !ok || code < 0 || code > 255 || !wamp.Type(code).Known() {
		return nil, &wamp.DecodeError{Index: 0, Field: "Type", Reason: fmt.Sprintf("unknown message type %v", tv)}
	}
	t := wamp.Type(code)
	pi := wamp.PayloadIndex(t)
	end := n
	if pi >= 0 && pi < n {
		end = pi
	}
	for i := 1; i < end; i++ {
		v, err := fr.value(i)
		if err != nil {
			if isValueError(err) {
				return nil, wamp.NewValueError(t, *ep, i, "", err.Error())
			}
			return nil, elemError(t, i, "%v", err)
		}
		*ep = append(*ep, v)
	}
	elems := *ep
	var raw wamp.RawPayload
	if pi >= 0 && n > pi && n <= pi+2 {
		raw.Serializer = name
		if raw.Args, err = fr.raw(pi); err != nil {
			if isValueError(err) {
				return nil, wamp.NewValueError(t, elems, pi, "Args", err.Error())
			}
			return nil, elemError(t, pi, "Args: %v", err)
		}
		if !fr.isList(raw.Args) {
			return nil, elemError(t, pi, "Args: want a list")
		}
		if n > pi+1 {
			if raw.Kwargs, err = fr.raw(pi + 1); err != nil {
				if isValueError(err) {
					return nil, wamp.NewValueError(t, elems, pi+1, "Kwargs", err.Error())
				}
				return nil, elemError(t, pi+1, "Kwargs: %v", err)
			}
			if !fr.isDict(raw.Kwargs) {
				return nil, elemError(t, pi+1, "Kwargs: want a dict")
			}
		}
	}
	return wamp.Build(t, elems, n, raw)
}

// normalizeContainer applies leaf to every element of a list or dict,
// in place: the second pass of the codecs whose library decodes first.
func normalizeContainer(v any, leaf func(any) (any, error)) (any, error) {
	var err error
	switch v := v.(type) {
	case []any:
		for i, e := range v {
			if v[i], err = leaf(e); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k, e := range v {
			if v[k], err = leaf(e); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

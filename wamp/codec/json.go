package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/junction-run/junction/wamp"
)

type jsonCodec struct{}

func (jsonCodec) Name() string        { return "json" }
func (jsonCodec) Subprotocol() string { return "wamp.2.json" }
func (jsonCodec) Binary() bool        { return false }

// jsonFrames holds the fast path's frames: the decoded message keeps
// none of a frame, only the elements it points into.
var jsonFrames = sync.Pool{New: func() any { return &jsonFrame{elems: make([][]byte, 0, 8)} }}

func (c jsonCodec) Decode(data []byte) (wamp.Message, error) {
	// The fast path: one pass validates, checks UTF-8 and splits.
	data = bytes.Clone(data) // the elements outlive the caller's buffer
	f := jsonFrames.Get().(*jsonFrame)
	f.elems, f.scanned = f.elems[:0], true
	if scanJSONArray(data, f) {
		m, err := buildMessage("json", len(f.elems), f)
		f.release()
		return m, err
	}
	f.release()
	// The slow path finds and words what is wrong: one validating scan,
	// then a split of the top-level array that can trust the syntax.
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v) // for the precise syntax error
		return nil, malformed(0, "not a JSON array: %v", err)
	}
	sf, ok := splitJSONArray(data)
	if !ok {
		return nil, malformed(0, "not a JSON array")
	}
	return buildMessage("json", len(sf.elems), &sf)
}

// splitJSONArray returns the elements of a valid JSON array, as slices of
// data, with how deep each nests, or false if data is not an array.
func splitJSONArray(data []byte) (jsonFrame, bool) {
	data = bytes.TrimSpace(data)
	if len(data) < 2 || data[0] != '[' {
		return jsonFrame{}, false
	}
	f := jsonFrame{elems: make([][]byte, 0, 8)}
	depth, deepest, start, inString := 0, 0, -1, false
	for i := 1; i < len(data)-1; i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		case '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				f.add(bytes.TrimSpace(data[start:i]), deepest)
				start, deepest = -1, 0
				continue
			}
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		f.add(bytes.TrimSpace(data[start:len(data)-1]), deepest)
	}
	return f, true
}

// jsonFrame is a message's elements and how deep containers nest in each
// of the first len(depths) (no message has more elements: a longer array
// fails its arity check before any element past them is read).
type jsonFrame struct {
	elems  [][]byte
	depths [8]int
	// scanned: scanJSONArray checked the elements' UTF-8 already.
	scanned bool
	// strs holds the last short strings the frame decoded, each with its
	// box: a procedure or topic is usually the one of a message before,
	// and its string and box would cost two allocations each time. The
	// frames are pooled per P, so each core keeps its own.
	strs [4]boxedString
	next int
}

type boxedString struct {
	s string
	v any // s, boxed once
}

// maxBoxedString bounds the strings a frame keeps.
const maxBoxedString = 128

// boxed returns the kept box of the string element e, if any.
func (f *jsonFrame) boxed(e []byte) (any, bool) {
	inner := e[1 : len(e)-1]
	for i := range f.strs {
		if b := &f.strs[i]; b.v != nil && b.s == string(inner) {
			return b.v, true
		}
	}
	return nil, false
}

// keep remembers v, decoded from the string element e, when it is a short
// string that e holds as is (no escapes).
func (f *jsonFrame) keep(e []byte, v any) {
	s, ok := v.(string)
	if !ok || len(s) > maxBoxedString || s != string(e[1:len(e)-1]) {
		return
	}
	f.strs[f.next] = boxedString{s, v}
	f.next = (f.next + 1) % len(f.strs)
}

// release gives a pooled frame back, without its references to data.
func (f *jsonFrame) release() {
	if cap(f.elems) > 64 {
		return
	}
	clear(f.elems)
	f.elems = f.elems[:0]
	jsonFrames.Put(f)
}

func (f *jsonFrame) add(elem []byte, depth int) {
	if i := len(f.elems); i < len(f.depths) {
		f.depths[i] = depth
	}
	f.elems = append(f.elems, elem)
}

// check refuses an element nested deeper than MaxDepth or holding invalid
// UTF-8 (encoding/json would quietly turn it into U+FFFD; passed through
// raw, it would break every WebSocket peer that receives it as text).
func (f *jsonFrame) check(i int) error {
	if i >= len(f.depths) || f.depths[i] > MaxDepth {
		return errTooDeep
	}
	if !f.scanned && !utf8.Valid(f.elems[i]) {
		return errInvalidUTF8
	}
	return nil
}

func (f *jsonFrame) value(i int) (any, error) {
	if err := f.check(i); err != nil {
		return nil, err
	}
	e := f.elems[i]
	if len(e) == 2 && e[0] == '{' && e[1] == '}' {
		// Most options and details are empty: a nil Dict reads the same
		// and costs no allocation. Messages are read-only once decoded.
		return wamp.Dict(nil), nil
	}
	str := len(e) >= 2 && e[0] == '"'
	if str {
		if v, ok := f.boxed(e); ok {
			return v, nil
		}
	}
	v, err := decodeJSONElem(e, f.scanned)
	if str && err == nil {
		f.keep(e, v)
	}
	return v, err
}

func (f *jsonFrame) raw(i int) ([]byte, error) {
	if err := f.check(i); err != nil {
		return nil, err
	}
	return f.elems[i], nil
}

func (f *jsonFrame) isList(b []byte) bool { return len(b) > 0 && b[0] == '[' }
func (f *jsonFrame) isDict(b []byte) bool { return len(b) > 0 && b[0] == '{' }

func (jsonCodec) DecodeValue(data []byte) (any, error) {
	return decodeJSONValue(data)
}

// decodeJSONValue decodes one JSON value into normalised Go values.
func decodeJSONValue(data []byte) (any, error) {
	return decodeJSONElem(bytes.TrimSpace(data), false)
}

// decodeJSONElem is decodeJSONValue for a message element, which is known
// to be valid JSON and has no space around it: both splits trim it.
// utf8OK says its UTF-8 is known to be valid too, as the fast path's
// scanner checked it.
func decodeJSONElem(data []byte, utf8OK bool) (any, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty JSON value", wamp.ErrMalformed)
	}
	switch c := data[0]; {
	case c == '-' || c >= '0' && c <= '9':
		if n, ok := smallJSONInt(data); ok {
			return n, nil
		}
		return jsonNumber(string(data))
	case len(data) == 2 && c == '{' && data[1] == '}':
		return wamp.Dict{}, nil
	case c == '"' && len(data) >= 2 && data[len(data)-1] == '"' && bytes.IndexByte(data[1:len(data)-1], '\\') < 0:
		s := string(data[1 : len(data)-1])
		if !utf8OK && !utf8.ValidString(s) {
			return nil, fmt.Errorf("%w: invalid UTF-8 in JSON string", wamp.ErrMalformed)
		}
		return jsonString(s)
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", wamp.ErrMalformed, err)
	}
	if d.More() {
		return nil, fmt.Errorf("%w: trailing data after JSON value", wamp.ErrMalformed)
	}
	return normalizeJSON(v)
}

// smallJSONInt parses the common number of a WAMP message, a message type
// or an ID: an integer of at most 18 digits, which cannot overflow. It
// saves the string jsonNumber's parsers need.
func smallJSONInt(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 || len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func jsonNumber(s string) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: bad JSON number %q", wamp.ErrMalformed, s)
	}
	return f, nil
}

// jsonString applies the specification's binary convention: "\u0000"
// followed by base64 is a byte string.
func jsonString(s string) (any, error) {
	if len(s) > 0 && s[0] == 0 {
		b, err := base64.StdEncoding.DecodeString(s[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: binary string: bad base64: %v", wamp.ErrMalformed, err)
		}
		return b, nil
	}
	return s, nil
}

func normalizeJSON(v any) (any, error) {
	switch v := v.(type) {
	case json.Number:
		return jsonNumber(string(v))
	case string:
		return jsonString(v)
	case []any, map[string]any:
		return normalizeContainer(v, normalizeJSON)
	}
	return v, nil
}

// jsonEncoders holds encoders between messages: wamp.Encode takes an
// interface, so an encoder on the stack would escape, one per message.
var jsonEncoders = sync.Pool{New: func() any { return new(jsonEncoder) }}

func (c jsonCodec) Append(dst []byte, m wamp.Message) ([]byte, error) {
	e := jsonEncoders.Get().(*jsonEncoder)
	*e = jsonEncoder{buf: dst}
	wamp.Encode(m, e)
	buf, err := e.buf, e.err
	*e = jsonEncoder{} // the pool keeps no caller's buffer
	jsonEncoders.Put(e)
	if err != nil {
		return dst, fmt.Errorf("codec: json: encode %s: %w", m.Type(), err)
	}
	return buf, nil
}

// jsonEncoder writes a message array; n and i track the commas and the
// closing bracket.
type jsonEncoder struct {
	buf  []byte
	n, i int
	err  error
}

func (e *jsonEncoder) Array(n int) {
	e.buf = append(e.buf, '[')
	e.n, e.i = n, 0
	if n == 0 {
		e.buf = append(e.buf, ']')
	}
}

func (e *jsonEncoder) next() {
	if e.i > 0 {
		e.buf = append(e.buf, ',')
	}
}

func (e *jsonEncoder) done() {
	e.i++
	if e.i == e.n {
		e.buf = append(e.buf, ']')
	}
}

func (e *jsonEncoder) Uint(v uint64) {
	e.next()
	e.buf = strconv.AppendUint(e.buf, v, 10)
	e.done()
}

func (e *jsonEncoder) String(s string) {
	e.next()
	e.buf = appendJSONString(e.buf, s)
	e.done()
}

func (e *jsonEncoder) Dict(d wamp.Dict) {
	e.next()
	e.value(d)
	e.done()
}

func (e *jsonEncoder) Args(p *wamp.Payload) {
	e.next()
	args, _, raw, err := payloadValues("json", p)
	switch {
	case err != nil:
		e.fail(err)
	case raw:
		e.buf = append(e.buf, p.Raw.Args...)
	case args == nil:
		e.buf = append(e.buf, '[', ']')
	default:
		e.value(args)
	}
	e.done()
}

func (e *jsonEncoder) Kwargs(p *wamp.Payload) {
	e.next()
	_, kwargs, raw, err := payloadValues("json", p)
	switch {
	case err != nil:
		e.fail(err)
	case raw:
		e.buf = append(e.buf, p.Raw.Kwargs...)
	default:
		e.value(kwargs)
	}
	e.done()
}

func (e *jsonEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *jsonEncoder) value(v any) {
	var err error
	e.buf, err = appendJSONValue(e.buf, v, 0)
	if err != nil {
		e.fail(err)
	}
}

func appendJSONValue(b []byte, v any, depth int) ([]byte, error) {
	switch v.(type) {
	case wamp.List, wamp.Dict:
		if depth >= maxDepth {
			return b, fmt.Errorf("%w: containers nested deeper than %d levels", ErrUnsupportedValue, maxDepth)
		}
	}
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case string:
		return appendJSONString(b, v), nil
	case wamp.URI:
		return appendJSONString(b, string(v)), nil
	case []byte:
		b = append(b, `"\u0000`...)
		b = base64.StdEncoding.AppendEncode(b, v)
		return append(b, '"'), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case wamp.ID:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return b, fmt.Errorf("%w: %v has no JSON form", ErrUnsupportedValue, v)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64), nil
	case wamp.List:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSONValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case wamp.Dict:
		if len(v) == 0 {
			return append(b, '{', '}'), nil
		}
		b = append(b, '{')
		for i, k := range sortedKeys(v) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSONValue(b, v[k], depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	}
	// Anything else (structs, typed maps and slices, other numeric
	// types) goes through encoding/json.
	out, err := json.Marshal(v)
	if err != nil {
		return b, fmt.Errorf("%w: %w", ErrUnsupportedValue, err)
	}
	return append(b, out...), nil
}

func sortedKeys(d wamp.Dict) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendJSONString quotes s, escaping what JSON requires; invalid UTF-8 is
// replaced by U+FFFD as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

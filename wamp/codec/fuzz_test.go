package codec

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/junction-run/junction/wamp"
)

// fuzzDecode checks what must hold for any input: decoding never panics,
// and whatever decodes re-encodes (payload passed through) and decodes again
// to the same type, with a payload that resolves if the original did.
func fuzzDecode(f *testing.F, c Codec) {
	for _, m := range sampleMessages() {
		data, err := Encode(c, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, data := range hostileSeeds()[c.Name()] {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := c.Decode(data)
		if err != nil {
			return
		}
		out, err := Encode(c, m)
		if err != nil {
			t.Fatalf("decoded %#v but cannot encode it: %v", m, err)
		}
		m2, err := c.Decode(out)
		if err != nil {
			t.Fatalf("re-encoding %q does not decode: %v", out, err)
		}
		if m2.Type() != m.Type() {
			t.Fatalf("type changed from %s to %s", m.Type(), m2.Type())
		}
		p, ok := wamp.PayloadOf(m)
		if !ok {
			return
		}
		if _, _, err := Values(p); err != nil {
			return
		}
		p2, _ := wamp.PayloadOf(m2)
		if _, _, err := Values(p2); err != nil {
			t.Fatalf("payload resolved before the round trip but not after: %v", err)
		}
		// A resolved payload must encode too (the cross-serializer path),
		// into what a strict decoder of that serializer accepts.
		for _, to := range All {
			out, err := Encode(to, m)
			if to == JSON && err != nil {
				continue // NaN and Inf from binary codecs have no JSON form
			}
			if err != nil {
				t.Fatalf("%s cannot encode payload decoded by %s: %v", to.Name(), c.Name(), err)
			}
			if err := strictDecode(to, out); err != nil {
				t.Fatalf("%s output of a message decoded by %s fails a strict decoder: %v\n%x", to.Name(), c.Name(), err, out)
			}
		}
	})
}

// strictCBOR is a CBOR decoder as strict as peers' are: text must be
// UTF-8, nesting is bounded.
var strictCBOR = mustDecMode(cbor.DecOptions{UTF8: cbor.UTF8RejectInvalid, MaxNestedLevels: MaxDepth + 1})

// strictDecode decodes data with another library than ours, as a peer
// would, and checks every string is valid UTF-8.
func strictDecode(c Codec, data []byte) error {
	var v any
	var err error
	switch c {
	case JSON:
		if !utf8.Valid(data) {
			return errInvalidUTF8
		}
		err = json.Unmarshal(data, &v)
	case MsgPack:
		d := msgpack.NewDecoder(bytes.NewReader(data))
		v, err = d.DecodeInterface()
	case CBOR:
		err = strictCBOR.Unmarshal(data, &v)
	}
	if err != nil {
		return err
	}
	if !validStrings(v) {
		return errInvalidUTF8
	}
	return nil
}

func validStrings(v any) bool {
	switch v := v.(type) {
	case string:
		return utf8.ValidString(v)
	case []any:
		for _, e := range v {
			if !validStrings(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if !utf8.ValidString(k) || !validStrings(e) {
				return false
			}
		}
	case map[any]any:
		for k, e := range v {
			if !validStrings(k) || !validStrings(e) {
				return false
			}
		}
	}
	return true
}

func FuzzDecodeJSON(f *testing.F)    { fuzzDecode(f, JSON) }
func FuzzDecodeMsgPack(f *testing.F) { fuzzDecode(f, MsgPack) }
func FuzzDecodeCBOR(f *testing.F)    { fuzzDecode(f, CBOR) }

// FuzzJSONScan checks the single-pass scanner against the slow path it
// short-cuts (encoding/json's validation, a UTF-8 check and the split):
// it accepts exactly what they accept, up to its depth bound, and splits
// the same way.
func FuzzJSONScan(f *testing.F) {
	for _, m := range sampleMessages() {
		data, err := Encode(JSON, m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, data := range hostileSeeds()["json"] {
		f.Add(data)
	}
	for _, s := range []string{`[]`, ` [ ] `, `[1,[2,{"a":[3]}],"x"]`, `[-0.5e+3,true,false,null]`, `["\u00e9\ud800\n"]`,
		`[01]`, `[1.]`, `[1e]`, `["\x01"]`, `[1,]`, `[,1]`, `{"a":1}`, `[1]x`, `["a":1]`, `[{"a" 1}]`, `[{1:2}]`, `[tru]`, `["\q"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast jsonFrame
		scanned := scanJSONArray(data, &fast)
		slowOK := json.Valid(data) && utf8.Valid(data)
		var slow jsonFrame
		if slowOK {
			slow, slowOK = splitJSONArray(data)
		}
		deep := false
		for i := range min(len(slow.elems), len(slow.depths)) {
			deep = deep || slow.depths[i] >= scanMaxDepth
		}
		if len(slow.elems) > len(slow.depths) {
			deep = true // depths past the first eight are not recorded: no claim
		}
		switch {
		case scanned && !slowOK:
			t.Fatalf("the scanner accepts %q, which the slow path refuses", data)
		case !scanned && slowOK && !deep:
			t.Fatalf("the scanner refuses %q, which the slow path accepts", data)
		case scanned:
			if len(fast.elems) != len(slow.elems) {
				t.Fatalf("%q: %d elements, the slow path %d", data, len(fast.elems), len(slow.elems))
			}
			for i := range fast.elems {
				if !bytes.Equal(fast.elems[i], slow.elems[i]) || i < len(fast.depths) && fast.depths[i] != slow.depths[i] {
					t.Fatalf("%q: element %d is %q depth %d, the slow path's %q depth %d", data, i, fast.elems[i], fast.depths[min(i, 7)], slow.elems[i], slow.depths[min(i, 7)])
				}
			}
		}
	})
}

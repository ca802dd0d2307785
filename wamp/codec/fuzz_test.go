package codec

import (
	"testing"

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
		// A resolved payload must encode too (the cross-serializer path).
		for _, to := range All {
			if to == JSON {
				continue // NaN and Inf from binary codecs have no JSON form
			}
			if _, err := Encode(to, m); err != nil {
				t.Fatalf("%s cannot encode payload decoded by %s: %v", to.Name(), c.Name(), err)
			}
		}
	})
}

func FuzzDecodeJSON(f *testing.F)    { fuzzDecode(f, JSON) }
func FuzzDecodeMsgPack(f *testing.F) { fuzzDecode(f, MsgPack) }
func FuzzDecodeCBOR(f *testing.F)    { fuzzDecode(f, CBOR) }

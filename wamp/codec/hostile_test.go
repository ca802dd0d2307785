package codec

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// hostileSeeds are messages real or hostile clients send, by serializer:
// undefined options, timestamps, invalid UTF-8, values nested too deep.
func hostileSeeds() map[string][][]byte {
	ack := append([]byte{0x81, 0xab}, "acknowledge"...)
	return map[string][][]byte{
		"json": {
			[]byte("[16,7,{\"acknowledge\":true},\"t\",[\"\xff\xfe\"]]"),
			[]byte(`[16,7,{},"t",` + strings.Repeat("[", 513) + strings.Repeat("]", 513) + `]`),
			[]byte(`[32,6,{},"com.\u0000x"]`),
		},
		"msgpack": {
			append([]byte{0x94, 0x20, 0x05, 0x81, 0xa5}, append([]byte("match"), 0xd4, 0x00, 0x00, 0xa3, 'a', '.', 'b')...),
			append(append([]byte{0x95, 0x10, 0x07}, ack...), 0xc3, 0xa1, 't', 0x92, 0xd6, 0xff, 0x5f, 0x5e, 0x10, 0x00, 0xa2, 0xff, 0xfe),
			append(append([]byte{0x95, 0x10, 0x07}, ack...), append([]byte{0xc3, 0xa1, 't'}, bytes.Repeat([]byte{0x91}, 600)...)...),
		},
		"cbor": {
			append([]byte{0x84, 0x18, 0x20, 0x05, 0xa1, 0x65}, append([]byte("match"), 0xf7, 0x63, 'a', '.', 'b')...),
			append([]byte{0x85, 0x10, 0x07, 0xa0, 0x61, 't', 0x82, 0xc1, 0x1a, 0x5f, 0x5e, 0x10, 0x00, 0x62}, 0xff, 0xfe),
			append([]byte{0x85, 0x10, 0x07, 0xa0, 0x61, 't'}, bytes.Repeat([]byte{0x81}, 600)...),
		},
	}
}

func TestUndefinedOptionsAreAbsent(t *testing.T) {
	for name, data := range map[string][]byte{
		"msgpack": hostileSeeds()["msgpack"][0],
		"cbor":    hostileSeeds()["cbor"][0],
	} {
		c, _ := ByName(name)
		m, err := c.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, ok := m.(*wamp.Subscribe)
		if !ok || s.Topic != "a.b" || len(s.Options) != 0 {
			t.Fatalf("%s: got %#v, want SUBSCRIBE a.b with no options", name, m)
		}
	}
	// JSON null too, for every dict of options or details.
	m, err := JSON.Decode([]byte(`[48,1,{"timeout":null,"receive_progress":true},"p"]`))
	if err != nil {
		t.Fatal(err)
	}
	if o := m.(*wamp.Call).Options; len(o) != 1 || o["receive_progress"] != true {
		t.Fatalf("options %v", o)
	}
}

func TestTimestamps(t *testing.T) {
	const want = "2020-09-13T12:26:40Z"
	for name, ext := range map[string][]byte{
		"msgpack ts32": {0xd6, 0xff, 0x5f, 0x5e, 0x10, 0x00},
		"msgpack ts64": {0xd7, 0xff, 0, 0, 0, 0, 0x5f, 0x5e, 0x10, 0x00},
		"msgpack ts96": {0xc7, 12, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0x5f, 0x5e, 0x10, 0x00},
	} {
		v, err := MsgPack.DecodeValue(ext)
		if err != nil || v != want {
			t.Errorf("%s: %v, %v; want %s", name, v, err, want)
		}
	}
	for name, tag := range map[string][]byte{
		"cbor tag 1": {0xc1, 0x1a, 0x5f, 0x5e, 0x10, 0x00},
		"cbor tag 0": append([]byte{0xc0, 0x74}, "2020-09-13T12:26:40Z"...),
	} {
		v, err := CBOR.DecodeValue(tag)
		if err != nil || v != want {
			t.Errorf("%s: %v, %v; want %s", name, v, err, want)
		}
	}
	// A raw MessagePack payload holding extensions is forwarded in plain
	// types: the timestamp as its string.
	m, err := MsgPack.Decode(hostileSeeds()["msgpack"][1][:len(hostileSeeds()["msgpack"][1])-3])
	if err == nil {
		t.Fatalf("decoded %#v from a truncated message", m)
	}
	data := []byte{0x95, 0x10, 0x07, 0x80, 0xa1, 't', 0x92, 0xd6, 0xff, 0x5f, 0x5e, 0x10, 0x00, 0xd4, 0x00, 0x00}
	m, err = MsgPack.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := wamp.PayloadOf(m)
	if wantRaw := append(append([]byte{0x92, 0xb4}, want...), 0xc0); !bytes.Equal(p.Raw.Args, wantRaw) {
		t.Fatalf("raw args still hold extensions: %x", p.Raw.Args)
	}
	args, _, err := Values(p)
	if err != nil || len(args) != 2 || args[0] != want || args[1] != nil {
		t.Fatalf("args %v, %v", args, err)
	}
}

// TestOneDepthLimit: every serializer takes args nested MaxDepth levels
// and refuses one more, with an error that names the request.
func TestOneDepthLimit(t *testing.T) {
	nest := func(c Codec, n int) []byte {
		switch c {
		case JSON:
			return []byte(`[16,7,{"acknowledge":true},"t",` + strings.Repeat("[", n) + strings.Repeat("]", n) + `]`)
		case MsgPack:
			return append(append([]byte{0x95, 0x10, 0x07, 0x81, 0xab}, "acknowledge\xc3\xa1t"...), append(bytes.Repeat([]byte{0x91}, n-1), 0x90)...)
		}
		return append(append([]byte{0x85, 0x10, 0x07, 0xa1, 0x6b}, "acknowledge\xf5\x61t"...), append(bytes.Repeat([]byte{0x81}, n-1), 0x80)...)
	}
	for _, c := range All {
		m, err := c.Decode(nest(c, MaxDepth))
		if err != nil {
			t.Fatalf("%s: %d levels: %v", c.Name(), MaxDepth, err)
		}
		// What was accepted can be sent by every serializer.
		for _, to := range All {
			out, err := Encode(to, m)
			if err != nil {
				t.Fatalf("%s→%s: %v", c.Name(), to.Name(), err)
			}
			if err := strictDecode(to, out); err != nil {
				t.Fatalf("%s→%s: strict decoder: %v", c.Name(), to.Name(), err)
			}
		}
		_, err = c.Decode(nest(c, MaxDepth+1))
		var de *wamp.DecodeError
		if !errors.As(err, &de) || !de.InvalidArgument || de.Request != 7 || de.Unacknowledged || !strings.Contains(de.Reason, "nested deeper") {
			t.Fatalf("%s: %d levels: %#v", c.Name(), MaxDepth+1, err)
		}
	}
	// Nor do the encoders write deeper than that.
	deep := wamp.List{}
	for range MaxDepth {
		deep = wamp.List{deep}
	}
	for _, c := range All {
		if _, err := Encode(c, &wamp.Publish{Request: 1, Topic: "t", Payload: wamp.Payload{Args: deep}}); !errors.Is(err, ErrUnsupportedValue) {
			t.Fatalf("%s encoded %d levels: %v", c.Name(), MaxDepth+1, err)
		}
	}
}

func TestInvalidUTF8IsRefusedEverywhere(t *testing.T) {
	for _, c := range All {
		for _, data := range hostileSeeds()[c.Name()] {
			m, err := c.Decode(data)
			if err != nil {
				continue
			}
			// What decodes must have only valid text, for every peer.
			for _, to := range All {
				out, err := Encode(to, m)
				if err != nil {
					t.Fatalf("%s→%s: %v", c.Name(), to.Name(), err)
				}
				if err := strictDecode(to, out); err != nil {
					t.Fatalf("%s→%s: %v", c.Name(), to.Name(), err)
				}
			}
		}
	}
	_, err := JSON.Decode([]byte("[16,7,{\"acknowledge\":true},\"t\",[\"\xff\xfe\"]]"))
	var de *wamp.DecodeError
	if !errors.As(err, &de) || !de.InvalidArgument || de.Request != 7 || de.Index != 4 {
		t.Fatalf("%#v", err)
	}
	// The URI of a SUBSCRIBE over MessagePack.
	_, err = MsgPack.Decode([]byte{0x94, 0x20, 0x05, 0x80, 0xa6, 'c', 'o', 'm', '.', 0xff, 0xfe})
	if !errors.As(err, &de) || !de.InvalidArgument || de.Request != 5 {
		t.Fatalf("%#v", err)
	}
	if wamp.URI("com.\x00x").Valid(false) || wamp.URI("com.\xff").Valid(false) {
		t.Fatal("NUL or invalid UTF-8 in a URI accepted")
	}
}

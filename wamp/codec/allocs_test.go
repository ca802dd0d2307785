package codec

import (
	"testing"

	"github.com/junction-run/junction/wamp"
)

// TestJSONDecodeAllocations pins what decoding the messages of a call
// costs in allocations, as they are most of the router's garbage under
// RPC load: the copy of the frame the payload points into, the message
// with its RawPayload beside it (one allocation), and for a URI its string
// and the string's box in the element list. Empty options and small IDs
// cost nothing.
func TestJSONDecodeAllocations(t *testing.T) {
	c := JSON
	for _, tc := range []struct {
		name string
		data string
		max  float64
	}{
		{"CALL", `[48,7,{},"com.example.add",[1,2]]`, 4},
		{"YIELD", `[70,7,{},[3]]`, 2},
		{"RESULT", `[50,7,{},[3],{"a":1}]`, 2},
		{"PUBLISH without arguments", `[16,7,{},"com.example.topic"]`, 4},
	} {
		data := []byte(tc.data)
		if _, err := c.Decode(data); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		n := testing.AllocsPerRun(1000, func() {
			m, err := c.Decode(data)
			if err != nil || m == nil {
				panic(err)
			}
		})
		if n > tc.max {
			t.Errorf("%s: %.1f allocations per decode, want at most %.0f", tc.name, n, tc.max)
		}
	}
}

func TestEmptyHeaderDictsDecodeAsNil(t *testing.T) {
	m, err := JSON.Decode([]byte(`[48,7,{},"com.example.add",[1]]`))
	if err != nil {
		t.Fatal(err)
	}
	call := m.(*wamp.Call)
	if call.Options != nil || len(call.Options) != 0 {
		t.Fatalf("Options %#v, want a nil Dict", call.Options)
	}
	if call.Payload.Raw == nil || string(call.Payload.Raw.Args) != "[1]" {
		t.Fatalf("payload %#v, want the raw [1]", call.Payload.Raw)
	}
	// An optional element's presence is kept, empty or not.
	m, err = JSON.Decode([]byte(`[35,9,{}]`))
	if err != nil {
		t.Fatal(err)
	}
	if d := m.(*wamp.Unsubscribed).Details; d == nil {
		t.Fatal("UNSUBSCRIBED's empty Details read as absent")
	}
	m, err = JSON.Decode([]byte(`[35,9]`))
	if err != nil {
		t.Fatal(err)
	}
	if d := m.(*wamp.Unsubscribed).Details; d != nil {
		t.Fatalf("UNSUBSCRIBED without Details decoded with %#v", d)
	}
}

package codec

import (
	"testing"

	"github.com/junction-run/junction/wamp"
)

// TestJSONDecodeAllocations pins what decoding the messages of a call
// costs in allocations, as they are most of the router's garbage under
// RPC load: the copy of the frame the payload points into, the message
// with its RawPayload beside it (one allocation). Empty options and small
// IDs cost nothing, and neither does a URI decoded lately on the same core
// (see jsonFrame.strs).
func TestJSONDecodeAllocations(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts under the race detector are not the program's; the README's test command runs this package without it too")
	}
	c := JSON
	for _, tc := range []struct {
		name string
		data string
		max  float64
	}{
		{"CALL", `[48,7,{},"com.example.add",[1,2]]`, 2},
		{"YIELD", `[70,7,{},[3]]`, 2},
		{"RESULT", `[50,7,{},[3],{"a":1}]`, 2},
		{"PUBLISH without arguments", `[16,7,{},"com.example.topic"]`, 2},
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
	for _, c := range All {
		data, err := Encode(c, &wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.example.add",
			Payload: wamp.Payload{Args: wamp.List{int64(1)}}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", c.Name(), err)
		}
		call := m.(*wamp.Call)
		if call.Options != nil {
			t.Fatalf("%s: Options %#v, want a nil Dict", c.Name(), call.Options)
		}
		if call.Procedure != "com.example.add" || call.Payload.Raw == nil {
			t.Fatalf("%s: the elements after the options read as %q, %#v", c.Name(), call.Procedure, call.Payload.Raw)
		}
		args, _, err := Values(&call.Payload)
		if err != nil || len(args) != 1 || args[0] != int64(1) {
			t.Fatalf("%s: args %v, %v; want [1]", c.Name(), args, err)
		}
	}
	// An optional element's presence is kept, empty or not.
	m, err := JSON.Decode([]byte(`[35,9,{}]`))
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

// TestJSONFramesKeepTheirStringsApart: the strings a frame keeps are
// returned only for the very same bytes, and a string written with
// escapes is decoded, never matched against its raw text.
func TestJSONFramesKeepTheirStringsApart(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{`[48,1,{},"com.example.a",[]]`, "com.example.a"},
		{`[48,2,{},"com.example.b",[]]`, "com.example.b"},
		{`[48,3,{},"com.example.a",[]]`, "com.example.a"},
		{`[48,4,{},"com.ex\u0061mple.a",[]]`, "com.example.a"},
		{`[48,6,{},"com.exa",[]]`, "com.exa"},
		{`[48,7,{},"com.example.b",[]]`, "com.example.b"},
		{`[48,8,{},"com.example.c",[]]`, "com.example.c"},
		{`[48,9,{},"com.example.d",[]]`, "com.example.d"},
		{`[48,10,{},"com.example.e",[]]`, "com.example.e"},
		{`[48,11,{},"com.example.a",[]]`, "com.example.a"},
	} {
		m, err := JSON.Decode([]byte(tc.data))
		if err != nil {
			t.Fatalf("%s: %v", tc.data, err)
		}
		if got := string(m.(*wamp.Call).Procedure); got != tc.want {
			t.Fatalf("%s: procedure %q, want %q", tc.data, got, tc.want)
		}
	}
	// A string whose escapes decode to another's raw text.
	for _, tc := range []struct{ data, want string }{
		{`[5,"sig\\b",{}]`, `sig\b`},
		{`[5,"sig\b",{}]`, "sig\b"},
	} {
		m, err := JSON.Decode([]byte(tc.data))
		if err != nil {
			t.Fatalf("%s: %v", tc.data, err)
		}
		if got := m.(*wamp.Authenticate).Signature; got != tc.want {
			t.Fatalf("%s: signature %q, want %q", tc.data, got, tc.want)
		}
	}
}

package codec

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// every message type with representative fields; payload values use the
// normalised types so that a round trip must give them back unchanged.
func sampleMessages() []wamp.Message {
	args := wamp.List{int64(1), "two", 3.5, true, nil, []byte{0, 1, 2}, wamp.List{int64(-7)}, wamp.Dict{"k": "v"}}
	kwargs := wamp.Dict{"a": int64(1), "b": wamp.List{"x"}, "big": uint64(1<<63 + 5)}
	return []wamp.Message{
		&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}},
		&wamp.Welcome{Session: 42, Details: wamp.Dict{"authrole": "anonymous"}},
		&wamp.Abort{Details: wamp.Dict{"message": "no"}, Reason: wamp.URINoSuchRealm},
		&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"challenge": "c"}},
		&wamp.Authenticate{Signature: "sig", Extra: wamp.Dict{}},
		&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseNormal},
		&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: 7, Details: wamp.Dict{}, Error: "app.error", Payload: wamp.Payload{Args: args, Kwargs: kwargs}},
		&wamp.ErrorMessage{RequestType: wamp.TypeSubscribe, Request: 8, Details: wamp.Dict{}, Error: wamp.URINotAuthorized},
		&wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.topic", Payload: wamp.Payload{Args: args}},
		&wamp.Publish{Request: 2, Options: wamp.Dict{}, Topic: "t"},
		&wamp.Published{Request: 1, Publication: wamp.MaxID},
		&wamp.Subscribe{Request: 3, Options: wamp.Dict{"match": "wildcard"}, Topic: "com..topic"},
		&wamp.Subscribed{Request: 3, Subscription: 99},
		&wamp.Unsubscribe{Request: 4, Subscription: 99},
		&wamp.Unsubscribed{Request: 4},
		&wamp.Unsubscribed{Request: 0, Details: wamp.Dict{"subscription": int64(99), "reason": "wamp.error.gone"}},
		&wamp.Event{Subscription: 99, Publication: 5, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{}, Kwargs: kwargs}},
		&wamp.Call{Request: 9, Options: wamp.Dict{"timeout": int64(1000)}, Procedure: "com.example.add", Payload: wamp.Payload{Args: wamp.List{int64(2), int64(3)}}},
		&wamp.Cancel{Request: 9, Options: wamp.Dict{"mode": "kill"}},
		&wamp.Result{Request: 9, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{int64(5)}}},
		&wamp.Result{Request: 10, Details: wamp.Dict{"progress": true}},
		&wamp.Register{Request: 11, Options: wamp.Dict{}, Procedure: "com.example.add"},
		&wamp.Registered{Request: 11, Registration: 12},
		&wamp.Unregister{Request: 13, Registration: 12},
		&wamp.Unregistered{Request: 13},
		&wamp.Invocation{Request: 14, Registration: 12, Details: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"x"}, Kwargs: wamp.Dict{"y": false}}},
		&wamp.Interrupt{Request: 14, Options: wamp.Dict{"mode": "killnowait"}},
		&wamp.Yield{Request: 14, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"done"}}},
	}
}

// normalise makes nil dicts empty, as they are on the wire, but for the
// optional Details of UNSUBSCRIBED and UNREGISTERED, whose nil means absent.
func normalise(m wamp.Message) wamp.Message {
	v := reflect.ValueOf(m).Elem()
	optional := m.Type() == wamp.TypeUnsubscribed || m.Type() == wamp.TypeUnregistered
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Type() == reflect.TypeOf(wamp.Dict(nil)) && f.IsNil() && !(optional && v.Type().Field(i).Name == "Details") {
			f.Set(reflect.ValueOf(wamp.Dict{}))
		}
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	for _, c := range All {
		for _, want := range sampleMessages() {
			t.Run(c.Name()+"/"+want.Type().String(), func(t *testing.T) {
				data, err := Encode(c, want)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				got, err := DecodeResolved(c, data)
				if err != nil {
					t.Fatalf("decode %q: %v", data, err)
				}
				if !reflect.DeepEqual(normalise(got), normalise(want)) {
					t.Fatalf("round trip changed the message\n got: %#v\nwant: %#v", got, want)
				}
			})
		}
	}
}

// TestPassThrough checks the router's fast path: a decoded payload left raw
// is re-encoded byte for byte by the same codec, and converted by another.
func TestPassThrough(t *testing.T) {
	pub := &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "t",
		Payload: wamp.Payload{Args: wamp.List{"a", []byte("bin"), int64(3)}, Kwargs: wamp.Dict{"k": 1.5}}}
	for _, from := range All {
		data, err := Encode(from, pub)
		if err != nil {
			t.Fatal(err)
		}
		m, err := from.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		in := m.(*wamp.Publish)
		if in.Raw == nil || in.Raw.Serializer != from.Name() {
			t.Fatalf("%s: payload not left raw: %#v", from.Name(), in.Payload)
		}
		ev := &wamp.Event{Subscription: 1, Publication: 2, Details: wamp.Dict{}, Payload: in.Payload}
		for _, to := range All {
			out, err := Encode(to, ev)
			if err != nil {
				t.Fatalf("%s->%s: %v", from.Name(), to.Name(), err)
			}
			if from == to && !strings.Contains(string(out), string(in.Raw.Args)) {
				t.Fatalf("%s: raw args not copied verbatim", from.Name())
			}
			got, err := DecodeResolved(to, out)
			if err != nil {
				t.Fatalf("%s->%s: decode: %v", from.Name(), to.Name(), err)
			}
			gev := got.(*wamp.Event)
			if !reflect.DeepEqual(gev.Args, pub.Args) || !reflect.DeepEqual(gev.Kwargs, pub.Kwargs) {
				t.Fatalf("%s->%s: payload changed: %#v %#v", from.Name(), to.Name(), gev.Args, gev.Kwargs)
			}
		}
	}
}

func TestJSONBinaryConvention(t *testing.T) {
	data, err := Encode(JSON, &wamp.Event{Subscription: 1, Publication: 1, Payload: wamp.Payload{Args: wamp.List{[]byte("hi")}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[36,1,1,{},["\u0000aGk="]]`; string(data) != want {
		t.Fatalf("got %s, want %s", data, want)
	}
}

func TestJSONGolden(t *testing.T) {
	for _, tc := range []struct {
		m    wamp.Message
		want string
	}{
		{&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"b": int64(1), "a": "x\n\"<"}}, `[1,"realm1",{"a":"x\n\"<","b":1}]`},
		{&wamp.Call{Request: 1, Procedure: "p", Payload: wamp.Payload{Kwargs: wamp.Dict{"x": 1.25}}}, `[48,1,{},"p",[],{"x":1.25}]`},
		{&wamp.Unsubscribed{Request: 3}, `[35,3]`},
	} {
		got, err := Encode(JSON, tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

func TestMalformedJSON(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{``, "not a JSON array"},
		{`{}`, "not a JSON array"},
		{`[]`, "empty message array"},
		{`["x"]`, "unknown message type"},
		{`[99, 1]`, "unknown message type 99"},
		{`[1, "realm1"]`, "HELLO: has 2 elements, want 3"},
		{`[1, "realm1", {}, 4]`, "has 4 elements"},
		{`[1, 5, {}]`, "element 1 (Realm): want a URI string, got the integer 5"},
		{`[1, "realm1", []]`, "element 2 (Details): want a dict, got a list"},
		{`[1, "bad uri", {}]`, `invalid URI "bad uri"`},
		{`[16, 1, {}, "a..b"]`, `element 3 (Topic): invalid URI`},
		{`[16, 0, {}, "t"]`, "ID 0 is not allowed"},
		{`[16, 9007199254740993, {}, "t"]`, "want an ID"},
		{`[16, -1, {}, "t"]`, "want an ID"},
		{`[16, 1.5, {}, "t"]`, "want an ID"},
		{`[16, 1, {}, "t", {}]`, "Args: want a list"},
		{`[16, 1, {}, "t", [], []]`, "Kwargs: want a dict"},
		{`[16, 1, {}, "t", [], {}, 3]`, "has 7 elements"},
		{`[8, 99, 1, {}, "e"]`, "RequestType"},
		{`[48, 1, {}, "p", ["\u0000!!"]]`, ""},
		{`[36, 1, 1, {}]x`, "not a JSON array"},
	} {
		m, err := JSON.Decode([]byte(tc.in))
		if tc.want == "" {
			// Valid framing; the payload is only checked when resolved.
			if err != nil {
				t.Errorf("%s: %v", tc.in, err)
				continue
			}
			p, _ := wamp.PayloadOf(m)
			if _, _, err := Values(p); err == nil || !errors.Is(err, wamp.ErrMalformed) {
				t.Errorf("%s: resolving bad payload: err = %v", tc.in, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: decoded to %#v, want error containing %q", tc.in, m, tc.want)
			continue
		}
		if !errors.Is(err, wamp.ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q, want it to contain %q and wrap ErrMalformed", tc.in, err, tc.want)
		}
	}
}

func TestDecodeErrorCarriesRequest(t *testing.T) {
	_, err := JSON.Decode([]byte(`[32, 77, {}, "not valid"]`))
	var de *wamp.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *wamp.DecodeError", err)
	}
	if de.Type != wamp.TypeSubscribe || de.Request != 77 || !de.InvalidURI {
		t.Fatalf("got %+v, want SUBSCRIBE request 77 with InvalidURI", de)
	}
}

func TestMalformedBinary(t *testing.T) {
	hostile := map[string][][]byte{
		"msgpack": {
			{},
			{0x80},                               // a map, not an array
			{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}, // array32 claiming 4G elements
			{0x93, 0x01, 0xa1, 'r'},              // truncated
			{0x93, 0x01, 0xa1, 'r', 0xdf, 0xff, 0xff, 0xff, 0xff}, // map32 claiming 4G pairs
			{0x93, 0x01, 0xa1, 'r', 0x81, 0x01, 0x02},             // non-string key
			{0x93, 0x01, 0xa1, 'r', 0x80, 0xc0},                   // trailing byte
			{0x93, 0xc6, 0xc6, 0xc6, 0xc6, 0xc6},                  // bin32 claiming 3 GiB (found by fuzzing)
			{0x93, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff},            // str32 claiming 4 GiB
		},
		"cbor": {
			{},
			{0xa0}, // a map
			{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // array claiming 2^64 elements
			{0x83, 0x01, 0x61, 'r'},                                // truncated
			{0x83, 0x01, 0x61, 'r', 0xa1, 0x01, 0x02},              // non-string key
		},
	}
	for name, inputs := range hostile {
		c, _ := ByName(name)
		for _, in := range inputs {
			if m, err := c.Decode(in); err == nil || !errors.Is(err, wamp.ErrMalformed) {
				t.Errorf("%s % x: got %#v, %v; want ErrMalformed", name, in, m, err)
			}
		}
	}
}

func TestLookup(t *testing.T) {
	for _, c := range All {
		if got, err := BySubprotocol(c.Subprotocol()); err != nil || got != c {
			t.Errorf("BySubprotocol(%q) = %v, %v", c.Subprotocol(), got, err)
		}
	}
	if _, err := ByName("xml"); !errors.Is(err, ErrUnknownSerializer) {
		t.Errorf("ByName(xml) err = %v", err)
	}
}

func TestUnsupportedValue(t *testing.T) {
	for _, c := range All {
		_, err := Encode(c, &wamp.Publish{Request: 1, Topic: "t", Payload: wamp.Payload{Args: wamp.List{make(chan int)}}})
		if !errors.Is(err, ErrUnsupportedValue) {
			t.Errorf("%s: err = %v, want ErrUnsupportedValue", c.Name(), err)
		}
	}
}

// TestSmallJSONIntAgreesWithTheParsers: the fast path for integers gives
// what jsonNumber gives, and leaves it what it cannot parse exactly.
func TestSmallJSONIntAgreesWithTheParsers(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-7", "48", "123456789012345678", "-123456789012345678",
		"1234567890123456789", "9223372036854775807", "-9223372036854775808", "18446744073709551615", "1.5", "1e3", "-", "01"} {
		n, ok := smallJSONInt([]byte(s))
		want, err := jsonNumber(s)
		if !ok {
			if len(strings.TrimPrefix(s, "-")) <= 18 && err == nil && s != "01" && !strings.ContainsAny(s, ".e") {
				t.Errorf("%s: left to the slow path", s)
			}
			continue
		}
		if err != nil || want != any(n) {
			t.Errorf("%s: fast %d, jsonNumber %v (%v)", s, n, want, err)
		}
	}
}

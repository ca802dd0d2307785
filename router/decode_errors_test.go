package router

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// rawConn is a RawSocket connection driven byte by byte, for sending what
// no well-behaved client would.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	c    codec.Codec
}

func dialRaw(t *testing.T, url string, c codec.Codec) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ser := map[string]byte{"json": 1, "msgpack": 2, "cbor": 3}[c.Name()]
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte{0x7f, 0xf0 | ser, 0, 0}); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 4)
	if _, err := io.ReadFull(conn, reply); err != nil || reply[0] != 0x7f || reply[1]&0x0f != ser {
		t.Fatalf("handshake reply % x, %v", reply, err)
	}
	return &rawConn{t: t, conn: conn, c: c}
}

// write sends one frame holding data.
func (r *rawConn) write(data []byte) {
	r.t.Helper()
	hdr := make([]byte, 4)
	binary.BigEndian.PutUint32(hdr, uint32(len(data)))
	if _, err := r.conn.Write(append(hdr, data...)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawConn) send(m wamp.Message) {
	r.t.Helper()
	b, err := codec.Encode(r.c, m)
	if err != nil {
		r.t.Fatal(err)
	}
	r.write(b)
}

// read returns the next message, skipping PINGs.
func (r *rawConn) read() wamp.Message {
	r.t.Helper()
	for {
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(r.conn, hdr); err != nil {
			r.t.Fatalf("read: %v", err)
		}
		n := int(binary.BigEndian.Uint32(hdr) & 0xffffff)
		body := make([]byte, n)
		if _, err := io.ReadFull(r.conn, body); err != nil {
			r.t.Fatalf("read: %v", err)
		}
		if hdr[0]&0x07 != 0 {
			continue
		}
		m, err := codec.DecodeResolved(r.c, body)
		if err != nil {
			r.t.Fatalf("decode %x: %v", body, err)
		}
		return m
	}
}

func (r *rawConn) join(details wamp.Dict) wamp.Message {
	r.t.Helper()
	r.send(&wamp.Hello{Realm: "realm1", Details: details})
	return r.read()
}

var helloRoles = wamp.Dict{"roles": wamp.Dict{"publisher": wamp.Dict{}, "subscriber": wamp.Dict{}, "caller": wamp.Dict{}}}

// deepJSON is a list nested n levels deep.
func deepJSON(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

// hostileMessages are well-framed messages with values no router may pass
// on, by serializer: each is PUBLISH request 7 to topic "t", acknowledged.
func hostileMessages() map[string]map[string][]byte {
	deep := func(open byte, n int) []byte { return append(bytes.Repeat([]byte{open}, n-1), open&0xf0) }
	return map[string]map[string][]byte{
		"json": {
			"invalid UTF-8": []byte("[16,7,{\"acknowledge\":true},\"t\",[\"\xff\xfe\"]]"),
			"too deep":      []byte(`[16,7,{"acknowledge":true},"t",` + deepJSON(codec.MaxDepth+1) + `]`),
			"kwargs key":    []byte("[16,7,{\"acknowledge\":true},\"t\",[],{\"\xff\":1}]"),
		},
		"msgpack": {
			// [16, 7, {acknowledge: true}, "t", ["\xff\xfe"]]
			"invalid UTF-8": append([]byte{0x95, 0x10, 0x07, 0x81, 0xab}, append([]byte("acknowledge"), 0xc3, 0xa1, 't', 0x91, 0xa2, 0xff, 0xfe)...),
			"too deep":      append(append([]byte{0x95, 0x10, 0x07, 0x81, 0xab}, append([]byte("acknowledge"), 0xc3, 0xa1, 't')...), deep(0x91, codec.MaxDepth+1)...),
			"unknown ext":   append([]byte{0x95, 0x10, 0x07, 0x81, 0xab}, append([]byte("acknowledge"), 0xc3, 0xa1, 't', 0x91, 0xd4, 0x05, 0x00)...),
		},
		"cbor": {
			"invalid UTF-8": append([]byte{0x85, 0x10, 0x07, 0xa1, 0x6b}, append([]byte("acknowledge"), 0xf5, 0x61, 't', 0x81, 0x62, 0xff, 0xfe)...),
			"too deep":      append(append([]byte{0x85, 0x10, 0x07, 0xa1, 0x6b}, append([]byte("acknowledge"), 0xf5, 0x61, 't')...), deep(0x81, codec.MaxDepth+1)...),
		},
	}
}

// TestHostileValuesAreRefusedAtTheDoor: a publisher sending invalid UTF-8,
// values nested too deep or unknown extensions gets
// wamp.error.invalid_argument and keeps its session; subscribers on every
// serializer never see the message, keep theirs and get the next event.
func TestHostileValuesAreRefusedAtTheDoor(t *testing.T) {
	r, urls := rawSocketRouter(t, Config{})
	subs := map[string]chan *client.Event{}
	for _, c := range codec.All {
		ch := make(chan *client.Event, 16)
		s := rsSession(t, urls["websocket"], c)
		if _, err := s.Subscribe(context.Background(), "t", func(_ context.Context, e *client.Event) { ch <- e }, nil); err != nil {
			t.Fatal(err)
		}
		subs[c.Name()] = ch
	}
	for name, cases := range hostileMessages() {
		c, _ := codec.ByName(name)
		pub := dialRaw(t, urls["tcp"], c)
		if _, ok := pub.join(helloRoles).(*wamp.Welcome); !ok {
			t.Fatalf("%s: not welcomed", name)
		}
		for what, frame := range cases {
			pub.write(frame)
			e, ok := pub.read().(*wamp.ErrorMessage)
			if !ok || e.Error != wamp.URIInvalidArgument || e.Request != 7 || e.RequestType != wamp.TypePublish {
				t.Fatalf("%s/%s: got %#v, want ERROR invalid_argument for PUBLISH 7", name, what, e)
			}
			t.Logf("%s/%s: %v", name, what, e.Args)
			// The same session goes on and its next event reaches everyone.
			text := fmt.Sprintf("after %s/%s", name, what)
			pub.send(&wamp.Publish{Request: 8, Topic: "t", Options: wamp.Dict{"acknowledge": true}, Payload: wamp.Payload{Args: wamp.List{text}}})
			if _, ok := pub.read().(*wamp.Published); !ok {
				t.Fatalf("%s/%s: publish after the refusal not acknowledged", name, what)
			}
			for sname, ch := range subs {
				select {
				case ev := <-ch:
					if ev.Arg(0) != text {
						t.Fatalf("%s subscriber got %v, want %q", sname, ev.Args, text)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s subscriber did not get %q", sname, text)
				}
			}
		}
	}
	if n := testutil.ToFloat64(r.metrics.invalidMessages); n != 8 {
		t.Fatalf("invalid messages counted: %v, want 8", n)
	}
}

// TestUnacknowledgedHostilePublishIsDroppedQuietly: without acknowledge the
// specification gives a publisher no answer; the session goes on.
func TestUnacknowledgedHostilePublishIsDroppedQuietly(t *testing.T) {
	_, urls := rawSocketRouter(t, Config{})
	pub := dialRaw(t, urls["tcp"], codec.JSON)
	pub.join(helloRoles)
	pub.write([]byte("[16,7,{},\"t\",[\"\xff\xfe\"]]"))
	pub.send(&wamp.Publish{Request: 8, Topic: "t", Options: wamp.Dict{"acknowledge": true}})
	if p, ok := pub.read().(*wamp.Published); !ok || p.Request != 8 {
		t.Fatalf("got %#v, want PUBLISHED 8 (and nothing for request 7)", p)
	}
}

// TestInvalidUTF8ElsewhereIsRefused: in a URI, in HELLO details.
func TestInvalidUTF8ElsewhereIsRefused(t *testing.T) {
	_, urls := rawSocketRouter(t, Config{})
	// MessagePack SUBSCRIBE [32, 5, {}, "com.\xff\xfe"]
	sub := dialRaw(t, urls["tcp"], codec.MsgPack)
	sub.join(helloRoles)
	sub.write([]byte{0x94, 0x20, 0x05, 0x80, 0xa6, 'c', 'o', 'm', '.', 0xff, 0xfe})
	if e, ok := sub.read().(*wamp.ErrorMessage); !ok || e.Request != 5 || e.Error != wamp.URIInvalidArgument {
		t.Fatalf("got %#v, want ERROR for SUBSCRIBE 5", e)
	}
	// JSON SUBSCRIBE to a URI holding NUL.
	sub.c = codec.JSON
	j := dialRaw(t, urls["tcp"], codec.JSON)
	j.join(helloRoles)
	j.write([]byte(`[32,6,{},"com.\u0000x"]`))
	if e, ok := j.read().(*wamp.ErrorMessage); !ok || e.Request != 6 || e.Error != wamp.URIInvalidURI {
		t.Fatalf("got %#v, want ERROR invalid_uri for SUBSCRIBE 6", e)
	}
	// HELLO with authid "eve\xff\xfe": ABORT.
	h := dialRaw(t, urls["tcp"], codec.MsgPack)
	hello := append([]byte{0x93, 0x01, 0xa6}, "realm1"...)
	hello = append(hello, 0x81, 0xa6)
	hello = append(hello, "authid"...)
	hello = append(hello, 0xa5, 'e', 'v', 'e', 0xff, 0xfe)
	h.write(hello)
	if a, ok := h.read().(*wamp.Abort); !ok || a.Reason != wamp.URIProtocolViolation {
		t.Fatalf("got %#v, want ABORT protocol_violation", a)
	}
}

// TestUndefinedOptionsReadAsAbsent: wampy sends {match: undefined}, as
// MessagePack ext 0 (msgpackr) and as CBOR undefined (cbor-x).
func TestUndefinedOptionsReadAsAbsent(t *testing.T) {
	_, urls := rawSocketRouter(t, Config{})
	for name, frame := range map[string][]byte{
		"msgpack": append([]byte{0x94, 0x20, 0x05, 0x81, 0xa5}, append([]byte("match"), 0xd4, 0x00, 0x00, 0xa3, 'a', '.', 'b')...),
		"cbor":    append([]byte{0x84, 0x18, 0x20, 0x05, 0xa1, 0x65}, append([]byte("match"), 0xf7, 0x63, 'a', '.', 'b')...),
	} {
		c, _ := codec.ByName(name)
		s := dialRaw(t, urls["tcp"], c)
		s.join(helloRoles)
		s.write(frame)
		if m, ok := s.read().(*wamp.Subscribed); !ok || m.Request != 5 {
			t.Fatalf("%s: got %#v, want SUBSCRIBED 5", name, m)
		}
	}
}

package codec

import (
	"testing"

	"github.com/junction-run/junction/wamp"
)

// The hot path of a router: decode a PUBLISH (payload left raw), encode
// the EVENT (payload copied), per serializer.
func BenchmarkDecodePublish(b *testing.B) {
	for _, c := range All {
		data, err := Encode(c, &wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.topic",
			Payload: wamp.Payload{Args: wamp.List{"hello", int64(42), 1.5}, Kwargs: wamp.Dict{"k": "v"}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for range b.N {
				if _, err := c.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The dealer's hot path: decode a CALL with empty options and two
// numbers, as an RPC load sends it.
func BenchmarkDecodeCall(b *testing.B) {
	for _, c := range All {
		data, err := Encode(c, &wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "bench.load.echo.0",
			Payload: wamp.Payload{Args: wamp.List{int64(123456), int64(1764825600123456789)}}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := c.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	for _, c := range All {
		data, _ := Encode(c, &wamp.Publish{Request: 1, Topic: "t", Payload: wamp.Payload{Args: wamp.List{"hello", int64(42), 1.5}, Kwargs: wamp.Dict{"k": "v"}}})
		m, _ := c.Decode(data)
		ev := &wamp.Event{Subscription: 1234, Publication: 5678, Payload: m.(*wamp.Publish).Payload}
		b.Run(c.Name()+"/raw", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 256)
			for range b.N {
				var err error
				if buf, err = c.Append(buf[:0], ev); err != nil {
					b.Fatal(err)
				}
			}
		})
		values := &wamp.Event{Subscription: 1234, Publication: 5678, Payload: wamp.Payload{Args: wamp.List{"hello", int64(42), 1.5}, Kwargs: wamp.Dict{"k": "v"}}}
		b.Run(c.Name()+"/values", func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 256)
			for range b.N {
				var err error
				if buf, err = c.Append(buf[:0], values); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

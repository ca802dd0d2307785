package router

import (
	"testing"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// BenchmarkPublish1000SubscribersFiltered is BenchmarkPublish1000Subscribers
// with black and white lists that admit every subscriber: the cost of the
// per-subscriber check that a PUBLISH without lists does not pay.
func BenchmarkPublish1000SubscribersFiltered(b *testing.B) {
	r := benchRouter(b)
	hello := &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}}}}
	const n = 1000
	sinks := make([]*sinkPeer, n)
	for i := range sinks {
		sinks[i] = newSinkPeer(codec.JSON)
		go r.Attach(sinks[i])
		sinks[i].in <- hello
		sinks[i].in <- &wamp.Subscribe{Request: 1, Topic: "bench.topic"}
	}
	for _, s := range sinks {
		for s.received.Load() < 2 {
			runtimeGosched()
		}
	}
	pub, err := r.LocalPeer()
	if err != nil {
		b.Fatal(err)
	}
	pub.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"publisher": wamp.Dict{}}}})
	if _, err := pub.Read(); err != nil {
		b.Fatal(err)
	}
	raw, _ := codec.JSON.Decode([]byte(`[16,1,{"acknowledge":true,"eligible_authrole":["anonymous"],"exclude_authid":["nobody"],"exclude":[1]},"bench.topic",["hello",42],{"k":"v"}]`))
	msg := raw.(*wamp.Publish)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		pub.Send(msg)
		if _, err := pub.Read(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
	if got := sinks[0].received.Load(); got < int64(b.N) {
		b.Fatalf("subscriber got %d events, want %d", got, b.N)
	}
	for _, s := range sinks {
		s.Close()
	}
}

package router

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// sinkPeer is a subscriber that encodes what it gets as a WebSocket writer
// would (so encode-once is measured) and drops the bytes.
type sinkPeer struct {
	in       chan wamp.Message
	done     chan struct{}
	c        codec.Codec
	received atomic.Int64
}

func newSinkPeer(c codec.Codec) *sinkPeer {
	return &sinkPeer{in: make(chan wamp.Message, 4), done: make(chan struct{}), c: c}
}

func (p *sinkPeer) Read() (wamp.Message, error) {
	select {
	case m := <-p.in:
		return m, nil
	case <-p.done:
		return nil, io.EOF
	}
}

func (p *sinkPeer) Send(m wamp.Message) error {
	if _, err := codec.Encode(p.c, m); err != nil {
		return err
	}
	p.received.Add(1)
	return nil
}

func (p *sinkPeer) SendShared(s *transport.Shared) error {
	if _, err := s.Encoded(p.c); err != nil {
		return err
	}
	p.received.Add(1)
	return nil
}

func (p *sinkPeer) Close() error {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	return nil
}
func (p *sinkPeer) Done() <-chan struct{} { return p.done }
func (p *sinkPeer) Info() transport.Info {
	return transport.Info{Transport: "bench", Serializer: p.c.Name()}
}

func benchRouter(b *testing.B) *Router {
	r, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Stop(context.Background()) })
	return r
}

// BenchmarkPublish1000Subscribers routes one PUBLISH (JSON, raw args) to
// 1,000 JSON subscribers: one EVENT, encoded once, queued 1,000 times.
func BenchmarkPublish1000Subscribers(b *testing.B) {
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
	for _, s := range sinks { // wait for WELCOME and SUBSCRIBED
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
	raw, _ := codec.JSON.Decode([]byte(`[16,1,{},"bench.topic",["hello",42],{"k":"v"}]`))
	msg := raw.(*wamp.Publish)
	ack := &wamp.Publish{Request: 2, Options: wamp.Dict{"acknowledge": true}, Topic: "bench.topic", Payload: msg.Payload}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		// Acknowledged, so each iteration waits for the whole fan-out.
		pub.Send(ack)
		if _, err := pub.Read(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
	for _, s := range sinks {
		s.Close()
	}
}

// BenchmarkCallRoundTrip measures CALL -> INVOCATION -> YIELD -> RESULT
// between two in-process sessions, and over WebSocket with JSON.
func BenchmarkCallRoundTrip(b *testing.B) {
	for _, kind := range []string{"local", "json"} {
		b.Run(kind, func(b *testing.B) {
			r := benchRouter(b)
			connect := func() transport.Peer {
				if kind == "local" {
					p, err := r.LocalPeer()
					if err != nil {
						b.Fatal(err)
					}
					return p
				}
				h := &harness{r: r}
				return h.dialWS(b)
			}
			callee, caller := connect(), connect()
			for _, p := range []transport.Peer{callee, caller} {
				p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}}}})
				if _, err := p.Read(); err != nil {
					b.Fatal(err)
				}
			}
			benchEchoCalls(b, callee, caller)
		})
	}
}

// benchEchoCalls registers bench.echo on callee, answering every
// invocation with its arguments, then times b.N calls from caller, one at
// a time; both peers have joined. It closes them at the end.
func benchEchoCalls(b *testing.B, callee, caller transport.Peer) {
	b.Helper()
	callee.Send(&wamp.Register{Request: 1, Procedure: "bench.echo"})
	if m, err := callee.Read(); err != nil {
		b.Fatal(err)
	} else if _, ok := m.(*wamp.Registered); !ok {
		b.Fatalf("got %#v", m)
	}
	go func() {
		for {
			m, err := callee.Read()
			if err != nil {
				return
			}
			if inv, ok := m.(*wamp.Invocation); ok {
				callee.Send(&wamp.Yield{Request: inv.Request, Payload: inv.Payload})
			}
		}
	}()
	call := &wamp.Call{Request: 1, Procedure: "bench.echo", Payload: wamp.Payload{Args: wamp.List{"ping", int64(1)}}}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		caller.Send(call)
		m, err := caller.Read()
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := m.(*wamp.Result); !ok {
			b.Fatalf("got %#v", m)
		}
	}
	b.StopTimer()
	callee.Close()
	caller.Close()
}

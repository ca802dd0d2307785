package router

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// benchRole is a role of a dozen permissions of every kind.
var benchRole = Role{Name: "bench", Permissions: []Permission{
	{URI: "bench.echo", Call: true, Register: true},
	{URI: "bench.", Match: "prefix", Call: true, Register: true},
	{URI: "bench.admin.", Match: "prefix", Subscribe: true},
	{URI: "bench.secret", Subscribe: true},
	{URI: "com.example.a", Call: true},
	{URI: "com.example.b", Call: true},
	{URI: "com.example.c", Publish: true},
	{URI: "com.example.", Match: "prefix", Subscribe: true},
	{URI: "com.example.feeds.", Match: "prefix", Publish: true, Subscribe: true},
	{URI: "org..update", Match: "wildcard", Call: true},
	{URI: "org.x..y", Match: "wildcard", Call: true},
	{URI: "wamp.session.", Match: "prefix", Call: true},
}}

// BenchmarkAuthorizeCall measures authorization on the CALL path: the
// static decision alone for each kind of matching permission, and a
// CALL -> INVOCATION -> YIELD -> RESULT round trip between in-process
// sessions in an open realm and in a configured one.
func BenchmarkAuthorizeCall(b *testing.B) {
	m := newRoleMatcher(benchRole)
	for _, tc := range []struct{ name, uri string }{
		{"decide/exact", "bench.echo"},
		{"decide/prefix", "bench.other"},
		{"decide/wildcard", "org.a.update"},
		{"decide/none", "net.example.nothing"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			uri := wamp.URI(tc.uri)
			b.ReportAllocs()
			for range b.N {
				m.decide(actionCall, uri, wamp.MatchExact)
			}
		})
	}
	for _, configured := range []bool{false, true} {
		name := "roundtrip/open"
		cfg := Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if configured {
			name = "roundtrip/configured"
			cfg.RealmConfigs = []RealmConfig{{Name: "realm1", Anonymous: &AnonymousAuth{Role: "bench"}, Roles: []Role{benchRole}}}
		}
		b.Run(name, func(b *testing.B) {
			r, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Stop(context.Background()) })
			var peers [2]transport.Peer
			for i := range peers {
				if peers[i], err = r.LocalPeer(); err != nil {
					b.Fatal(err)
				}
				peers[i].Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}}}})
				if m, err := peers[i].Read(); err != nil {
					b.Fatal(err)
				} else if w, ok := m.(*wamp.Welcome); !ok || configured && w.Details["authrole"] != "bench" {
					b.Fatalf("got %#v", m)
				}
			}
			callee, caller := peers[0], peers[1]
			benchEchoCalls(b, callee, caller)
		})
	}
}

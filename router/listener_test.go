package router

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// TestTrustedListener: on a trusted listener only the listener's ticket
// opens a session, whatever the realm's own methods; the session has the
// trusted role and may do what no role of the realm grants.
func TestTrustedListener(t *testing.T) {
	h := newAuthHarness(t, nil)
	attach := func(l Listener) *peer {
		client, server := transport.Pipe(transport.Config{})
		go h.r.AttachFrom(server, l)
		return wrapPeer(t, client)
	}
	trusted := Listener{Name: "processes", Trusted: &TrustedAuth{Ticket: "per-run-secret"}}

	t.Run("the ticket opens a session with every permission", func(t *testing.T) {
		p := helloOn(attach(trusted), wamp.Dict{"authmethods": methods("ticket"), "authid": "process:auth"})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "per-run-secret", Extra: wamp.Dict{}})
		p.welcomed("process:auth", "trusted", "ticket", "trusted")
		// No role of realm "auth" grants anything outside com.example.
		p.register("org.elsewhere.proc")
		p.subscribe("org.elsewhere.topic")
	})
	t.Run("the realm's own principals are not accepted", func(t *testing.T) {
		p := helloOn(attach(trusted), wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "secret-ticket", Extra: wamp.Dict{}})
		p.expectAbort(wamp.URIAuthenticationFailed)
	})
	t.Run("anonymous and other methods are refused", func(t *testing.T) {
		helloOn(attach(trusted), nil).expectAbort(wamp.URINoAuthMethod)
		helloOn(attach(trusted), wamp.Dict{"authmethods": methods("wampcra"), "authid": "peter"}).
			expectAbort(wamp.URINoAuthMethod)
	})
	t.Run("an authid is required", func(t *testing.T) {
		helloOn(attach(trusted), wamp.Dict{"authmethods": methods("ticket")}).expectAbort(wamp.URINoAuthMethod)
	})
	t.Run("an empty ticket admits nobody", func(t *testing.T) {
		l := Listener{Trusted: &TrustedAuth{}}
		p := helloOn(attach(l), wamp.Dict{"authmethods": methods("ticket"), "authid": "x"})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "", Extra: wamp.Dict{}})
		p.expectAbort(wamp.URIAuthenticationFailed)
	})
	t.Run("the ticket is worthless on other listeners", func(t *testing.T) {
		p := helloOn(attach(Listener{}), wamp.Dict{"authmethods": methods("ticket"), "authid": "process:auth"})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "per-run-secret", Extra: wamp.Dict{}})
		p.expectAbort(wamp.URIAuthenticationFailed)
	})
	t.Run("role", func(t *testing.T) {
		l := Listener{Trusted: &TrustedAuth{Ticket: "s", Role: "worker"}}
		p := helloOn(attach(l), wamp.Dict{"authmethods": methods("ticket"), "authid": "w"})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "s", Extra: wamp.Dict{}})
		p.welcomed("w", "worker", "ticket", "trusted")
	})
}

// TestAssignedListener: a listener's assigned identity is the session's,
// and its role's permissions apply.
func TestAssignedListener(t *testing.T) {
	rc := RealmConfig{Name: "closed", Anonymous: &AnonymousAuth{Role: "nobody"}, Roles: []Role{
		{Name: "publisher", Permissions: []Permission{{URI: "com.ok", Publish: true}}}}}
	r, err := New(Config{RealmConfigs: []RealmConfig{rc}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	a, b := transport.Pipe(transport.Config{})
	go r.AttachFrom(b, Listener{Assigned: &AssignedAuth{AuthID: "bridge-1", AuthRole: "publisher", Method: "http-bridge"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Join(ctx, a, client.Config{Realm: "closed"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if got := s.Details(); got["authid"] != "bridge-1" || got["authrole"] != "publisher" || got["authmethod"] != "http-bridge" {
		t.Fatalf("WELCOME details %v", got)
	}
	if _, err := s.Publish(ctx, "com.ok", nil, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatalf("allowed publish: %v", err)
	}
	if _, err := s.Publish(ctx, "com.other", nil, nil, &client.PublishOptions{Acknowledge: true}); !errors.Is(err, wamp.ErrNotAuthorized) {
		t.Fatalf("publish outside the role: %v", err)
	}
}

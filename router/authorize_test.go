package router

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// joinRole joins realm with a Go client over kind and gives its session
// role, as an authentication method would: the realm admits anonymous
// sessions, whose role the test replaces. A first round trip (a call
// the anonymous role may not make) makes sure the router is done with
// the session's join before the role changes under it.
func (h *harness) joinRole(kind string, realm wamp.URI, role string) *client.Session {
	h.t.Helper()
	c := h.goClient(kind, realm, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Call(ctx, "wamp.session.count", nil, nil, nil)
	s := h.r.realm(realm).session(c.ID())
	if s == nil {
		h.t.Fatalf("session %d is not in realm %s", c.ID(), realm)
	}
	s.authrole = role
	return c
}

// rawJoinRole is joinRole for a raw peer.
func (h *harness) rawJoinRole(kind string, realm wamp.URI, role string) *peer {
	h.t.Helper()
	p := h.connect(kind)
	p.send(&wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{}, "publisher": wamp.Dict{},
		"caller": wamp.Dict{"features": wamp.Dict{"progressive_call_invocations": true}}, "callee": wamp.Dict{}}}})
	p.id = expect[*wamp.Welcome](p).Session
	p.metaCall("wamp.session.count", nil, nil)
	h.r.realm(realm).session(p.id).authrole = role
	return p
}

func notAuthorized(t *testing.T, err error, phrase string, uri wamp.URI) {
	t.Helper()
	var we *wamp.Error
	if !errors.As(err, &we) || we.URI != wamp.URINotAuthorized {
		t.Fatalf("got %v, want %s", err, wamp.URINotAuthorized)
	}
	if msg := we.Error(); !strings.Contains(msg, phrase) || !strings.Contains(msg, string(uri)) {
		t.Errorf("message %q does not name the action (%q) and URI %q", msg, phrase, uri)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func echoCaller(_ context.Context, inv *client.Invocation) (*client.Result, error) {
	return &client.Result{Values: client.Values{Args: wamp.List{int64(inv.Caller()), string(inv.Procedure())}}}, nil
}

func deniedCount(h *harness, a action) float64 {
	return testutil.ToFloat64(h.r.metrics.authorizationDenied.WithLabelValues(a.String()))
}

var no = false

// staticRealm is the realm of the static authorization tests.
func staticRealm() RealmConfig {
	return RealmConfig{
		Name:      "authz",
		Anonymous: &AnonymousAuth{Role: "nobody"},
		Roles: []Role{
			{Name: "nobody"},
			{Name: "user", Permissions: []Permission{
				{URI: "com.example.exact", Call: true, Register: true, Publish: true, Subscribe: true},
				{URI: "com.example.", Match: "prefix", Call: true, Subscribe: true},
				{URI: "com.example.open.", Match: "prefix", Call: true, Register: true, Publish: true, Subscribe: true},
				{URI: "com.example.secret", Subscribe: true},
				{URI: "com.example.private", Call: true},
				{URI: "org..wild", Match: "wildcard", Call: true, Register: true, Publish: true, Subscribe: true},
				// Shadowed under com.example. by the prefix: a prefix beats
				// a wildcard.
				{URI: "com.example..wild", Match: "wildcard", Publish: true},
				{URI: "wamp.session.add_testament", Call: true},
			}},
			{Name: "backend", Permissions: []Permission{
				{URI: "com.", Match: "prefix", Call: true, Register: true, Publish: true, Subscribe: true},
				{URI: "org.", Match: "prefix", Call: true, Register: true, Publish: true, Subscribe: true},
			}},
			{Name: "admin", Permissions: []Permission{
				{URI: "wamp.session.", Match: "prefix", Call: true},
				{URI: "wamp.session.on_join", Subscribe: true},
			}},
			{Name: "discloser", Permissions: []Permission{
				{URI: "com.disc.", Match: "prefix", Call: true, Publish: true, DiscloseCaller: true, DisclosePublisher: true},
			}},
			{Name: "shy", Permissions: []Permission{
				{URI: "com.shy.", Match: "prefix", Call: true, Publish: true, AllowDisclose: &no},
			}},
		},
	}
}

func TestAuthorizeStatic(t *testing.T) {
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{staticRealm()}})
	ctx := testCtx(t)
	backend := h.joinRole("local", "authz", "backend")
	// com.example.exact is left for the user to register: calling it
	// gets no_such_procedure, once authorized.
	for _, uri := range []wamp.URI{"com.example.other", "com.example.open.x", "com.example.secret",
		"com.example.private", "org.a.wild", "com.example.a.wild"} {
		mustRegister(t, backend, uri, echoCaller, nil)
	}
	type check struct {
		a     action
		uri   wamp.URI
		match wamp.MatchPolicy
		allow bool
	}
	checks := []check{
		{actionCall, "com.example.exact", "", true},
		{actionCall, "com.example.other", "", true},   // the prefix com.example.
		{actionCall, "com.example.open.x", "", true},  // the longer prefix
		{actionCall, "com.example.secret", "", false}, // the exact permission beats the prefix
		{actionCall, "com.example.private", "", true},
		{actionCall, "org.a.wild", "", true},
		{actionCall, "com.example.a.wild", "", true}, // the prefix, not the wildcard, decides
		{actionCall, "net.example", "", false},

		{actionRegister, "com.example.exact", "", true},
		{actionRegister, "com.example.mine", "", false},
		{actionRegister, "com.example.open.mine", "", true},
		{actionRegister, "org.b.wild", "", true},
		{actionRegister, "com.example.open.", wamp.MatchPrefix, true},
		{actionRegister, "com.example.", wamp.MatchPrefix, false},
		{actionRegister, "org..wild", wamp.MatchWildcard, true},
		{actionRegister, "org.x.", wamp.MatchWildcard, false},

		{actionPublish, "com.example.exact", "", true},
		{actionPublish, "com.example.other", "", false},
		{actionPublish, "com.example.a.wild", "", false}, // the prefix decides: no publish
		{actionPublish, "org.c.wild", "", true},
		{actionPublish, "com.example.open.y", "", true},

		{actionSubscribe, "com.example.secret", "", true},
		{actionSubscribe, "com.example.private", "", false},
		{actionSubscribe, "net.x", "", false},
		{actionSubscribe, "com.example.open.", wamp.MatchPrefix, true},
		{actionSubscribe, "com.example.o", wamp.MatchPrefix, true},    // com.example.open. within grants too
		{actionSubscribe, "com.example.s", wamp.MatchPrefix, true},    // reaches com.example.secret, which grants
		{actionSubscribe, "com.example.", wamp.MatchPrefix, false},    // reaches com.example.private
		{actionSubscribe, "com.example.p", wamp.MatchPrefix, false},   // reaches com.example.private
		{actionSubscribe, "com.", wamp.MatchPrefix, false},            // nothing covers it
		{actionSubscribe, "org..wild", wamp.MatchWildcard, true},      // the same wildcard
		{actionSubscribe, "com.example..x", wamp.MatchWildcard, true}, // covered by the prefix
		{actionSubscribe, "com.example.", wamp.MatchWildcard, false},  // reaches com.example.private
		{actionSubscribe, "..wild", wamp.MatchWildcard, false},        // broader than org..wild
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			user := h.joinRole(kind, "authz", "user")
			for _, c := range checks {
				var err error
				switch c.a {
				case actionCall:
					if _, err = user.Call(ctx, c.uri, nil, nil, nil); errors.Is(err, wamp.ErrNoSuchProcedure) {
						err = nil
					}
				case actionRegister:
					var reg *client.Registration
					if reg, err = user.Register(ctx, c.uri, echoCaller, &client.RegisterOptions{Match: c.match}); err == nil {
						reg.Unregister(ctx)
					}
				case actionPublish:
					_, err = user.Publish(ctx, c.uri, nil, nil, &client.PublishOptions{Acknowledge: true})
				case actionSubscribe:
					var sub *client.Subscription
					if sub, err = user.Subscribe(ctx, c.uri, func(context.Context, *client.Event) {}, &client.SubscribeOptions{Match: c.match}); err == nil {
						sub.Unsubscribe(ctx)
					}
				}
				if c.allow {
					if err != nil {
						t.Errorf("%s %s (%s): %v, want allowed", c.a, c.uri, c.match, err)
					}
					continue
				}
				var we *wamp.Error
				if !errors.As(err, &we) || we.URI != wamp.URINotAuthorized {
					t.Errorf("%s %s (%s): %v, want %s", c.a, c.uri, c.match, err, wamp.URINotAuthorized)
					continue
				}
				want := "not authorized to " + c.a.phrase() + " " + string(c.uri)
				if c.match != "" {
					want += " with match " + string(c.match)
				}
				if !strings.Contains(we.Error(), want) {
					t.Errorf("%s %s: message %q, want %q", c.a, c.uri, we.Error(), want)
				}
			}
		})
	}

	t.Run("role not configured", func(t *testing.T) {
		stranger := h.joinRole("json", "authz", "stranger")
		_, err := stranger.Call(ctx, "com.example.exact", nil, nil, nil)
		notAuthorized(t, err, "call procedure", "com.example.exact")
	})
}

// TestAuthorizePublishAcknowledge checks that a refused PUBLISH is
// answered only when it asked for acknowledge, and reaches nobody.
func TestAuthorizePublishAcknowledge(t *testing.T) {
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{staticRealm()}})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			sub := h.rawJoinRole(kind, "authz", "backend")
			sub.subscribe("com.example.other")
			pub := h.rawJoinRole(kind, "authz", "user")
			before := deniedCount(h, actionPublish)

			pub.send(&wamp.Publish{Request: pub.req.Next(), Topic: "com.example.other", Payload: wamp.Payload{Args: wamp.List{1}}})
			pub.quiet()
			req := pub.req.Next()
			pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.other"})
			e := expect[*wamp.ErrorMessage](pub)
			if e.Request != req || e.RequestType != wamp.TypePublish || e.Error != wamp.URINotAuthorized {
				t.Errorf("got ERROR %s %d %s, want PUBLISH %d %s", e.RequestType, e.Request, e.Error, req, wamp.URINotAuthorized)
			}
			sub.quiet()
			if n := deniedCount(h, actionPublish) - before; n != 2 {
				t.Errorf("denials counted: %v, want 2", n)
			}
			// Allowed, unacknowledged: delivered.
			pub.send(&wamp.Publish{Request: pub.req.Next(), Topic: "com.example.exact"})
			pub.quiet()
		})
	}
}

func TestAuthorizeMetaAPI(t *testing.T) {
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{staticRealm()}})
	ctx := testCtx(t)
	admin := h.joinRole("json", "authz", "admin")
	user := h.joinRole("local", "authz", "user")

	if _, err := admin.Call(ctx, "wamp.session.count", nil, nil, nil); err != nil {
		t.Errorf("admin: wamp.session.count: %v", err)
	}
	_, err := admin.Call(ctx, "wamp.registration.list", nil, nil, nil)
	notAuthorized(t, err, "call procedure", "wamp.registration.list")
	_, err = user.Call(ctx, "wamp.session.list", nil, nil, nil)
	notAuthorized(t, err, "call procedure", "wamp.session.list")

	if _, err := admin.Subscribe(ctx, "wamp.session.on_join", func(context.Context, *client.Event) {}, nil); err != nil {
		t.Errorf("admin: subscribe wamp.session.on_join: %v", err)
	}
	_, err = user.Subscribe(ctx, "wamp.session.on_join", func(context.Context, *client.Event) {}, nil)
	notAuthorized(t, err, "subscribe to topic", "wamp.session.on_join")

	// A testament is published by the router for its session: the
	// session must be allowed to publish there.
	_, err = user.Call(ctx, "wamp.session.add_testament", wamp.List{"com.example.other", wamp.List{}, wamp.Dict{}}, nil, nil)
	notAuthorized(t, err, "publish to topic", "com.example.other")
	if _, err := user.Call(ctx, "wamp.session.add_testament", wamp.List{"com.example.exact", wamp.List{}, wamp.Dict{}}, nil, nil); err != nil {
		t.Errorf("testament on an allowed topic: %v", err)
	}
}

func TestAuthorizeDisclosure(t *testing.T) {
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{staticRealm()}})
	ctx := testCtx(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			backend := h.joinRole("local", "authz", "backend")
			prefix := wamp.URI(kind + ".")
			for _, uri := range []wamp.URI{"com.disc." + prefix + "proc", "com.shy." + prefix + "proc", "com.example." + prefix + "proc"} {
				mustRegister(t, backend, uri, echoCaller, nil)
			}
			events := make(chan *client.Event, 4)
			for _, topic := range []wamp.URI{"com.disc." + prefix + "topic", "com.shy." + prefix + "topic"} {
				if _, err := backend.Subscribe(ctx, topic, func(_ context.Context, e *client.Event) { events <- e }, nil); err != nil {
					t.Fatal(err)
				}
			}
			nextEvent := func() *client.Event {
				t.Helper()
				select {
				case e := <-events:
					return e
				case <-ctx.Done():
					t.Fatal("no event")
				}
				return nil
			}
			discloser := h.joinRole(kind, "authz", "discloser")
			shy := h.joinRole(kind, "authz", "shy")
			user := h.joinRole(kind, "authz", "user")

			// Forced: disclosed without asking.
			res, err := discloser.Call(ctx, "com.disc."+prefix+"proc", nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if id, _ := res.ArgInt(0); wamp.ID(id) != discloser.ID() {
				t.Errorf("forced caller disclosure: callee saw caller %d, want %d", id, discloser.ID())
			}
			if _, err := discloser.Publish(ctx, "com.disc."+prefix+"topic", nil, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
			if e := nextEvent(); e.Publisher() != discloser.ID() || e.PublisherAuthRole() != "discloser" {
				t.Errorf("forced publisher disclosure: event from %d (%s), want %d", e.Publisher(), e.PublisherAuthRole(), discloser.ID())
			}

			// Refused: disclose_me gets option_disallowed.disclose_me.
			_, err = shy.Call(ctx, "com.shy."+prefix+"proc", nil, nil, &client.CallOptions{DiscloseMe: true})
			if !errors.Is(err, &wamp.Error{URI: wamp.URIDiscloseMeDisallowed}) {
				t.Errorf("call with disclose_me: %v, want %s", err, wamp.URIDiscloseMeDisallowed)
			}
			_, err = shy.Publish(ctx, "com.shy."+prefix+"topic", nil, nil, &client.PublishOptions{Acknowledge: true, DiscloseMe: true})
			if !errors.Is(err, &wamp.Error{URI: wamp.URIDiscloseMeDisallowed}) {
				t.Errorf("publish with disclose_me: %v, want %s", err, wamp.URIDiscloseMeDisallowed)
			}
			res, err = shy.Call(ctx, "com.shy."+prefix+"proc", nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if id, _ := res.ArgInt(0); id != 0 {
				t.Errorf("the callee saw caller %d of an undisclosed call", id)
			}
			if _, err := shy.Publish(ctx, "com.shy."+prefix+"topic", nil, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
				t.Fatal(err)
			}
			if e := nextEvent(); e.Publisher() != 0 {
				t.Errorf("undisclosed publisher %d", e.Publisher())
			}

			// Default: disclosure on request.
			res, err = user.Call(ctx, "com.example."+prefix+"proc", nil, nil, &client.CallOptions{DiscloseMe: true})
			if err != nil {
				t.Fatal(err)
			}
			if id, _ := res.ArgInt(0); wamp.ID(id) != user.ID() {
				t.Errorf("disclose_me: callee saw caller %d, want %d", id, user.ID())
			}
		})
	}
}

func TestAuthorizeOpenRealm(t *testing.T) {
	h := newHarness(t, Config{Realms: []string{"realm1"}, RealmConfigs: []RealmConfig{staticRealm()}})
	if h.r.realm("realm1").authz != nil {
		t.Fatal("an open realm has an authorizer")
	}
	ctx := testCtx(t)
	s := h.joinRole("local", "realm1", "nobody")
	if _, err := s.Call(ctx, "wamp.session.count", nil, nil, nil); err != nil {
		t.Errorf("open realm: %v", err)
	}
	if _, err := s.Publish(ctx, "net.anything", nil, nil, &client.PublishOptions{Acknowledge: true, DiscloseMe: true}); err != nil {
		t.Errorf("open realm: %v", err)
	}
}

func TestValidateRoles(t *testing.T) {
	good := staticRealm()
	good.Authorizer = "com.example.authorize"
	if _, err := New(Config{RealmConfigs: []RealmConfig{good}}); err != nil {
		t.Fatalf("valid roles refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		roles  []Role
		authz  string
		strict bool
		want   string
	}{
		{"no name", []Role{{Permissions: []Permission{{URI: "a", Call: true}}}}, "", false, "roles[0]: the role has no name"},
		{"twice", []Role{{Name: "a"}, {Name: "b"}, {Name: "a"}}, "", false, `roles[2]: role "a" is also roles[0]`},
		{"match", []Role{{Name: "r", Permissions: []Permission{{URI: "a", Call: true}, {URI: "a", Match: "regex", Call: true}}}}, "", false,
			`role "r": permissions[1]: match "regex" is not exact, prefix or wildcard`},
		{"bad exact", []Role{{Name: "r", Permissions: []Permission{{URI: "a..b", Call: true}}}}, "", false,
			`role "r": permissions[0]: uri "a..b" is not a valid URI for match exact`},
		{"empty uri", []Role{{Name: "r", Permissions: []Permission{{URI: "", Match: "prefix", Call: true}}}}, "", false,
			`permissions[0]: uri "" is not a valid URI for match prefix`},
		{"strict", []Role{{Name: "r", Permissions: []Permission{{URI: "com.Example", Call: true}}}}, "", true,
			`uri "com.Example" is not a valid URI`},
		{"nothing granted", []Role{{Name: "r", Permissions: []Permission{{URI: "a", Call: true}, {URI: "b"}}}}, "", false,
			`role "r": permissions[1]: grants nothing`},
		{"duplicate", []Role{{Name: "r", Permissions: []Permission{{URI: "a", Call: true}, {URI: "a", Match: "exact", Publish: true}}}}, "", false,
			`role "r": permissions[1]: uri "a" with match exact is also permissions[0]`},
		{"authorizer", nil, "bad uri", false, `authorizer "bad uri" is not a valid procedure URI`},
		{"reserved authorizer", nil, "wamp.authorize", false, `authorizer "wamp.authorize"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := RealmConfig{Name: "authz", Anonymous: &AnonymousAuth{Role: "r"}, Roles: tc.roles, Authorizer: tc.authz}
			_, err := New(Config{RealmConfigs: []RealmConfig{rc}, StrictURIs: tc.strict})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `realm "authz"`) {
				t.Errorf("got %v, want an error naming the realm and %q", err, tc.want)
			}
		})
	}
	// A disclosure setting alone is a permission: it shadows broader
	// grants.
	rc := RealmConfig{Name: "authz", Anonymous: &AnonymousAuth{Role: "r"},
		Roles: []Role{{Name: "r", Permissions: []Permission{{URI: "a", AllowDisclose: &no}}}}}
	if _, err := New(Config{RealmConfigs: []RealmConfig{rc}}); err != nil {
		t.Errorf("a disclosure-only permission refused: %v", err)
	}
}

// TestAuthorizeAnonymousRole joins as the anonymous role the realm
// configures, with no test hook: what a real client gets.
func TestAuthorizeAnonymousRole(t *testing.T) {
	rc := RealmConfig{Name: "guests", Anonymous: &AnonymousAuth{Role: "guest"}, Roles: []Role{{Name: "guest",
		Permissions: []Permission{{URI: "com.example.", Match: "prefix", Publish: true, Subscribe: true}}}}}
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{rc}})
	ctx := testCtx(t)
	for _, kind := range kinds {
		s := h.goClient(kind, "guests", nil)
		if role := s.Details()["authrole"]; role != "guest" {
			t.Fatalf("%s: authrole %v, want guest", kind, role)
		}
		if _, err := s.Subscribe(ctx, "com.example.news", func(context.Context, *client.Event) {}, nil); err != nil {
			t.Errorf("%s: subscribe: %v", kind, err)
		}
		_, err := s.Call(ctx, "com.example.proc", nil, nil, nil)
		notAuthorized(t, err, "call procedure", "com.example.proc")
	}
}

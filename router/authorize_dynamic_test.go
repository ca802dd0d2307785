package router

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// authzCall is one call of the test's dynamic authorizer.
type authzCall struct {
	details wamp.Dict
	uri     string
	action  string
	options wamp.Dict
}

// testAuthorizer is a dynamic authorizer whose answers the test sets per
// URI; it records its calls.
type testAuthorizer struct {
	mu      sync.Mutex
	answers map[string]any
	calls   []authzCall
	// changed is signalled after each call is recorded: without
	// blocking, and coalesced (one slot), so a waiter re-reads calls
	// on each signal rather than counting signals. gates hold the
	// answer to a URI until closed.
	changed chan struct{}
	gates   map[string]chan struct{}
}

func (ta *testAuthorizer) handle(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
	details, _ := inv.Arg(0).(wamp.Dict)
	uri, _ := inv.ArgString(1)
	act, _ := inv.ArgString(2)
	options, _ := inv.Arg(3).(wamp.Dict)
	ta.mu.Lock()
	ta.calls = append(ta.calls, authzCall{details, uri, act, options})
	answer, gate := ta.answers[uri], ta.gates[uri]
	ta.mu.Unlock()
	select {
	case ta.changed <- struct{}{}:
	default: // a signal is already pending
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err, ok := answer.(error); ok {
		return nil, err
	}
	return &client.Result{Values: client.Values{Args: wamp.List{answer}}}, nil
}

// count returns how many times the authorizer was asked about uri.
func (ta *testAuthorizer) count(uri string) int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	n := 0
	for _, c := range ta.calls {
		if c.uri == uri {
			n++
		}
	}
	return n
}

func (ta *testAuthorizer) total() int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return len(ta.calls)
}

func (ta *testAuthorizer) last() authzCall {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return ta.calls[len(ta.calls)-1]
}

const testAuthorizerURI = "com.auth.authorize"

func dynamicRealm() RealmConfig {
	return RealmConfig{
		Name:       "dyn",
		Anonymous:  &AnonymousAuth{Role: "nobody"},
		Authorizer: testAuthorizerURI,
		Roles: []Role{
			{Name: "authorizer", Permissions: []Permission{{URI: testAuthorizerURI, Register: true}}},
			{Name: "backend", Permissions: []Permission{{URI: "com.", Match: "prefix", Call: true, Register: true, Publish: true, Subscribe: true}}},
			{Name: "user", Permissions: []Permission{{URI: "com.static", Call: true}}},
		},
	}
}

func TestAuthorizeDynamic(t *testing.T) {
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{dynamicRealm()}})
	az := h.r.realm("dyn").authz
	az.timeout = 300 * time.Millisecond
	ctx := testCtx(t)

	// Sessions join, and their roles are set, before the authorizer is
	// registered: joinRole's round trip goes to no authorizer.
	authzSession := h.joinRole("json", "dyn", "authorizer")
	backend := h.joinRole("local", "dyn", "backend")
	user := h.joinRole("msgpack", "dyn", "user")
	stranger := h.joinRole("cbor", "dyn", "stranger")

	ta := &testAuthorizer{changed: make(chan struct{}, 1), gates: map[string]chan struct{}{
		"com.dyn.gate": make(chan struct{}),
		"com.dyn.slow": make(chan struct{}), // never opened
	}, answers: map[string]any{
		"com.dyn.allow":      true,
		"com.dyn.deny":       false,
		"com.dyn.cached":     wamp.Dict{"allow": true, "cache": true},
		"com.dyn.cachedeny":  wamp.Dict{"allow": false, "cache": true},
		"com.dyn.uncached":   wamp.Dict{"allow": true},
		"com.dyn.disclose":   wamp.Dict{"allow": true, "disclose": true},
		"com.dyn.error":      wamp.NewError("com.example.error.nope", "no"),
		"com.dyn.garbage":    "yes",
		"com.dyn.noallow":    wamp.Dict{"cache": true},
		"com.dyn.gate":       true,
		"com.dyn.slow":       true,
		"com.dyn.sub.":       true,
		"com.dyn.stream":     true,
		"com.static.denied.": false,
	}}
	mustRegister(t, authzSession, testAuthorizerURI, ta.handle, nil)
	mustRegister(t, backend, "com.dyn.", echoCaller, &client.RegisterOptions{Match: wamp.MatchPrefix})

	call := func(s *client.Session, uri wamp.URI) error {
		_, err := s.Call(ctx, uri, nil, nil, nil)
		return err
	}

	t.Run("allow", func(t *testing.T) {
		if err := call(user, "com.dyn.allow"); err != nil {
			t.Fatal(err)
		}
		c := ta.last()
		if c.uri != "com.dyn.allow" || c.action != "call" || len(c.options) != 0 {
			t.Errorf("authorizer called with %q %q %v", c.uri, c.action, c.options)
		}
		if id, _ := wamp.AsID(c.details["session"]); id != user.ID() || c.details["authrole"] != "user" ||
			c.details["realm"] != "dyn" || c.details["authid"] == nil || c.details["authmethod"] == nil ||
			c.details["authprovider"] == nil {
			t.Errorf("session details %v", c.details)
		}
	})

	t.Run("deny", func(t *testing.T) {
		for _, uri := range []wamp.URI{"com.dyn.deny", "com.dyn.error", "com.dyn.garbage", "com.dyn.noallow"} {
			notAuthorized(t, call(user, uri), "call procedure", uri)
		}
	})

	t.Run("static grants go without asking", func(t *testing.T) {
		before := ta.total()
		if err := call(user, "com.static"); !errors.Is(err, wamp.ErrNoSuchProcedure) {
			t.Errorf("got %v, want no_such_procedure", err)
		}
		if ta.total() != before {
			t.Error("the authorizer was asked about a static grant")
		}
	})

	t.Run("cache", func(t *testing.T) {
		for range 3 {
			if err := call(user, "com.dyn.cached"); err != nil {
				t.Fatal(err)
			}
			if err := call(user, "com.dyn.uncached"); err != nil {
				t.Fatal(err)
			}
			notAuthorized(t, call(user, "com.dyn.cachedeny"), "call procedure", "com.dyn.cachedeny")
		}
		if n := ta.count("com.dyn.cached"); n != 1 {
			t.Errorf("cached answer asked %d times, want 1", n)
		}
		if n := ta.count("com.dyn.cachedeny"); n != 1 {
			t.Errorf("cached denial asked %d times, want 1", n)
		}
		if n := ta.count("com.dyn.uncached"); n != 3 {
			t.Errorf("uncached answer asked %d times, want 3", n)
		}
		// Per session: another session is asked about.
		if err := call(stranger, "com.dyn.cached"); err != nil {
			t.Fatal(err)
		}
		if n := ta.count("com.dyn.cached"); n != 2 {
			t.Errorf("cached answer asked %d times for two sessions, want 2", n)
		}
		// ...and per action.
		if _, err := user.Publish(ctx, "com.dyn.cached", nil, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
			t.Fatal(err)
		}
		if c := ta.last(); c.uri != "com.dyn.cached" || c.action != "publish" {
			t.Errorf("publish not asked about: last call %q %q", c.uri, c.action)
		}
	})

	t.Run("disclose", func(t *testing.T) {
		res, err := user.Call(ctx, "com.dyn.disclose", nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := res.ArgInt(0); wamp.ID(id) != user.ID() {
			t.Errorf("callee saw caller %d, want %d", id, user.ID())
		}
	})

	t.Run("patterns", func(t *testing.T) {
		if _, err := user.Subscribe(ctx, "com.dyn.sub.", func(context.Context, *client.Event) {},
			&client.SubscribeOptions{Match: wamp.MatchPrefix}); err != nil {
			t.Fatal(err)
		}
		if c := ta.last(); c.uri != "com.dyn.sub." || c.action != "subscribe" || c.options["match"] != "prefix" {
			t.Errorf("authorizer called with %q %q %v", c.uri, c.action, c.options)
		}
		_, err := user.Register(ctx, "com.static.denied.", echoCaller, &client.RegisterOptions{Match: wamp.MatchPrefix})
		notAuthorized(t, err, "register procedure", "com.static.denied.")
		if c := ta.last(); c.action != "register" || c.options["match"] != "prefix" {
			t.Errorf("authorizer called with %q %v", c.action, c.options)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		notAuthorized(t, call(user, "com.dyn.slow"), "call procedure", "com.dyn.slow")
		if d := time.Since(start); d < az.timeout {
			t.Errorf("refused after %v, before the timeout", d)
		}
		// The session goes on.
		if err := call(user, "com.dyn.allow"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("one session waits, the others go on", func(t *testing.T) {
		gated := make(chan error, 1)
		go func() { gated <- call(user, "com.dyn.gate") }()
		waitAsked(t, ta, "com.dyn.gate")
		// The waiting session's next message waits behind it...
		next := make(chan error, 1)
		go func() { next <- call(user, "com.static") }()
		// ...while another session's go through.
		if err := call(stranger, "com.dyn.allow"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-next:
			t.Fatalf("a later call was answered (%v) while the session waited for its authorization", err)
		case <-time.After(50 * time.Millisecond):
		}
		close(ta.gates["com.dyn.gate"])
		if err := <-gated; err != nil {
			t.Errorf("gated call: %v", err)
		}
		if err := <-next; !errors.Is(err, wamp.ErrNoSuchProcedure) {
			t.Errorf("next call: %v", err)
		}
	})

	t.Run("the authorizer does not authorize itself", func(t *testing.T) {
		start := time.Now()
		notAuthorized(t, call(authzSession, "com.dyn.allow"), "call procedure", "com.dyn.allow")
		if d := time.Since(start); d >= az.timeout {
			t.Errorf("refused after %v: the router waited for the session to answer itself", d)
		}
	})

	t.Run("no authorizer registered", func(t *testing.T) {
		if err := authzSession.Close(ctx); err != nil {
			t.Fatal(err)
		}
		notAuthorized(t, call(user, "com.dyn.allow"), "call procedure", "com.dyn.allow")
	})
}

// TestAuthorizeDynamicProgressive checks that the chunks of a
// progressive call are authorized once, with the first.
func TestAuthorizeDynamicProgressive(t *testing.T) {
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{dynamicRealm()}})
	authzSession := h.joinRole("local", "dyn", "authorizer")
	backend := h.joinRole("local", "dyn", "backend")
	user := h.rawJoinRole("json", "dyn", "user")
	ta := &testAuthorizer{changed: make(chan struct{}, 1), answers: map[string]any{"com.dyn.stream": true}}
	mustRegister(t, authzSession, testAuthorizerURI, ta.handle, nil)
	mustRegister(t, backend, "com.dyn.stream", func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		n := 1
		for {
			if _, err := inv.Next(ctx); err != nil {
				break
			}
			n++
		}
		return &client.Result{Values: client.Values{Args: wamp.List{int64(n)}}}, nil
	}, nil)

	req := user.req.Next()
	for i := range 3 {
		user.send(&wamp.Call{Request: req, Options: wamp.Dict{"progress": i < 2}, Procedure: "com.dyn.stream",
			Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
	}
	res := expect[*wamp.Result](user)
	if n, _ := wamp.AsInt64(res.Args[0]); res.Request != req || n != 3 {
		t.Errorf("RESULT %d %v, want %d [3]", res.Request, res.Args, req)
	}
	if n := ta.count("com.dyn.stream"); n != 1 {
		t.Errorf("authorizer asked %d times for one progressive call, want 1", n)
	}
}

// waitAsked waits until the authorizer has been asked about uri, reading
// the record of its calls: earlier subtests' calls cannot crowd the
// question out.
func waitAsked(t *testing.T, ta *testAuthorizer, uri string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for ta.count(uri) == 0 {
		select {
		case <-ta.changed:
		case <-timeout:
			t.Fatalf("the authorizer was not asked about %s", uri)
		}
	}
}

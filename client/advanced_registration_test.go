package client

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// The tests of this file run the Advanced Profile's registration features
// (caller identification, pattern-based and shared registrations) end to
// end against a real router.

func TestCallerIdentification(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "alice")
		ctx := testContext(t)
		type who struct {
			id       wamp.ID
			authid   string
			authrole string
		}
		seen := make(chan who, 1)
		h := func(_ context.Context, inv *Invocation) (*Result, error) {
			seen <- who{inv.Caller(), inv.CallerAuthID(), inv.CallerAuthRole()}
			return nil, nil
		}
		if _, err := callee.Register(ctx, "test.who", h, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := callee.Register(ctx, "test.who.forced", h, &RegisterOptions{DiscloseCaller: true}); err != nil {
			t.Fatal(err)
		}
		authrole, _ := wamp.DictString(caller.Details(), "authrole")
		disclosed := who{caller.ID(), "alice", authrole}
		for _, tt := range []struct {
			name       string
			procedure  wamp.URI
			discloseMe bool
			want       who
		}{
			{"not asked", "test.who", false, who{}},
			{"disclose_me", "test.who", true, disclosed},
			{"disclose_caller", "test.who.forced", false, disclosed},
		} {
			if _, err := caller.Call(ctx, tt.procedure, nil, nil, &CallOptions{DiscloseMe: tt.discloseMe}); err != nil {
				t.Fatalf("%s: Call: %v", tt.name, err)
			}
			if got := <-seen; got != tt.want {
				t.Errorf("%s: callee saw caller %+v, want %+v", tt.name, got, tt.want)
			}
		}
	})
}

// TestPatternRegistration checks the precedence of registrations (exact,
// then the longest prefix, then wildcard) and Invocation.Procedure.
func TestPatternRegistration(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		register := func(uri wamp.URI, match wamp.MatchPolicy, name string) *Registration {
			t.Helper()
			reg, err := callee.Register(ctx, uri, func(_ context.Context, inv *Invocation) (*Result, error) {
				return &Result{Values: Values{Args: wamp.List{name, string(inv.Procedure())}}}, nil
			}, &RegisterOptions{Match: match})
			if err != nil {
				t.Fatalf("Register %s %s: %v", match, uri, err)
			}
			return reg
		}
		exact := register("test.pat.one", wamp.MatchExact, "exact")
		prefix := register("test.pat", wamp.MatchPrefix, "prefix")
		register("test", wamp.MatchPrefix, "short prefix")
		register("test..one", wamp.MatchWildcard, "wildcard")

		check := func(procedure wamp.URI, want string) {
			t.Helper()
			res, err := caller.Call(ctx, procedure, nil, nil, nil)
			if err != nil {
				t.Fatalf("Call %s: %v", procedure, err)
			}
			name, _ := res.ArgString(0)
			got, _ := res.ArgString(1)
			if name != want || got != string(procedure) {
				t.Errorf("Call %s reached %q with Procedure() %q; want %q with %q", procedure, name, got, want, procedure)
			}
		}
		check("test.pat.one", "exact")
		check("test.pat.two", "prefix")
		check("test.other.two", "short prefix")
		if err := exact.Unregister(ctx); err != nil {
			t.Fatal(err)
		}
		check("test.pat.one", "prefix")
		if err := prefix.Unregister(ctx); err != nil {
			t.Fatal(err)
		}
		check("test.pat.one", "short prefix")
	})
}

// TestWildcardRegistration: a wildcard registration is the last resort.
func TestWildcardRegistration(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		callee, caller := rr.join(t, ""), rr.join(t, "")
		ctx := testContext(t)
		h := func(name string) InvocationHandler {
			return func(_ context.Context, inv *Invocation) (*Result, error) {
				return &Result{Values: Values{Args: wamp.List{name, string(inv.Procedure())}}}, nil
			}
		}
		if _, err := callee.Register(ctx, "test..one", h("wildcard"), &RegisterOptions{Match: wamp.MatchWildcard}); err != nil {
			t.Fatal(err)
		}
		prefix, err := callee.Register(ctx, "test.pat", h("prefix"), &RegisterOptions{Match: wamp.MatchPrefix})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ procedure, want string }{
			{"test.pat.one", "prefix"},
			{"test.other.one", "wildcard"},
		} {
			res, err := caller.Call(ctx, wamp.URI(tt.procedure), nil, nil, nil)
			if err != nil {
				t.Fatalf("Call %s: %v", tt.procedure, err)
			}
			if res.Arg(0) != tt.want || res.Arg(1) != tt.procedure {
				t.Errorf("Call %s = %v, want [%s %s]", tt.procedure, res.Args, tt.want, tt.procedure)
			}
		}
		if err := prefix.Unregister(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := caller.Call(ctx, "test.pat.one", nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Arg(0) != "wildcard" || res.Arg(1) != "test.pat.one" {
			t.Errorf("Call test.pat.one = %v, want [wildcard test.pat.one]", res.Args)
		}
		if _, err := caller.Call(ctx, "test.pat.two", nil, nil, nil); !errors.Is(err, wamp.ErrNoSuchProcedure) {
			t.Errorf("Call test.pat.two: %v, want wamp.ErrNoSuchProcedure", err)
		}
	})
}

func TestSharedRegistrationRoundRobin(t *testing.T) {
	forEachRouter(t, func(t *testing.T, rr *realRouter) {
		ctx := testContext(t)
		names := []string{"a", "b", "c"}
		for _, name := range names {
			s := rr.join(t, "")
			_, err := s.Register(ctx, "test.shared", func(context.Context, *Invocation) (*Result, error) {
				return &Result{Values: Values{Args: wamp.List{name}}}, nil
			}, &RegisterOptions{Invoke: "roundrobin"})
			if err != nil {
				t.Fatalf("Register %s: %v", name, err)
			}
		}
		caller := rr.join(t, "")
		var got []string
		for range 7 {
			res, err := caller.Call(ctx, "test.shared", nil, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := res.ArgString(0)
			got = append(got, s)
		}
		if want := []string{"a", "b", "c", "a", "b", "c", "a"}; !slices.Equal(got, want) {
			t.Errorf("callees = %v, want %v", got, want)
		}
		other := rr.join(t, "")
		_, err := other.Register(ctx, "test.shared", func(context.Context, *Invocation) (*Result, error) { return nil, nil },
			&RegisterOptions{Invoke: "first"})
		var we *wamp.Error
		if !errors.As(err, &we) {
			t.Errorf("Register with another policy: %v, want a *wamp.Error", err)
		}
	})
}

package router

import (
	"slices"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// joinAs opens a session on realm1 announcing the given features for
// every role, the way a client library would.
func (h *harness) joinAs(kind string, features ...string) *peer {
	h.t.Helper()
	p := h.connect(kind)
	f := wamp.Dict{}
	for _, name := range features {
		f[name] = true
	}
	roles := wamp.Dict{}
	for _, r := range []string{"subscriber", "publisher", "caller", "callee"} {
		roles[r] = wamp.Dict{"features": f}
	}
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles}})
	p.id = expect[*wamp.Welcome](p).Session
	return p
}

func (p *peer) registerWith(proc wamp.URI, opts wamp.Dict) wamp.ID {
	p.t.Helper()
	req := p.req.Next()
	p.send(&wamp.Register{Request: req, Options: opts, Procedure: proc})
	return expect[*wamp.Registered](p).Registration
}

// call sends a CALL and returns its request ID.
func (p *peer) call(proc wamp.URI, opts wamp.Dict, args ...any) wamp.ID {
	p.t.Helper()
	req := p.req.Next()
	p.send(&wamp.Call{Request: req, Options: opts, Procedure: proc, Payload: wamp.Payload{Args: args}})
	return req
}

// expectError reads an ERROR and checks its request and URI.
func (p *peer) expectError(t wamp.Type, req wamp.ID, uri wamp.URI) *wamp.ErrorMessage {
	p.t.Helper()
	e := expect[*wamp.ErrorMessage](p)
	if e.RequestType != t || e.Request != req || e.Error != uri {
		p.t.Fatalf("ERROR %s %d %s, want %s %d %s", e.RequestType, e.Request, e.Error, t, req, uri)
	}
	return e
}

func TestProgressiveCallResults(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			callee := h.joinAs(kind, "progressive_call_results", "call_canceling")
			caller := h.joinAs(kind, "progressive_call_results")
			proc := wamp.URI("com.example.count." + kind)
			callee.register(proc)
			req := caller.call(proc, wamp.Dict{"receive_progress": true}, 3)
			inv := expect[*wamp.Invocation](callee)
			if inv.Details["receive_progress"] != true {
				t.Fatalf("INVOCATION details %v, want receive_progress", inv.Details)
			}
			for i := 1; i <= 3; i++ {
				callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{i}}})
			}
			callee.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: wamp.List{"done"}}})
			for i := 1; i <= 3; i++ {
				r := expect[*wamp.Result](caller)
				if r.Request != req || r.Details["progress"] != true || !argEquals(r.Args, 0, int64(i)) {
					t.Fatalf("progressive RESULT %d: %+v", i, r)
				}
			}
			final := expect[*wamp.Result](caller)
			if final.Details["progress"] == true || !argEquals(final.Args, 0, "done") {
				t.Fatalf("final RESULT %+v", final)
			}
		})
	}
}

func TestProgressiveResultsNeedBothSides(t *testing.T) {
	h := newHarness(t, Config{})
	// A callee that does not announce the feature is not told the caller
	// wants progress, and a caller that did not ask gets none.
	plain := h.joinAs("json")
	caller := h.joinAs("json", "progressive_call_results")
	plain.register("com.example.plain")
	req := caller.call("com.example.plain", wamp.Dict{"receive_progress": true})
	inv := expect[*wamp.Invocation](plain)
	if _, ok := inv.Details["receive_progress"]; ok {
		t.Fatalf("INVOCATION details %v offer progress to a callee that cannot send it", inv.Details)
	}
	plain.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}})
	caller.quiet()
	plain.send(&wamp.Yield{Request: inv.Request})
	if r := expect[*wamp.Result](caller); r.Request != req || r.Details["progress"] == true {
		t.Fatalf("RESULT %+v", r)
	}

	able := h.joinAs("json", "progressive_call_results")
	able.register("com.example.able")
	caller.call("com.example.able", nil)
	inv = expect[*wamp.Invocation](able)
	if _, ok := inv.Details["receive_progress"]; ok {
		t.Fatalf("INVOCATION details %v: the caller did not ask for progress", inv.Details)
	}
	able.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}})
	caller.quiet()

	// A callee announcing progressive results without call canceling (as
	// Autobahn|JS 22 does) is treated as not supporting progressive
	// results, as the specification says.
	half := h.joinAs("json", "progressive_call_results")
	half.register("com.example.half")
	caller.call("com.example.half", wamp.Dict{"receive_progress": true})
	inv = expect[*wamp.Invocation](half)
	if _, ok := inv.Details["receive_progress"]; ok {
		t.Fatalf("INVOCATION details %v offer progress to a callee without call canceling", inv.Details)
	}
}

func TestCallTimeout(t *testing.T) {
	h := newHarness(t, Config{})
	callee := h.joinAs("json", "call_canceling")
	caller := h.joinAs("json")
	callee.register("com.example.slow")
	req := caller.call("com.example.slow", wamp.Dict{"timeout": 30})
	inv := expect[*wamp.Invocation](callee)
	caller.expectError(wamp.TypeCall, req, wamp.URITimeout)
	intr := expect[*wamp.Interrupt](callee)
	if intr.Request != inv.Request || intr.Options["mode"] != "killnowait" || intr.Options["reason"] != string(wamp.URITimeout) {
		t.Fatalf("INTERRUPT %+v, want killnowait for %d with reason timeout", intr, inv.Request)
	}
	// The late answer goes nowhere.
	callee.send(&wamp.Yield{Request: inv.Request})
	caller.quiet()

	// A callee without call canceling is skipped: no INTERRUPT.
	plain := h.joinAs("json")
	plain.register("com.example.plain")
	req = caller.call("com.example.plain", wamp.Dict{"timeout": 30})
	expect[*wamp.Invocation](plain)
	caller.expectError(wamp.TypeCall, req, wamp.URITimeout)
	plain.quiet()

	// A call answered in time is not touched by its timer.
	req = caller.call("com.example.slow", wamp.Dict{"timeout": 200})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request})
	if r := expect[*wamp.Result](caller); r.Request != req {
		t.Fatalf("RESULT %+v", r)
	}
	time.Sleep(250 * time.Millisecond)
	caller.quiet()
	callee.quiet()

	caller.call("com.example.slow", wamp.Dict{"timeout": -1})
	caller.expectError(wamp.TypeCall, caller.req.Next()-1, wamp.URIInvalidArgument)
}

func TestCancelModes(t *testing.T) {
	h := newHarness(t, Config{})
	callee := h.joinAs("json", "call_canceling")
	caller := h.joinAs("json", "call_canceling")
	callee.register("com.example.long")

	t.Run("skip", func(t *testing.T) {
		req := caller.call("com.example.long", nil)
		inv := expect[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "skip"}})
		caller.expectError(wamp.TypeCall, req, wamp.URICanceled)
		callee.quiet()
		callee.send(&wamp.Yield{Request: inv.Request})
		caller.quiet()
	})
	t.Run("killnowait", func(t *testing.T) {
		req := caller.call("com.example.long", nil)
		inv := expect[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
		caller.expectError(wamp.TypeCall, req, wamp.URICanceled)
		if intr := expect[*wamp.Interrupt](callee); intr.Request != inv.Request || intr.Options["mode"] != "killnowait" {
			t.Fatalf("INTERRUPT %+v", intr)
		}
		callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Error: wamp.URICanceled})
		caller.quiet()
	})
	t.Run("kill", func(t *testing.T) {
		req := caller.call("com.example.long", nil)
		inv := expect[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req}) // kill is the default
		if intr := expect[*wamp.Interrupt](callee); intr.Request != inv.Request || intr.Options["mode"] != "kill" {
			t.Fatalf("INTERRUPT %+v", intr)
		}
		caller.quiet() // the caller waits for the callee's answer
		caller.send(&wamp.Cancel{Request: req})
		callee.quiet() // a second CANCEL does not interrupt again
		callee.send(&wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: inv.Request, Error: wamp.URICanceled,
			Payload: wamp.Payload{Args: wamp.List{"stopped"}}})
		e := caller.expectError(wamp.TypeCall, req, wamp.URICanceled)
		if !argEquals(e.Args, 0, "stopped") {
			t.Fatalf("the callee's ERROR was not forwarded as it is: %+v", e)
		}
	})
	t.Run("kill answered by a result", func(t *testing.T) {
		req := caller.call("com.example.long", nil)
		inv := expect[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "kill"}})
		expect[*wamp.Interrupt](callee)
		callee.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: wamp.List{"finished first"}}})
		if r := expect[*wamp.Result](caller); r.Request != req || !argEquals(r.Args, 0, "finished first") {
			t.Fatalf("RESULT %+v", r)
		}
	})
	t.Run("callee without call_canceling is skipped", func(t *testing.T) {
		plain := h.joinAs("json")
		plain.register("com.example.plain")
		req := caller.call("com.example.plain", nil)
		expect[*wamp.Invocation](plain)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "kill"}})
		caller.expectError(wamp.TypeCall, req, wamp.URICanceled)
		plain.quiet()
	})
	t.Run("cancel after the result is ignored", func(t *testing.T) {
		req := caller.call("com.example.long", nil)
		inv := expect[*wamp.Invocation](callee)
		callee.send(&wamp.Yield{Request: inv.Request})
		expect[*wamp.Result](caller)
		caller.send(&wamp.Cancel{Request: req})
		caller.quiet()
		callee.quiet()
	})
	t.Run("unknown mode is a protocol violation", func(t *testing.T) {
		other := h.joinAs("json", "call_canceling")
		req := other.call("com.example.long", nil)
		expect[*wamp.Invocation](callee)
		other.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "explode"}})
		if a := expect[*wamp.Abort](other); a.Reason != wamp.URIProtocolViolation {
			t.Fatalf("ABORT %+v", a)
		}
		// Its call is interrupted since nobody waits for it any more.
		if intr := expect[*wamp.Interrupt](callee); intr.Options["mode"] != "killnowait" {
			t.Fatalf("INTERRUPT %+v", intr)
		}
	})
}

func TestCallerIdentification(t *testing.T) {
	h := newHarness(t, Config{})
	callee := h.joinAs("json")
	caller := h.joinAs("json")
	callee.register("com.example.who")
	callee.registerWith("com.example.audited", wamp.Dict{"disclose_caller": true})

	caller.call("com.example.who", nil)
	inv := expect[*wamp.Invocation](callee)
	if _, ok := inv.Details["caller"]; ok {
		t.Fatalf("caller disclosed without asking: %v", inv.Details)
	}
	callee.send(&wamp.Yield{Request: inv.Request})
	expect[*wamp.Result](caller)

	for _, tc := range []struct {
		proc wamp.URI
		opts wamp.Dict
	}{
		{"com.example.who", wamp.Dict{"disclose_me": true}},
		{"com.example.audited", nil},
	} {
		caller.call(tc.proc, tc.opts)
		inv := expect[*wamp.Invocation](callee)
		id, _ := wamp.AsID(inv.Details["caller"])
		if id != caller.id || inv.Details["caller_authrole"] != "anonymous" || inv.Details["caller_authid"] == nil {
			t.Fatalf("%s: INVOCATION details %v, want caller %d with authid and authrole", tc.proc, inv.Details, caller.id)
		}
		callee.send(&wamp.Yield{Request: inv.Request})
		expect[*wamp.Result](caller)
	}
}

func TestPatternRegistrationPrecedence(t *testing.T) {
	h := newHarness(t, Config{})
	exact := h.joinAs("json")
	prefix := h.joinAs("json")
	longer := h.joinAs("json")
	wild := h.joinAs("json")
	caller := h.joinAs("json")
	exact.register("com.shop.order.create")
	prefix.registerWith("com.shop", wamp.Dict{"match": "prefix"})
	longer.registerWith("com.shop.order", wamp.Dict{"match": "prefix"})
	wild.registerWith("com..order.create", wamp.Dict{"match": "wildcard"})

	for _, tc := range []struct {
		call wamp.URI
		want *peer
	}{
		{"com.shop.order.create", exact},
		{"com.shop.order.delete", longer},
		{"com.shop.cart.add", prefix},
		{"com.bakery.order.create", wild},
	} {
		req := caller.call(tc.call, nil)
		inv := expect[*wamp.Invocation](tc.want)
		proc, hasProc := inv.Details["procedure"]
		if tc.want == exact && hasProc {
			t.Errorf("%s: an exact registration's INVOCATION carries procedure %v", tc.call, proc)
		}
		if tc.want != exact && proc != string(tc.call) {
			t.Errorf("%s: INVOCATION.Details.procedure = %v", tc.call, proc)
		}
		tc.want.send(&wamp.Yield{Request: inv.Request})
		if r := expect[*wamp.Result](caller); r.Request != req {
			t.Fatalf("RESULT %+v", r)
		}
	}
	for _, p := range []*peer{exact, prefix, longer, wild} {
		p.quiet()
	}
	req := caller.call("org.other", nil)
	caller.expectError(wamp.TypeCall, req, wamp.URINoSuchProcedure)

	// A prefix and an exact registration of the same URI coexist.
	dup := h.joinAs("json")
	dup.register("com.shop")
	req = dup.req.Next()
	dup.send(&wamp.Register{Request: req, Options: wamp.Dict{"match": "prefix"}, Procedure: "com.shop"})
	dup.expectError(wamp.TypeRegister, req, wamp.URIProcedureAlreadyExists)

	bad := h.joinAs("json")
	for _, opts := range []wamp.Dict{{"match": "regex"}, {"invoke": "everyone"}, {"invoke": 1}} {
		req := bad.req.Next()
		bad.send(&wamp.Register{Request: req, Options: opts, Procedure: "com.bad"})
		bad.expectError(wamp.TypeRegister, req, wamp.URIInvalidArgument)
	}
	for _, tc := range []struct {
		proc  wamp.URI
		match string
	}{{"com..bad", "prefix"}, {"wamp.session.count", "exact"}, {"wamp", "prefix"}, {"wamp.registration", "prefix"}} {
		req = bad.req.Next()
		bad.send(&wamp.Register{Request: req, Options: wamp.Dict{"match": tc.match}, Procedure: tc.proc})
		bad.expectError(wamp.TypeRegister, req, wamp.URIInvalidURI)
	}
}

func TestSharedRegistrationPolicies(t *testing.T) {
	h := newHarness(t, Config{})
	caller := h.joinAs("json")
	serve := func(proc wamp.URI, invoke string, n int) []*peer {
		callees := make([]*peer, n)
		for i := range callees {
			callees[i] = h.joinAs("json")
			callees[i].registerWith(proc, wamp.Dict{"invoke": invoke})
		}
		return callees
	}
	// who calls proc and returns the index of the callee that got it.
	who := func(proc wamp.URI, callees []*peer) int {
		t.Helper()
		req := caller.call(proc, nil)
		for {
			for i, c := range callees {
				select {
				case m, ok := <-c.in:
					if !ok {
						continue // a callee that left
					}
					inv := m.(*wamp.Invocation)
					c.send(&wamp.Yield{Request: inv.Request})
					if r := expect[*wamp.Result](caller); r.Request != req {
						t.Fatalf("RESULT %+v", r)
					}
					return i
				default:
				}
			}
			time.Sleep(time.Millisecond)
		}
	}

	rr := serve("com.rr", "roundrobin", 3)
	var got []int
	for range 7 {
		got = append(got, who("com.rr", rr))
	}
	if want := []int{0, 1, 2, 0, 1, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("roundrobin picked %v, want %v", got, want)
	}

	first := serve("com.first", "first", 3)
	last := serve("com.last", "last", 3)
	for range 3 {
		if i := who("com.first", first); i != 0 {
			t.Errorf("first picked callee %d", i)
		}
		if i := who("com.last", last); i != 2 {
			t.Errorf("last picked callee %d", i)
		}
	}
	// The first callee leaves: "first" moves on to the next in line.
	first[0].send(&wamp.Goodbye{Reason: wamp.URICloseNormal})
	expect[*wamp.Goodbye](first[0])
	time.Sleep(20 * time.Millisecond)
	if i := who("com.first", first); i != 1 {
		t.Errorf("after the first callee left, first picked callee %d", i)
	}

	random := serve("com.random", "random", 3)
	seen := map[int]bool{}
	for range 60 {
		seen[who("com.random", random)] = true
	}
	if len(seen) != 3 {
		t.Errorf("random picked only callees %v in 60 calls", seen)
	}

	// Mismatched policies and a second single registration are refused.
	intruder := h.joinAs("json")
	for _, tc := range []struct {
		proc   wamp.URI
		invoke string
		want   wamp.URI
	}{
		{"com.rr", "first", wamp.URIInvocationPolicyConflict},
		{"com.rr", "", wamp.URIInvocationPolicyConflict},
		{"com.solo", "", wamp.URIProcedureAlreadyExists},
		{"com.solo", "roundrobin", wamp.URIProcedureAlreadyExists},
	} {
		if tc.proc == "com.solo" && !h.registered("com.solo") {
			h.joinAs("json").register("com.solo")
		}
		opts := wamp.Dict{}
		if tc.invoke != "" {
			opts["invoke"] = tc.invoke
		}
		req := intruder.req.Next()
		intruder.send(&wamp.Register{Request: req, Options: opts, Procedure: tc.proc})
		intruder.expectError(wamp.TypeRegister, req, tc.want)
	}
	// A callee may not join the same shared registration twice.
	req := rr[0].req.Next()
	rr[0].send(&wamp.Register{Request: req, Options: wamp.Dict{"invoke": "roundrobin"}, Procedure: "com.rr"})
	rr[0].expectError(wamp.TypeRegister, req, wamp.URIProcedureAlreadyExists)
}

// registered reports whether a procedure has an exact registration.
func (h *harness) registered(proc wamp.URI) bool {
	rl := h.r.realm("realm1")
	rl.dealer.mu.Lock()
	defer rl.dealer.mu.Unlock()
	return rl.dealer.regs.lookup(proc, wamp.MatchExact) != nil
}

func TestSharedRegistrationSurvivesCalleeUnregister(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := h.joinAs("json"), h.joinAs("json")
	caller := h.joinAs("json")
	idA := a.registerWith("com.pool", wamp.Dict{"invoke": "roundrobin"})
	idB := b.registerWith("com.pool", wamp.Dict{"invoke": "roundrobin"})
	if idA != idB {
		t.Fatalf("a shared registration has one ID: got %d and %d", idA, idB)
	}
	req := a.req.Next()
	a.send(&wamp.Unregister{Request: req, Registration: idA})
	expect[*wamp.Unregistered](a)
	for range 3 {
		r := caller.call("com.pool", nil)
		inv := expect[*wamp.Invocation](b)
		b.send(&wamp.Yield{Request: inv.Request})
		if res := expect[*wamp.Result](caller); res.Request != r {
			t.Fatalf("RESULT %+v", res)
		}
	}
	a.quiet()
}

func TestProgressiveCallInvocations(t *testing.T) {
	h := newHarness(t, Config{})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			callee := h.joinAs(kind, "progressive_call_invocations", "call_canceling", "progressive_call_results")
			caller := h.joinAs(kind, "progressive_call_invocations", "progressive_call_results")
			proc := wamp.URI("com.upload." + kind)
			callee.register(proc)
			req := caller.req.Next()
			chunks := []string{"a", "b", "c"}
			var invID wamp.ID
			for i, c := range chunks {
				opts := wamp.Dict{"progress": i < len(chunks)-1, "disclose_me": i == 0, "receive_progress": true}
				caller.send(&wamp.Call{Request: req, Options: opts, Procedure: proc, Payload: wamp.Payload{Args: wamp.List{c}}})
				inv := expect[*wamp.Invocation](callee)
				if i == 0 {
					invID = inv.Request
				} else if inv.Request != invID {
					t.Fatalf("chunk %d has INVOCATION request %d, want %d", i, inv.Request, invID)
				}
				if progress, _ := inv.Details["progress"].(bool); progress != (i < len(chunks)-1) {
					t.Fatalf("chunk %d: details %v", i, inv.Details)
				}
				// Options of the first CALL hold for every chunk.
				if id, _ := wamp.AsID(inv.Details["caller"]); id != caller.id {
					t.Fatalf("chunk %d: caller not disclosed: %v", i, inv.Details)
				}
				if !argEquals(inv.Args, 0, c) {
					t.Fatalf("chunk %d: args %v", i, inv.Args)
				}
				if i == 0 {
					// Progressive results may flow while input streams.
					callee.send(&wamp.Yield{Request: invID, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{"got a"}}})
					if r := expect[*wamp.Result](caller); r.Details["progress"] != true {
						t.Fatalf("progressive RESULT %+v", r)
					}
				}
			}
			callee.send(&wamp.Yield{Request: invID, Payload: wamp.Payload{Args: wamp.List{"abc"}}})
			if r := expect[*wamp.Result](caller); r.Request != req || !argEquals(r.Args, 0, "abc") {
				t.Fatalf("RESULT %+v", r)
			}
		})
	}
}

func TestProgressiveCallInvocationsRefused(t *testing.T) {
	h := newHarness(t, Config{})
	caller := h.joinAs("json", "progressive_call_invocations")
	// A callee without the feature, or without call canceling, cannot
	// take a progressive call.
	for i, feats := range [][]string{nil, {"progressive_call_invocations"}} {
		callee := h.joinAs("json", feats...)
		proc := wamp.URI("com.noprogress" + string(rune('a'+i)))
		callee.register(proc)
		req := caller.call(proc, wamp.Dict{"progress": true})
		caller.expectError(wamp.TypeCall, req, wamp.URIFeatureNotSupported)
		callee.quiet()
	}
	// A caller that did not announce the feature breaks the protocol.
	callee := h.joinAs("json", "progressive_call_invocations", "call_canceling")
	callee.register("com.progress")
	rude := h.joinAs("json")
	rude.call("com.progress", wamp.Dict{"progress": true})
	if a := expect[*wamp.Abort](rude); a.Reason != wamp.URIProtocolViolation {
		t.Fatalf("ABORT %+v", a)
	}
	// Reusing the request ID of a plain call in flight does too.
	reuser := h.joinAs("json")
	req := reuser.call("com.progress", nil)
	expect[*wamp.Invocation](callee)
	reuser.send(&wamp.Call{Request: req, Procedure: "com.progress"})
	if a := expect[*wamp.Abort](reuser); a.Reason != wamp.URIProtocolViolation {
		t.Fatalf("ABORT %+v", a)
	}
}

func TestCallerLeavingInterruptsCallee(t *testing.T) {
	h := newHarness(t, Config{})
	callee := h.joinAs("json", "call_canceling", "progressive_call_invocations")
	callee.register("com.stream")
	caller := h.joinAs("json", "progressive_call_invocations")
	caller.call("com.stream", wamp.Dict{"progress": true}, "first chunk")
	inv := expect[*wamp.Invocation](callee)
	caller.p.Close() // cut, no GOODBYE
	intr := expect[*wamp.Interrupt](callee)
	if intr.Request != inv.Request || intr.Options["mode"] != "killnowait" {
		t.Fatalf("INTERRUPT %+v, want killnowait for %d", intr, inv.Request)
	}
}

func TestWelcomeAnnouncesDealerFeatures(t *testing.T) {
	h := newHarness(t, Config{})
	p := h.connect("json")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}})
	w := expect[*wamp.Welcome](p)
	roles, _ := wamp.DictDict(w.Details, "roles")
	dealer, _ := wamp.DictDict(roles, "dealer")
	feats, _ := wamp.DictDict(dealer, "features")
	for _, f := range []string{"progressive_call_results", "progressive_call_invocations", "call_timeout",
		"call_canceling", "caller_identification", "pattern_based_registration", "shared_registration"} {
		if feats[f] != true {
			t.Errorf("WELCOME does not announce dealer feature %s: %v", f, feats)
		}
	}
}

func argEquals(args wamp.List, i int, want any) bool {
	if i >= len(args) {
		return false
	}
	if n, ok := wamp.AsInt64(args[i]); ok {
		w, isInt := want.(int64)
		return isInt && n == w
	}
	return args[i] == want
}

// With progressive results, the timeout bounds the wait for the first
// result and between results, not the whole call.
func TestCallTimeoutRestartsWithEachProgressiveResult(t *testing.T) {
	h := newHarness(t, Config{})
	callee := h.joinAs("json", "progressive_call_results", "call_canceling")
	caller := h.joinAs("json", "progressive_call_results")
	callee.register("com.example.ticks")
	req := caller.call("com.example.ticks", wamp.Dict{"receive_progress": true, "timeout": 150})
	inv := expect[*wamp.Invocation](callee)
	start := time.Now()
	for i := range 6 { // 6 × 50 ms: twice the timeout in all
		time.Sleep(50 * time.Millisecond)
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{i}}})
		if r := expect[*wamp.Result](caller); r.Details["progress"] != true {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("the results came faster than the timeout: the test proves nothing")
	}
	// Then silence: the timeout fires.
	caller.expectError(wamp.TypeCall, req, wamp.URITimeout)
	if intr := expect[*wamp.Interrupt](callee); intr.Request != inv.Request {
		t.Fatalf("INTERRUPT %+v", intr)
	}
}

// Chunks of a progressive call that has ended are dropped, not taken for
// new calls; the final chunk clears the request ID for reuse.
func TestChunksOfAnEndedProgressiveCallAreDropped(t *testing.T) {
	h := newHarness(t, Config{})
	callee := h.joinAs("json", "progressive_call_invocations", "call_canceling")
	caller := h.joinAs("json", "progressive_call_invocations")
	callee.register("com.example.upload")
	req := caller.call("com.example.upload", wamp.Dict{"progress": true}, "chunk 1")
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Payload: wamp.Payload{Args: wamp.List{"enough"}}})
	if r := expect[*wamp.Result](caller); r.Request != req {
		t.Fatalf("RESULT %+v", r)
	}
	send := func(progress bool, arg string) {
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"progress": progress}, Procedure: "com.example.upload",
			Payload: wamp.Payload{Args: wamp.List{arg}}})
	}
	send(true, "chunk 2")
	send(false, "last chunk")
	callee.quiet()
	caller.quiet()
	send(false, "a new call")
	if inv := expect[*wamp.Invocation](callee); !argEquals(inv.Args, 0, "a new call") {
		t.Fatalf("INVOCATION %+v", inv)
	}
}

func TestCallCancellingSpellingIsAccepted(t *testing.T) {
	h := newHarness(t, Config{})
	callee := h.joinAs("json", "call_cancelling")
	caller := h.joinAs("json")
	callee.register("com.example.british")
	req := caller.call("com.example.british", nil)
	inv := expect[*wamp.Invocation](callee)
	caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
	if intr := expect[*wamp.Interrupt](callee); intr.Request != inv.Request {
		t.Fatalf("INTERRUPT %+v", intr)
	}
}

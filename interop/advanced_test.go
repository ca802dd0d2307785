package interop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// eventTimeout bounds a Go test's wait for an event it expects.
const eventTimeout = 5 * time.Second

// TestAutobahnAdvanced runs the Autobahn|JS scenarios of the Advanced
// Profile on each serializer, against a router of their own.
func TestAutobahnAdvanced(t *testing.T) {
	requireNode(t)
	scenarios := []struct {
		script string
		check  func(t *testing.T, got any)
	}{
		{"features", checkFeatures},
		{"progress", func(t *testing.T, got any) {
			// Both sides are Autobahn|JS, whose callee does not
			// announce call_canceling: no progressive results.
			checkProgress(t, got, false, false)
		}},
		{"timeout", checkTimeout},
		{"cancel", checkCancel},
		{"shared_policies", func(t *testing.T, got any) {
			check(t, "callees picked", got, want(t,
				`{"first":["c1","c1","c1","c2"],"last":["c3","c3","c3","c2"],"random":["c1","c2","c3"]}`))
		}},
		{"patterns", checkPatterns},
		{"blackwhite", checkBlackWhite},
		{"retained", func(t *testing.T, got any) {
			retained := fmt.Sprintf(`{"args":%s,"kwargs":%s,"retained":true}`, wantArgs, wantKwargs)
			live := `{"args":["live"],"kwargs":{},"retained":false}`
			check(t, "events of the late subscribers", got, want(t,
				fmt.Sprintf(`{"withRetained":[%s,%s],"without":[%s]}`, retained, live, live)))
		}},
		{"identification", checkIdentification},
		{"meta", checkMeta},
	}
	for _, sc := range scenarios {
		for _, ser := range serializers {
			t.Run(sc.script+"/"+ser, func(t *testing.T) {
				t.Parallel()
				sc.check(t, runScript(t, sc.script, startRouter(t), ser))
			})
		}
	}
}

// at returns the value at path in v, a result as normalize returns it:
// keys of dictionaries, or indexes of lists.
func at(t *testing.T, v any, path ...string) any {
	t.Helper()
	for i, k := range path {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[k]; !ok {
				t.Fatalf("no %s in the result", strings.Join(path[:i+1], "."))
			}
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 || n >= len(x) {
				t.Fatalf("no %s in the result", strings.Join(path[:i+1], "."))
			}
			v = x[n]
		default:
			t.Fatalf("%s is %v, not a dictionary or list", strings.Join(path[:i], "."), v)
		}
	}
	return v
}

// list and dict return v as a list or dictionary, or fail.
func list(t *testing.T, what string, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%s: got %s, want a list", what, jsonOf(v))
	}
	return l
}

func dict(t *testing.T, what string, v any) map[string]any {
	t.Helper()
	d, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: got %s, want a dictionary", what, jsonOf(v))
	}
	return d
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkFeatures: WELCOME announces every feature these tests exercise,
// and Autobahn|JS takes as usable each of those it implements.
func checkFeatures(t *testing.T, got any) {
	announced := map[string][]string{
		"broker": {"publisher_exclusion", "publisher_identification", "subscriber_blackwhite_listing",
			"pattern_based_subscription", "event_retention", "session_meta_api", "subscription_meta_api"},
		"dealer": {"progressive_call_results", "call_timeout", "call_canceling", "caller_identification",
			"pattern_based_registration", "shared_registration", "session_meta_api", "registration_meta_api",
			"testament_meta_api"},
	}
	for role, names := range announced {
		features := dict(t, role+" features", at(t, got, "roles", role, "features"))
		for _, name := range names {
			if features[name] != true {
				t.Errorf("WELCOME.Details.roles.%s.features.%s is %v, want true", role, name, features[name])
			}
		}
	}
	check(t, "features Autobahn|JS takes as usable", at(t, got, "usable"), want(t, `{
		"subscriber": {"publisher_identification": true, "pattern_based_subscription": true},
		"publisher": {"publisher_identification": true, "subscriber_blackwhite_listing": true, "publisher_exclusion": true},
		"caller": {"caller_identification": true, "call_canceling": true, "progressive_call_results": true},
		"callee": {"caller_identification": true, "pattern_based_registration": true, "shared_registration": true,
			"progressive_call_results": true}
	}`))
}

// checkProgress checks a peer's two calls, with and without
// receive_progress, and the invocations its own callee got.
// calledProgressive says whether the callee it called may stream
// results, calleeProgressive whether its own callee may. The
// specification: a Callee that supports progressive results but not call
// canceling is considered by the Dealer not to support progressive
// results. Autobahn|JS 26's callee announces progressive_call_results and
// not call_canceling (WAMP_FEATURES in its lib/session.js), so it gets no
// receive_progress; the Go client announces both.
func checkProgress(t *testing.T, got any, calledProgressive, calleeProgressive bool) {
	progress := func(i int) string {
		return fmt.Sprintf(`{"progress":{"args":[%d],"kwargs":{"chunk":%d}}}`, i, i)
	}
	final := `{"result":{"args":["final"],"kwargs":{"chunks":3}}}`
	withProgress := "[" + final + "]"
	if calledProgressive {
		withProgress = "[" + progress(1) + "," + progress(2) + "," + progress(3) + "," + final + "]"
	}
	check(t, "results of the call with receive_progress", at(t, got, "withProgress"), want(t, withProgress))
	check(t, "results of the call without receive_progress", at(t, got, "without"), want(t, "["+final+"]"))
	check(t, "whether the callee could send progressive results", at(t, got, "invocations"),
		want(t, fmt.Sprintf(`[{"progress":%v},{"progress":false}]`, calleeProgressive)))
}

// checkTimeout: the caller gets wamp.error.timeout after the 100 ms it
// gave; only the callee that announced call_canceling gets an INTERRUPT,
// in killnowait mode, for its invocation.
func checkTimeout(t *testing.T, got any) {
	for _, callee := range []string{"plain", "interruptible"} {
		check(t, callee+": caller's error", at(t, got, callee, "error"), "wamp.error.timeout")
		if ms, _ := at(t, got, callee, "elapsed").(float64); ms < 95 || ms > 2000 {
			t.Errorf("%s: the call timed out after %v ms, want about 100", callee, ms)
		}
		check(t, callee+": callee still connected", at(t, got, callee, "calleeOpen"), true)
	}
	check(t, "plain: INTERRUPTs sent", at(t, got, "plain", "interruptsOnWire"), 0.0)
	check(t, "interruptible: INTERRUPTs sent", at(t, got, "interruptible", "interruptsOnWire"), 1.0)
	check(t, "interruptible: INTERRUPT mode", at(t, got, "interruptible", "interrupt", "options", "mode"), "killnowait")
	check(t, "interruptible: INTERRUPT for the call's INVOCATION", at(t, got, "interruptible", "interrupt", "sameRequest"), true)
	t.Logf("INTERRUPT options on timeout: %s", jsonOf(at(t, got, "interruptible", "interrupt", "options")))
}

// checkCancel follows the specification's Call Canceling: the router
// answers the caller at once with wamp.error.canceled in skip and
// killnowait modes, and in kill mode once the callee has answered its
// INTERRUPT; INTERRUPT goes only to a callee that announced
// call_canceling, and not in skip mode (a callee without the feature is
// always skipped); the callee's late answer is dropped.
//
// What the Autobahn|JS caller's promise settles with is its own doing:
// in skip and killnowait modes it rejects at once with Error("Cancelled")
// and then takes the router's ERROR for a protocol violation and drops
// the connection. That is logged, not checked: the router is right.
func checkCancel(t *testing.T, got any) {
	for _, callee := range []string{"plain", "interruptible"} {
		for _, mode := range []string{"skip", "kill", "killnowait"} {
			c := callee + "/" + mode
			check(t, c+": router's ERROR to the caller", at(t, got, c, "routerError"), "wamp.error.canceled")
			var interrupt any
			if callee == "interruptible" && mode != "skip" {
				interrupt = map[string]any{"mode": mode}
			}
			gotInterrupt := at(t, got, c, "interrupt")
			if m, ok := gotInterrupt.(map[string]any); ok {
				gotInterrupt = map[string]any{"mode": m["mode"]}
			}
			check(t, c+": INTERRUPT to the callee", gotInterrupt, interrupt)
			check(t, c+": late RESULT delivered to the caller", at(t, got, c, "lateResult"), false)
			callerGot := "Cancelled" // Autobahn|JS's own, local rejection
			if mode == "kill" {
				callerGot = "wamp.error.canceled"
			}
			check(t, c+": caller's rejection", at(t, got, c, "callerGot", "error"), callerGot)
			if c == "interruptible/kill" {
				// The callee's answer to INTERRUPT, not the router's own.
				check(t, c+": caller's rejection args", at(t, got, c, "callerGot", "args"), []any{"interrupted", "kill"})
			}
			if closes := list(t, c+": callerCloses", at(t, got, c, "callerCloses")); len(closes) > 0 {
				t.Logf("%s: Autobahn|JS closed the caller's connection itself: %s", c, jsonOf(closes))
			}
		}
		check(t, callee+": callee still connected", at(t, got, callee+"/calleeOpen"), true)
	}
	check(t, "INTERRUPTs the plain callee got", at(t, got, "plain/interrupts"), 0.0)
	check(t, "INTERRUPTs the interruptible callee got", at(t, got, "interruptible/interrupts"), 2.0)
}

func checkPatterns(t *testing.T, got any) {
	const T, N, W = "com.example.interop.pat", "com.example.interop.rpc", "com.example.interop.wild"
	ev := func(name, topic string, onWire bool) string {
		wire := "null"
		if onWire {
			wire = strconv.Quote(topic)
		}
		return fmt.Sprintf(`{"name":%q,"topic":%q,"wireTopic":%s}`, name, topic, wire)
	}
	check(t, "subscriptions that got each event", at(t, got, "received"), want(t, fmt.Sprintf(`{%q:[%s,%s,%s,%s],%q:[%s,%s]}`,
		T+".a.b", ev("exact", T+".a.b", false), ev("prefix-long", T+".a.b", true), ev("prefix-short", T+".a.b", true), ev("wildcard", T+".a.b", true),
		T+".a", ev("prefix-long", T+".a", true), ev("prefix-short", T+".a", true))))
	routes := []struct{ procedure, registration string }{
		{N + ".a.b.c", "exact"},
		{N + ".a.b.x", "prefix-long"},
		{N + ".a.x.c", "prefix-short"},
		{N + ".a", "prefix-short"},
		{W + ".a1.b2.c55.d4.e5", "w-a1.b2..d4.e5"},
		{W + ".a1.b2.c3.d4.e5", "w-a1.b2.c3..e5"},
		{W + ".a1.b2.c88.d4.e5.f6.g7", "w-a1.b2..d4.e5..g7"},
	}
	routed := dict(t, "routed", at(t, got, "routed"))
	for _, r := range routes {
		check(t, "call of "+r.procedure, routed[r.procedure], map[string]any{"name": r.registration, "procedure": r.procedure})
	}
	check(t, "call of a procedure nothing matches", routed[W+".a2.b2.c2.d2.e2"], "wamp.error.no_such_procedure")
	wantDetails := []any{nil} // the exact registration is not told the procedure
	for _, r := range routes[1:] {
		wantDetails = append(wantDetails, r.procedure)
	}
	check(t, "INVOCATION.Details.procedure", at(t, got, "detailsProcedure"), wantDetails)
}

func checkBlackWhite(t *testing.T, got any) {
	check(t, "receivers", got, want(t, `{
		"exclude s1": ["s2", "s3"],
		"eligible s1": ["s1"],
		"eligible s1 s2, exclude s2": ["s1"],
		"eligible none": [],
		"exclude_authid s3": ["s1", "s2"],
		"eligible_authid s2": ["s2"],
		"exclude_authrole anonymous": [],
		"eligible_authrole anonymous": ["s1", "s2", "s3"],
		"eligible_authrole nobody": [],
		"eligible_authrole anonymous, exclude s2": ["s1", "s3"]
	}`))
}

func checkIdentification(t *testing.T, got any) {
	id, authid, authrole := at(t, got, "publisher"), at(t, got, "authid"), at(t, got, "authrole")
	check(t, "authrole", authrole, "anonymous")
	disclosed := func(prefix string) map[string]any {
		return map[string]any{prefix: id, prefix + "_authid": authid, prefix + "_authrole": authrole}
	}
	hidden := func(prefix string) map[string]any {
		return map[string]any{prefix: nil, prefix + "_authid": nil, prefix + "_authrole": nil}
	}
	withDisclose := func(d bool, m map[string]any) map[string]any {
		m["disclose"] = d
		return m
	}
	check(t, "events", at(t, got, "published"),
		[]any{withDisclose(true, disclosed("publisher")), withDisclose(false, hidden("publisher"))})
	check(t, "call with disclose_me", at(t, got, "called", "disclose_me"), disclosed("caller"))
	check(t, "call without disclose_me", at(t, got, "called", "plain"), hidden("caller"))
	check(t, "call of a disclose_caller registration", at(t, got, "called", "disclose_caller"), disclosed("caller"))
}

func checkMeta(t *testing.T, got any) {
	other := at(t, got, "other")
	s := func(path ...string) any { return at(t, got, append([]string{"sessions"}, path...)...) }
	check(t, "wamp.session.count alone", s("alone"), 1.0)
	check(t, "wamp.session.count with another session", s("joined"), 2.0)
	check(t, "wamp.session.count of anonymous sessions", s("filtered"), 2.0)
	check(t, "wamp.session.count of nobody sessions", s("filteredNone"), 0.0)
	check(t, "wamp.session.list", s("list"), s("ids"))
	check(t, "wamp.session.get: session", s("get", "session"), other)
	if id, ok := other.(float64); ok {
		check(t, "wamp.session.get: authid", s("get", "authid"), strconv.FormatFloat(id, 'f', -1, 64))
	}
	check(t, "wamp.session.get: authrole", s("get", "authrole"), "anonymous")
	check(t, "wamp.session.get of no session", s("getMissing", "error"), "wamp.error.no_such_session")
	check(t, "wamp.session.on_leave", s("on_leave"), []any{other, s("get", "authid"), "anonymous"})
	check(t, "wamp.session.count once the other left", s("left"), 1.0)

	reg := at(t, got, "registration", "id")
	r := func(path ...string) any { return at(t, got, append([]string{"registration"}, path...)...) }
	check(t, "wamp.registration.list", r("list"), map[string]any{"exact": []any{reg}, "prefix": []any{}, "wildcard": []any{}})
	check(t, "wamp.registration.lookup", r("lookup"), reg)
	check(t, "wamp.registration.lookup with match prefix", r("lookupPrefix"), nil)
	check(t, "wamp.registration.lookup of nothing", r("lookupMissing"), nil)
	check(t, "wamp.registration.match", r("match"), reg)
	regDetails := map[string]any{"id": reg, "uri": "com.example.interop.meta.proc", "match": "exact", "invoke": "single"}
	checkEntry(t, "wamp.registration.get", r("get"), regDetails)
	check(t, "wamp.registration.get of nothing", r("getMissing", "error"), "wamp.error.no_such_registration")
	check(t, "wamp.registration.list_callees", r("list_callees"), []any{other})
	check(t, "wamp.registration.count_callees", r("count_callees"), 1.0)

	sub := at(t, got, "subscription", "id")
	sb := func(path ...string) any { return at(t, got, append([]string{"subscription"}, path...)...) }
	if exact := list(t, "wamp.subscription.list: exact", sb("list", "exact")); !slices.Contains(exact, sub) {
		t.Errorf("wamp.subscription.list: exact %v lacks %v", exact, sub)
	}
	check(t, "wamp.subscription.list: prefix", sb("list", "prefix"), []any{})
	check(t, "wamp.subscription.lookup", sb("lookup"), sub)
	check(t, "wamp.subscription.match", sb("match"), []any{sub})
	subDetails := map[string]any{"id": sub, "uri": "com.example.interop.meta.topic", "match": "exact"}
	checkEntry(t, "wamp.subscription.get", sb("get"), subDetails)
	check(t, "wamp.subscription.list_subscribers", sb("list_subscribers"), []any{other})
	check(t, "wamp.subscription.count_subscribers", sb("count_subscribers"), 1.0)

	events := list(t, "meta events", at(t, got, "events"))
	wantEvents := []struct {
		topic string
		arg   any // the second argument; a dictionary for on_create
	}{
		{"wamp.registration.on_create", regDetails},
		{"wamp.registration.on_register", reg},
		{"wamp.subscription.on_create", subDetails},
		{"wamp.subscription.on_subscribe", sub},
		{"wamp.registration.on_unregister", reg},
		{"wamp.registration.on_delete", reg},
		{"wamp.subscription.on_unsubscribe", sub},
		{"wamp.subscription.on_delete", sub},
	}
	if len(events) != len(wantEvents) {
		t.Fatalf("meta events: got %s", jsonOf(events))
	}
	for i, w := range wantEvents {
		check(t, fmt.Sprintf("meta event %d: topic", i), at(t, events[i], "topic"), w.topic)
		args := list(t, w.topic+": args", at(t, events[i], "args"))
		if len(args) != 2 {
			t.Errorf("meta event %s: args %s, want 2", w.topic, jsonOf(args))
			continue
		}
		check(t, w.topic+": session", args[0], other)
		if d, ok := w.arg.(map[string]any); ok {
			checkEntry(t, w.topic+": details", args[1], d)
		} else {
			check(t, w.topic+": ID", args[1], w.arg)
		}
	}
}

// checkEntry compares registration or subscription details, whose
// created time it checks only for its form (ISO 8601).
func checkEntry(t *testing.T, what string, got any, wantDetails map[string]any) {
	t.Helper()
	m, ok := got.(map[string]any)
	if !ok {
		t.Errorf("%s: got %s, want details", what, jsonOf(got))
		return
	}
	created, _ := m["created"].(string)
	if _, err := time.Parse(time.RFC3339Nano, created); err != nil {
		t.Errorf("%s: created %q is not an ISO 8601 time: %v", what, m["created"], err)
	}
	rest := map[string]any{}
	for k, v := range m {
		if k != "created" {
			rest[k] = v
		}
	}
	check(t, what, rest, wantDetails)
}

// TestAutobahnSharedRegistration has two Autobahn|JS callees and a Go one
// share a round-robin registration; an Autobahn|JS caller's six calls go
// to each in turn, in the order they registered.
func TestAutobahnSharedRegistration(t *testing.T) {
	requireNode(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			url := startRouter(t)
			ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
			defer cancel()
			peer := startNode(t, "shared", url, ser)
			peer.expect(`{"ready":true}`)
			sess := dialGo(t, ctx, url, ser)
			answer := func(context.Context, *client.Invocation) (*client.Result, error) {
				return &client.Result{Values: client.Values{Args: wamp.List{"go"}}}, nil
			}
			if _, err := sess.Register(ctx, "com.example.interop.shared", answer,
				&client.RegisterOptions{Invoke: "roundrobin"}); err != nil {
				peer.fail("Go registration: %v", err)
			}
			peer.send("registered")
			check(t, "result", peer.result(), want(t, `{
				"answers": ["js-a", "js-b", "go", "js-a", "js-b", "go"],
				"otherPolicy": "wamp.error.procedure_exists_with_different_invocation_policy",
				"single": "wamp.error.procedure_exists_with_different_invocation_policy"
			}`))
		})
	}
}

// TestAutobahnSessionMetaEvents has an Autobahn|JS session watch a Go
// client join and leave through wamp.session.on_join and on_leave, and
// count the sessions meanwhile.
func TestAutobahnSessionMetaEvents(t *testing.T) {
	requireNode(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			url := startRouter(t)
			ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
			defer cancel()
			peer := startNode(t, "meta_events", url, ser)
			peer.expect(`{"ready":true}`)
			sess := dialGo(t, ctx, url, ser)
			id := float64(sess.ID())
			peer.send(strconv.FormatUint(uint64(sess.ID()), 10))
			joined := peer.nextJSON()
			check(t, "wamp.session.count after the Go client joined", at(t, joined, "count"), 2.0)
			check(t, "on_join: session", at(t, joined, "on_join", "session"), id)
			check(t, "on_join: authid", at(t, joined, "on_join", "authid"), sess.Details()["authid"])
			check(t, "on_join: authrole", at(t, joined, "on_join", "authrole"), "anonymous")
			check(t, "on_join: authmethod", at(t, joined, "on_join", "authmethod"), "anonymous")
			if _, ok := at(t, joined, "on_join", "authprovider").(string); !ok {
				t.Errorf("on_join: authprovider is not a string: %s", jsonOf(joined))
			}
			if err := sess.Close(ctx); err != nil {
				peer.fail("close the Go session: %v", err)
			}
			got := peer.result()
			check(t, "on_leave", at(t, got, "on_leave"), []any{id, sess.Details()["authid"], "anonymous"})
			check(t, "wamp.session.count after the Go client left", at(t, got, "count"), 1.0)
		})
	}
}

// TestAutobahnTestament has an Autobahn|JS session leave testaments, one
// of which it flushes, then be killed with SIGKILL: a Go subscriber gets
// the others, detached scope first, and wamp.session.on_leave.
func TestAutobahnTestament(t *testing.T) {
	requireNode(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			url := startRouter(t)
			ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
			defer cancel()
			sess := dialGo(t, ctx, url, ser)
			type event struct {
				topic  string
				values client.Values
			}
			events := make(chan event, 10)
			for _, topic := range []wamp.URI{"com.example.interop.testament", "wamp.session.on_leave"} {
				h := func(_ context.Context, e *client.Event) { events <- event{string(topic), e.Values} }
				if _, err := sess.Subscribe(ctx, topic, h, nil); err != nil {
					t.Fatal(err)
				}
			}
			peer := startNode(t, "testament", url, ser)
			ready := peer.nextJSON()
			victim := at(t, ready, "session")
			peer.kill()

			var testaments []any
			var left any
			timeout := time.After(eventTimeout)
			for len(testaments) < 2 || left == nil {
				select {
				case e := <-events:
					if e.topic == "wamp.session.on_leave" {
						if len(e.values.Args) > 0 && normalize(t, e.values.Args[0]) == victim {
							left = values(t, e.values)
						}
						continue
					}
					testaments = append(testaments, values(t, e.values))
				case <-timeout:
					t.Fatalf("timed out: testaments %s, on_leave %s", jsonOf(testaments), jsonOf(left))
				}
			}
			check(t, "testaments", testaments, want(t, fmt.Sprintf(`[
				{"args": ["detached"], "kwargs": {"scope": "detached"}},
				{"args": %s, "kwargs": %s}
			]`, wantArgs, wantKwargs)))
			check(t, "on_leave session", at(t, left, "args", "0"), victim)
		})
	}
}

// TestGoAndAutobahnProgress has Autobahn|JS and a Go client call each
// other with and without progressive results, each on a serializer of
// its own.
func TestGoAndAutobahnProgress(t *testing.T) {
	requireNode(t)
	for i, jsSer := range serializers {
		goSer := serializers[(i+1)%len(serializers)]
		t.Run("js="+jsSer+"/go="+goSer, func(t *testing.T) {
			t.Parallel()
			url := startRouter(t)
			ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
			defer cancel()
			sess := dialGo(t, ctx, url, goSer)
			var mu sync.Mutex
			var goInvocations []any
			count := func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
				mu.Lock()
				goInvocations = append(goInvocations, map[string]any{"progress": inv.WantsProgress()})
				mu.Unlock()
				if inv.WantsProgress() {
					for i := 1; i <= 3; i++ {
						if err := inv.Progress(ctx, wamp.List{i}, wamp.Dict{"chunk": i}); err != nil {
							return nil, err
						}
					}
				}
				return &client.Result{Values: client.Values{Args: wamp.List{"final"}, Kwargs: wamp.Dict{"chunks": 3}}}, nil
			}
			if _, err := sess.Register(ctx, "com.example.interop.go.progress", count, nil); err != nil {
				t.Fatal(err)
			}
			peer := startNode(t, "progress_peer", url, jsSer)
			peer.expect(`{"ready":true}`)

			call := func(progress bool) any {
				var got []any
				var opts client.CallOptions
				if progress {
					opts.Progress = func(r *client.Result) {
						if !r.Progressive() {
							t.Errorf("a final result handed to Progress: %v", r.Details)
						}
						got = append(got, map[string]any{"progress": values(t, r.Values)})
					}
				}
				res, err := sess.Call(ctx, "com.example.interop.js.progress", nil, nil, &opts)
				if err != nil {
					peer.fail("Go's call of com.example.interop.js.progress: %v", err)
				}
				if res.Progressive() {
					t.Errorf("final result flagged progressive: %v", res.Details)
				}
				return append(got, map[string]any{"result": values(t, res.Values)})
			}
			goWithProgress, goWithout := call(true), call(false)
			peer.send("done")
			got := peer.result()

			// Autobahn|JS calling the Go callee (which announces
			// call_canceling) gets progressive results; Go calling the
			// Autobahn|JS callee (which does not) gets the final one only.
			checkProgress(t, got, true, false)
			mu.Lock()
			defer mu.Unlock()
			checkProgress(t, map[string]any{
				"withProgress": goWithProgress,
				"without":      goWithout,
				"invocations":  goInvocations,
			}, false, true)
		})
	}
}

// TestGoAndAutobahnCancel has an Autobahn|JS caller time out and cancel
// (kill mode) calls of a Go callee, which announces call_canceling: its
// handler's ctx ends with the router's INTERRUPT, and the caller gets
// wamp.error.timeout, then the callee's wamp.error.canceled.
func TestGoAndAutobahnCancel(t *testing.T) {
	requireNode(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			url := startRouter(t)
			ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
			defer cancel()
			sess := dialGo(t, ctx, url, ser)
			causes := make(chan error, 2)
			wait := func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
				// Even if the call has already timed out: the script waits
				// for the event.
				if _, err := sess.Publish(context.WithoutCancel(ctx), "com.example.interop.go.started", inv.Args, nil, nil); err != nil {
					return nil, err
				}
				<-ctx.Done()
				causes <- context.Cause(ctx)
				return nil, context.Cause(ctx)
			}
			if _, err := sess.Register(ctx, "com.example.interop.go.wait", wait, nil); err != nil {
				t.Fatal(err)
			}
			peer := startNode(t, "cancel_peer", url, ser)
			check(t, "errors the Autobahn|JS caller got", peer.result(), want(t,
				`{"timeout":"wamp.error.timeout","kill":"wamp.error.canceled"}`))
			timeout := time.After(eventTimeout)
			for _, reason := range []string{"wamp.error.timeout", "wamp.error.canceled"} {
				select {
				case err := <-causes:
					if !errors.Is(err, wamp.ErrCanceled) || !strings.Contains(err.Error(), reason) {
						t.Errorf("the Go handler's ctx ended with %v, want an interruption for %s", err, reason)
					}
				case <-timeout:
					t.Fatalf("the Go handler was not interrupted (%s)", reason)
				}
			}
		})
	}
}

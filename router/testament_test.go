package router

import (
	"reflect"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// addTestament leaves a testament and checks that nothing is returned.
func (p *peer) addTestament(topic wamp.URI, args wamp.List, kwargs wamp.Dict, options wamp.Dict) {
	p.t.Helper()
	if res := p.meta("wamp.session.add_testament", wamp.List{string(topic), args, kwargs}, options); len(res) != 0 {
		p.t.Fatalf("add_testament returned %v, want nothing", res)
	}
}

// flushTestaments flushes a scope ("" for the default) and returns how
// many testaments went.
func (p *peer) flushTestaments(scope string) int64 {
	p.t.Helper()
	var kwargs wamp.Dict
	if scope != "" {
		kwargs = wamp.Dict{"scope": scope}
	}
	return toInt(p.t, p.meta("wamp.session.flush_testaments", nil, kwargs)[0])
}

// TestTestamentPublishedWhenSessionEnds: however a session ends, its
// testament is published, as the router, with its payload.
func TestTestamentPublishedWhenSessionEnds(t *testing.T) {
	ends := map[string]func(h *harness, p *peer){
		"cut connection": func(_ *harness, p *peer) { p.p.Close() },
		"goodbye":        func(_ *harness, p *peer) { p.leaveCleanly() },
		"killed": func(h *harness, p *peer) {
			h.enter("json").meta("wamp.session.kill", wamp.List{p.id}, nil)
			expect[*wamp.Goodbye](p)
			p.leaveCleanlyAfterGoodbye()
		},
	}
	for name, end := range ends {
		for _, kind := range kinds {
			t.Run(name+"/"+kind, func(t *testing.T) {
				h := newHarness(t, Config{})
				watcher := h.enter("msgpack")
				sub := watcher.subscribe("com.example.will")
				p := h.enter(kind)
				p.addTestament("com.example.will", wamp.List{"gone", kind}, wamp.Dict{"who": kind}, nil)
				watcher.quiet() // nothing until the session ends

				end(h, p)
				ev := expect[*wamp.Event](watcher)
				if ev.Subscription != sub || !reflect.DeepEqual(ev.Args, wamp.List{"gone", kind}) || ev.Kwargs["who"] != kind {
					t.Fatalf("EVENT %d %v %v", ev.Subscription, ev.Args, ev.Kwargs)
				}
				if _, has := ev.Details["publisher"]; has {
					t.Errorf("the router's event discloses a publisher: %v", ev.Details)
				}
				watcher.quiet() // once
			})
		}
	}
}

// TestTestamentScopes: without session resumption both scopes are
// published when the session ends, detached first, each in the order
// added, and before wamp.session.on_leave.
func TestTestamentScopes(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.enter("json")
	will := watcher.subscribe("com.example.will")
	onLeave := watcher.subscribe("wamp.session.on_leave")
	p := h.enter("cbor")
	p.addTestament("com.example.will", wamp.List{"destroyed-1"}, nil, nil)
	p.addTestament("com.example.will", wamp.List{"detached-1"}, nil, wamp.Dict{"scope": "detached"})
	p.addTestament("com.example.will", wamp.List{"destroyed-2"}, nil, wamp.Dict{"scope": "destroyed"})
	p.addTestament("com.example.will", wamp.List{"detached-2"}, nil, wamp.Dict{"scope": "detached", "publish_options": nil})
	p.p.Close()
	for _, want := range []string{"detached-1", "detached-2", "destroyed-1", "destroyed-2"} {
		ev := expect[*wamp.Event](watcher)
		if ev.Subscription != will || len(ev.Args) != 1 || ev.Args[0] != want {
			t.Fatalf("EVENT %d %v, want testament %s", ev.Subscription, ev.Args, want)
		}
	}
	if ev := expect[*wamp.Event](watcher); ev.Subscription != onLeave {
		t.Fatalf("EVENT %d %v, want on_leave", ev.Subscription, ev.Args)
	}
	watcher.quiet()
}

func TestTestamentFlush(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.enter("json")
	watcher.subscribe("t")
	for _, kind := range kinds {
		p := h.enter(kind)
		p.addTestament("t", wamp.List{"a"}, nil, nil)
		p.addTestament("t", wamp.List{"b"}, nil, wamp.Dict{"scope": "destroyed"})
		p.addTestament("t", wamp.List{"c"}, nil, wamp.Dict{"scope": "detached"})
		if n := p.flushTestaments(""); n != 2 {
			t.Errorf("%s: flushed %d destroyed testaments, want 2", kind, n)
		}
		if n := p.flushTestaments("detached"); n != 1 {
			t.Errorf("%s: flushed %d detached testaments, want 1", kind, n)
		}
		if n := p.flushTestaments("destroyed"); n != 0 {
			t.Errorf("%s: flushed %d again", kind, n)
		}
		p.addTestament("t", wamp.List{"kept"}, nil, nil)
		if n := p.flushTestaments("detached"); n != 0 {
			t.Errorf("%s: flushing detached took %d destroyed testaments", kind, n)
		}
		p.metaFails(wamp.URIInvalidArgument, "wamp.session.flush_testaments", nil, wamp.Dict{"scope": "forever"})
		p.metaFails(wamp.URIInvalidArgument, "wamp.session.flush_testaments", nil, wamp.Dict{"scope": int64(1)})
		p.leaveCleanly()
		if ev := expect[*wamp.Event](watcher); len(ev.Args) != 1 || ev.Args[0] != "kept" {
			t.Fatalf("%s: EVENT %v, want only the testament left", kind, ev.Args)
		}
		watcher.quiet()
	}
}

// TestTestamentsAreTheSessionsOwn: a session's testaments are published
// when it ends, not when another does.
func TestTestamentsAreTheSessionsOwn(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.enter("json")
	watcher.subscribe("t")
	a, b := h.enter("local"), h.enter("msgpack")
	a.addTestament("t", wamp.List{"a"}, nil, nil)
	b.addTestament("t", wamp.List{"b"}, nil, nil)
	b.leaveCleanly()
	if ev := expect[*wamp.Event](watcher); ev.Args[0] != "b" {
		t.Fatalf("EVENT %v, want b's testament", ev.Args)
	}
	watcher.quiet()
	a.p.Close()
	if ev := expect[*wamp.Event](watcher); ev.Args[0] != "a" {
		t.Fatalf("EVENT %v, want a's testament", ev.Args)
	}
}

func TestTestamentPublishOptions(t *testing.T) {
	h := newHarness(t, Config{})
	in, out := h.enter("json"), h.enter("cbor")
	in.subscribe("t")
	out.subscribe("t")
	p := h.enter("msgpack")
	p.addTestament("t", wamp.List{"for some"}, nil, wamp.Dict{"publish_options": wamp.Dict{
		"exclude":     wamp.List{out.id},
		"acknowledge": true, // ignored: nobody is left to acknowledge to
	}})
	p.p.Close()
	if ev := expect[*wamp.Event](in); ev.Args[0] != "for some" {
		t.Fatalf("EVENT %v", ev.Args)
	}
	out.quiet()
	in.quiet()

	// Options the broker would refuse are refused when the testament is
	// added.
	q := h.enter("json")
	q.metaFails(wamp.URIInvalidArgument, "wamp.session.add_testament", wamp.List{"t", wamp.List{}, wamp.Dict{}},
		wamp.Dict{"publish_options": wamp.Dict{"exclude": "everyone"}})
}

func TestTestamentErrors(t *testing.T) {
	h := newHarness(t, Config{})
	watcher := h.enter("json")
	watcher.subscribe("t")
	p := h.enter("cbor")
	for _, tc := range []struct {
		name   string
		args   wamp.List
		kwargs wamp.Dict
		uri    wamp.URI
	}{
		{"no topic", nil, nil, wamp.URIInvalidArgument},
		{"topic not a string", wamp.List{int64(5)}, nil, wamp.URIInvalidArgument},
		{"invalid topic", wamp.List{"bad topic"}, nil, wamp.URIInvalidURI},
		{"empty topic", wamp.List{""}, nil, wamp.URIInvalidURI},
		{"reserved topic", wamp.List{"wamp.session.on_leave", wamp.List{}}, nil, wamp.URIInvalidURI},
		{"args not a list", wamp.List{"t", "x"}, nil, wamp.URIInvalidArgument},
		{"kwargs not a dict", wamp.List{"t", wamp.List{}, wamp.List{}}, nil, wamp.URIInvalidArgument},
		{"options not a dict", wamp.List{"t"}, wamp.Dict{"publish_options": "x"}, wamp.URIInvalidArgument},
		{"unknown scope", wamp.List{"t"}, wamp.Dict{"scope": "forever"}, wamp.URIInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.metaFails(tc.uri, "wamp.session.add_testament", tc.args, tc.kwargs)
		})
	}
	// None was stored; a testament without args or kwargs is fine.
	p.addTestament("t", nil, nil, nil)
	if n := p.flushTestaments(""); n != 1 {
		t.Errorf("%d testaments stored, want 1", n)
	}
	p.leaveCleanly()
	watcher.quiet()
}

func TestTestamentsAreBounded(t *testing.T) {
	h := newHarness(t, Config{})
	p := h.enter("local")
	for range maxTestaments {
		p.addTestament("t", nil, nil, nil)
	}
	p.metaFails(wamp.URIInvalidArgument, "wamp.session.add_testament", wamp.List{"t"}, nil)
	// The other scope has room of its own, and flushing makes room again.
	p.addTestament("t", nil, nil, wamp.Dict{"scope": "detached"})
	if n := p.flushTestaments(""); n != maxTestaments {
		t.Fatalf("flushed %d, want %d", n, maxTestaments)
	}
	p.addTestament("t", nil, nil, nil)
}

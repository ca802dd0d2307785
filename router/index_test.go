package router

import (
	"slices"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

func buildIndex(t *testing.T, entries ...*entry) *uriIndex {
	t.Helper()
	ix := newURIIndex()
	for _, e := range entries {
		ix.add(e)
	}
	return ix
}

// The specification's own example for pattern-based registrations.
func TestIndexBestFollowsSpecPrecedence(t *testing.T) {
	now := time.Now()
	regs := []*entry{
		newEntry(1, "a1.b2.c3.d4.e55", wamp.MatchExact, now),
		newEntry(2, "a1.b2.c3", wamp.MatchPrefix, now),
		newEntry(3, "a1.b2.c3.d4", wamp.MatchPrefix, now),
		newEntry(4, "a1.b2..d4.e5", wamp.MatchWildcard, now),
		newEntry(5, "a1.b2.c3..e5", wamp.MatchWildcard, now),
		newEntry(6, "a1.b2..d4.e5..g7", wamp.MatchWildcard, now),
		newEntry(7, "a1.b2..d4..f6.g7", wamp.MatchWildcard, now),
	}
	ix := buildIndex(t, regs...)
	for _, tc := range []struct {
		call wamp.URI
		want wamp.ID
	}{
		{"a1.b2.c3.d4.e55", 1},
		{"a1.b2.c3.d98.e74", 2},
		{"a1.b2.c3.d4.e325", 3},
		{"a1.b2.c55.d4.e5", 4},
		{"a1.b2.c3.d4.e5", 3}, // the prefix a1.b2.c3.d4 outranks every wildcard
		{"a1.b2.c88.d4.e5.f6.g7", 6},
		{"a2.b2.c2.d2.e2", 0},
	} {
		got := ix.best(tc.call)
		var id wamp.ID
		if got != nil {
			id = got.id
		}
		if id != tc.want {
			t.Errorf("best(%s) = %d, want %d", tc.call, id, tc.want)
		}
	}

	// Without the prefixes, the two wildcards compete: the longer first
	// run of concrete components wins.
	ix.remove(regs[1])
	ix.remove(regs[2])
	if got := ix.best("a1.b2.c3.d4.e5"); got == nil || got.id != 5 {
		t.Errorf("best(a1.b2.c3.d4.e5) without prefixes = %v, want 5", got)
	}
}

func TestIndexEachFindsEveryMatch(t *testing.T) {
	now := time.Now()
	ix := buildIndex(t,
		newEntry(1, "com.app.chat.room1", wamp.MatchExact, now),
		newEntry(2, "com.app.chat", wamp.MatchPrefix, now),
		newEntry(3, "com.app", wamp.MatchPrefix, now),
		newEntry(4, "com..chat.", wamp.MatchWildcard, now),
		newEntry(5, "com...room1", wamp.MatchWildcard, now),
		newEntry(6, "com.app.chat.room2", wamp.MatchExact, now),
		newEntry(7, "com.app.chat.room1.x", wamp.MatchPrefix, now),
		newEntry(8, "com..chat", wamp.MatchWildcard, now),
	)
	if got, want := ix.matching("com.app.chat.room1"), []wamp.ID{1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("matching = %v, want %v", got, want)
	}
	if got, want := ix.matching("com.app.chat-room"), []wamp.ID{2, 3}; !slices.Equal(got, want) {
		t.Errorf("string prefixes match across components: matching = %v, want %v", got, want)
	}
	if got := ix.matching("org.other"); len(got) != 0 {
		t.Errorf("matching(org.other) = %v, want none", got)
	}
}

func TestIndexRemoveForgetsEverything(t *testing.T) {
	now := time.Now()
	a := newEntry(1, "a.b", wamp.MatchPrefix, now)
	b := newEntry(2, "a..c", wamp.MatchWildcard, now)
	c := newEntry(3, "a.b.c", wamp.MatchExact, now)
	ix := buildIndex(t, a, b, c)
	for _, e := range []*entry{a, b, c} {
		ix.remove(e)
		ix.remove(e) // twice is harmless
	}
	if ix.len() != 0 || len(ix.prefixLens) != 0 || len(ix.wildByLen) != 0 || ix.best("a.b.c") != nil {
		t.Fatalf("index not empty after removing everything: %+v", ix)
	}
}

func TestWildcardMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, uri string
		want         bool
	}{
		{"a..c", "a.b.c", true},
		{"a..c", "a.b.d", false},
		{"a..c", "a.b.c.d", false},
		{"a..c", "a.c", false},
		{"..", "x.y.z", true},
		{"a.", "a.b", true},
		{".b", "a.b", true},
		{"a.b", "a.b", true},
	} {
		e := newEntry(1, wamp.URI(tc.pattern), wamp.MatchWildcard, time.Time{})
		if got := e.matches(wamp.URI(tc.uri)); got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pattern, tc.uri, got, tc.want)
		}
	}
}

func TestEntryMembersCopyOnWrite(t *testing.T) {
	e := newEntry(1, "t", wamp.MatchExact, time.Time{})
	s1, s2 := &session{id: 1}, &session{id: 2}
	e.attach(s1)
	before := e.sessions()
	e.attach(s2)
	if len(before) != 1 || len(e.sessions()) != 2 || !e.has(s2) {
		t.Fatalf("attach changed a published slice or lost a member: before %v, now %v", before, e.sessions())
	}
	if n := e.detach(s1); n != 1 || e.has(s1) || !slices.Equal(e.memberIDs(), []wamp.ID{2}) {
		t.Fatalf("detach: left %d, members %v", n, e.memberIDs())
	}
}

func TestMatchPolicyOption(t *testing.T) {
	for _, tc := range []struct {
		opts wamp.Dict
		want wamp.MatchPolicy
		ok   bool
	}{
		{wamp.Dict{}, wamp.MatchExact, true},
		{wamp.Dict{"match": "exact"}, wamp.MatchExact, true},
		{wamp.Dict{"match": "prefix"}, wamp.MatchPrefix, true},
		{wamp.Dict{"match": "wildcard"}, wamp.MatchWildcard, true},
		{wamp.Dict{"match": "regex"}, "", false},
		{wamp.Dict{"match": 3}, "", false},
	} {
		got, ok := matchPolicy(tc.opts)
		if got != tc.want || ok != tc.ok {
			t.Errorf("matchPolicy(%v) = %q, %v; want %q, %v", tc.opts, got, ok, tc.want, tc.ok)
		}
	}
}

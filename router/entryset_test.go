package router

import (
	"slices"
	"testing"

	"github.com/junction-run/junction/wamp"
)

// TestEntrySet takes a set from a list to an index and back, against a
// map kept beside it.
func TestEntrySet(t *testing.T) {
	var s *entrySet
	if s.len() != 0 || s.get(1) != nil || s.entries() != nil {
		t.Fatal("a nil set is not empty")
	}
	s = new(entrySet)
	want := map[wamp.ID]*entry{}
	same := func(step string) {
		t.Helper()
		if s.len() != len(want) {
			t.Fatalf("%s: len %d, want %d", step, s.len(), len(want))
		}
		for id, e := range want {
			if s.get(id) != e {
				t.Fatalf("%s: get(%d) is not the entry added", step, id)
			}
		}
		if s.get(999) != nil {
			t.Fatalf("%s: get of an ID never added", step)
		}
		if got := s.entries(); len(got) != len(want) || slices.ContainsFunc(got, func(e *entry) bool { return want[e.id] != e }) {
			t.Fatalf("%s: entries %d, want %d", step, len(got), len(want))
		}
		if s.at != nil && len(s.list) <= smallEntrySet/2 {
			t.Fatalf("%s: index kept for %d entries", step, len(s.list))
		}
		for id, i := range s.at {
			if s.list[i].id != id {
				t.Fatalf("%s: index says %d is at %d, where %d is", step, id, i, s.list[i].id)
			}
		}
	}
	const n = 3 * smallEntrySet
	for i := 1; i <= n; i++ {
		e := &entry{id: wamp.ID(i)}
		if !s.add(e) {
			t.Fatalf("add(%d) refused", i)
		}
		if s.add(&entry{id: wamp.ID(i)}) {
			t.Fatalf("add(%d) twice accepted", i)
		}
		want[e.id] = e
		same("adding")
	}
	if s.at == nil {
		t.Fatalf("no index at %d entries", n)
	}
	// Remove from the middle, the end and the start, in turn.
	for len(want) > 0 {
		ids := s.entries()
		victim := ids[len(want)%3*(len(ids)-1)/2].id
		s.remove(victim)
		s.remove(victim) // gone already: no change
		delete(want, victim)
		same("removing")
	}
	if s.at != nil {
		t.Fatal("empty set keeps its index")
	}
}

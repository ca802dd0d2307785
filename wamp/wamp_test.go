package wamp

import (
	"errors"
	"fmt"
	"testing"
)

func TestURIRules(t *testing.T) {
	for _, tc := range []struct {
		uri           URI
		loose, strict bool
		wildcardLoose bool
		prefixLoose   bool
	}{
		{"com.example.topic", true, true, true, true},
		{"com.example.Topic-1", true, false, true, true},
		{"realm1", true, true, true, true},
		{"", false, false, false, false},
		{"com..topic", false, false, true, false},
		{".com", false, false, true, false},
		{"com.", false, false, true, true}, // a prefix may end with a dot
		{"com..", false, false, true, false},
		{".", false, false, true, false},
		{"com.exa mple", false, false, false, false},
		{"com.ex#ample", false, false, false, false},
		{"com.ex\tample", false, false, false, false},
		{"com.é", true, false, true, true},
	} {
		if got := tc.uri.Valid(false); got != tc.loose {
			t.Errorf("%q.Valid(loose) = %v", tc.uri, got)
		}
		if got := tc.uri.Valid(true); got != tc.strict {
			t.Errorf("%q.Valid(strict) = %v", tc.uri, got)
		}
		if got := tc.uri.ValidPattern(false, MatchWildcard); got != tc.wildcardLoose {
			t.Errorf("%q.ValidPattern(wildcard) = %v", tc.uri, got)
		}
		if got := tc.uri.ValidPattern(false, MatchPrefix); got != tc.prefixLoose {
			t.Errorf("%q.ValidPattern(prefix) = %v", tc.uri, got)
		}
	}
}

func TestSequenceWrapsWithinRange(t *testing.T) {
	var s Sequence
	if s.Next() != 1 || s.Next() != 2 {
		t.Fatal("sequence does not start at 1")
	}
	s.n.Store(MaxID - 1)
	if got := s.Next(); got != MaxID {
		t.Fatalf("got %d, want MaxID", got)
	}
	if got := s.Next(); got != 1 {
		t.Fatalf("after MaxID got %d, want 1", got)
	}
}

func TestGlobalIDRange(t *testing.T) {
	seen := map[ID]bool{}
	for range 10000 {
		id := GlobalID()
		if id < 1 || id > MaxID {
			t.Fatalf("GlobalID() = %d out of [1, 2^53]", id)
		}
		seen[id] = true
	}
	if len(seen) < 9990 {
		t.Fatalf("only %d distinct IDs in 10000 draws", len(seen))
	}
}

func TestErrorIsComparesURIs(t *testing.T) {
	err := fmt.Errorf("calling: %w", &Error{URI: URINoSuchProcedure, Args: List{"no callee"}})
	if !errors.Is(err, ErrNoSuchProcedure) {
		t.Fatal("errors.Is does not match on URI")
	}
	if errors.Is(err, ErrCanceled) {
		t.Fatal("errors.Is matched another URI")
	}
	var we *Error
	if !errors.As(err, &we) || we.Args[0] != "no callee" {
		t.Fatal("errors.As lost the args")
	}
	if got := err.Error(); got != "calling: wamp.error.no_such_procedure: no callee" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestAsID(t *testing.T) {
	for _, tc := range []struct {
		v  any
		id ID
		ok bool
	}{
		{int64(5), 5, true}, {uint64(MaxID), MaxID, true}, {uint64(MaxID + 1), 0, false},
		{float64(7), 7, true}, {7.5, 0, false}, {int64(-1), 0, false}, {"7", 0, false},
	} {
		id, ok := AsID(tc.v)
		if id != tc.id || ok != tc.ok {
			t.Errorf("AsID(%#v) = %d, %v", tc.v, id, ok)
		}
	}
}

func TestBuildArityAndKinds(t *testing.T) {
	_, err := Build(TypeSubscribed, []any{int64(1)}, 2, RawPayload{})
	var de *DecodeError
	if !errors.As(err, &de) || de.Type != TypeSubscribed || de.Error() != "wamp: malformed SUBSCRIBED: has 2 elements, want 3" {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, ErrMalformed) {
		t.Fatal("DecodeError does not wrap ErrMalformed")
	}
	m, err := Build(TypeUnsubscribed, []any{int64(0), Dict{"reason": "x"}}, 3, RawPayload{})
	if err != nil || m.(*Unsubscribed).Details["reason"] != "x" {
		t.Fatalf("router-initiated UNSUBSCRIBED: %v %v", m, err)
	}
}

func TestTypeNames(t *testing.T) {
	if TypeInvocation.String() != "INVOCATION" || Type(99).String() != "UNKNOWN(99)" || Type(99).Known() {
		t.Fatal("type names")
	}
}

// The arity table marks exactly the known types: Build trusts it to.
func TestArityCoversKnownTypes(t *testing.T) {
	for code := range 256 {
		typ := Type(code)
		if known := arity[typ][1] != 0; known != typ.Known() {
			t.Errorf("%s: in arity table %v, Known %v", typ, known, typ.Known())
		}
	}
}

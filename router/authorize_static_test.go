package router

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// uriUniverse returns every URI of 1 to 4 components drawn from comps.
func uriUniverse(comps []string) []wamp.URI {
	var all []wamp.URI
	var grow func(prefix string, n int)
	grow = func(prefix string, n int) {
		for _, c := range comps {
			u := c
			if prefix != "" {
				u = prefix + "." + c
			}
			all = append(all, wamp.URI(u))
			if n < 4 {
				grow(u, n+1)
			}
		}
	}
	grow("", 1)
	return all
}

// randomPattern returns a random URI pattern of 1 to 4 components drawn
// from comps, empty components allowed for a wildcard, a trailing dot
// for a prefix.
func randomPattern(rng *rand.Rand, comps []string, match wamp.MatchPolicy) wamp.URI {
	n := 1 + rng.IntN(4)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = comps[rng.IntN(len(comps))]
		if match == wamp.MatchWildcard && rng.IntN(3) == 0 {
			parts[i] = ""
		}
	}
	u := strings.Join(parts, ".")
	if match == wamp.MatchPrefix && rng.IntN(2) == 0 {
		u += "."
	}
	return wamp.URI(u)
}

func randomRole(rng *rand.Rand, comps []string) Role {
	r := Role{Name: "r"}
	seen := map[string]bool{}
	for range 1 + rng.IntN(8) {
		match := []string{"", "prefix", "wildcard"}[rng.IntN(3)]
		p := Permission{Match: match, URI: string(randomPattern(rng, comps, permissionMatch(Permission{Match: match}))),
			Subscribe: rng.IntN(3) != 0, Call: rng.IntN(2) == 0}
		if !wamp.URI(p.URI).ValidPattern(false, permissionMatch(p)) || seen[match+" "+p.URI] {
			continue
		}
		seen[match+" "+p.URI] = true
		r.Permissions = append(r.Permissions, p)
	}
	return r
}

// TestRoleMatcherBest checks that the role matcher's lookup finds the
// permission the index's own lookup finds.
func TestRoleMatcherBest(t *testing.T) {
	comps := []string{"a", "b", "ab"}
	rng := rand.New(rand.NewPCG(1, 2))
	universe := uriUniverse(comps)
	for range 300 {
		r := randomRole(rng, comps)
		m := newRoleMatcher(r)
		for _, u := range universe {
			if got, want := m.best(u), m.ix.best(u); got != want {
				t.Fatalf("role %+v, uri %s: best %v, index best %v", r.Permissions, u, got, want)
			}
		}
	}
}

// TestAllowsPatternSound checks, on random roles and patterns, that a
// pattern subscription allowed reaches only URIs an exact subscription
// could have: allowsPattern never grants more than the permissions do.
func TestAllowsPatternSound(t *testing.T) {
	comps := []string{"a", "b", "ab"}
	rng := rand.New(rand.NewPCG(3, 4))
	universe := uriUniverse(comps)
	allowed := 0
	for range 3000 {
		r := randomRole(rng, comps)
		m := newRoleMatcher(r)
		match := []wamp.MatchPolicy{wamp.MatchPrefix, wamp.MatchWildcard}[rng.IntN(2)]
		pat := newEntry(0, randomPattern(rng, comps, match), match, time.Time{})
		if !pat.uri.ValidPattern(false, match) || !m.allowsPattern(pat, actionSubscribe) {
			continue
		}
		allowed++
		for _, u := range universe {
			if !pat.matches(u) {
				continue
			}
			if _, ok := m.decide(actionSubscribe, u, wamp.MatchExact); !ok {
				t.Fatalf("role %+v: pattern %s (%s) allowed, but it reaches %s, which is not", r.Permissions, pat.uri, match, u)
			}
		}
	}
	t.Logf("%d patterns allowed", allowed)
	if allowed < 100 {
		t.Errorf("only %d patterns allowed: the test checks too little", allowed)
	}
}

package router

import (
	"slices"
	"strings"
	"time"

	"github.com/junction-run/junction/wamp"
)

// roleMatcher is one role's permissions compiled for matching. They are
// entries of a uriIndex, whose IDs are their positions in
// Role.Permissions plus one, so that the permission deciding an action
// on a URI is found as the dealer finds the registration a call goes to:
// the exact one, else the longest prefix, else the best-ranked wildcard
// (ties between wildcards go to the permission listed first). It is
// built with the realm and never modified: safe for concurrent use.
type roleMatcher struct {
	ix     *uriIndex
	grants []grant // by entry ID - 1
	// prefixLens are the lengths of the prefix permissions, longest
	// first: the index never changes, so best can stop at the first
	// prefix found instead of trying every length.
	prefixLens []int
}

// grant is what one permission grants.
type grant struct {
	actions actionSet
	// disclose holds the actions (call, publish) whose caller or
	// publisher the router discloses whether or not it asked.
	disclose actionSet
	// refuseDisclose refuses a disclose_me request (AllowDisclose false).
	refuseDisclose bool
}

// actionSet holds actions, one bit each.
type actionSet uint8

func (s actionSet) has(a action) bool { return s&(1<<a) != 0 }

func newGrant(p Permission) grant {
	var g grant
	for a, on := range [numActions]bool{actionPublish: p.Publish, actionSubscribe: p.Subscribe,
		actionCall: p.Call, actionRegister: p.Register} {
		if on {
			g.actions |= 1 << a
		}
	}
	if p.DiscloseCaller {
		g.disclose |= 1 << actionCall
	}
	if p.DisclosePublisher {
		g.disclose |= 1 << actionPublish
	}
	g.refuseDisclose = p.AllowDisclose != nil && !*p.AllowDisclose
	return g
}

// newRoleMatcher compiles r, whose permissions validateRoles accepted:
// no two have the same URI and match policy.
func newRoleMatcher(r Role) *roleMatcher {
	m := &roleMatcher{ix: newURIIndex(), grants: make([]grant, len(r.Permissions))}
	for i, p := range r.Permissions {
		m.ix.add(newEntry(wamp.ID(i+1), wamp.URI(p.URI), permissionMatch(p), time.Time{}))
		m.grants[i] = newGrant(p)
	}
	for n := range m.ix.prefixLens {
		m.prefixLens = append(m.prefixLens, n)
	}
	slices.SortFunc(m.prefixLens, func(a, b int) int { return b - a })
	return m
}

// best returns the permission deciding on uri, as uriIndex.best does:
// the exact one, else the longest matching prefix, else the best-ranked
// matching wildcard.
func (m *roleMatcher) best(uri wamp.URI) *entry {
	if e := m.ix.exact[uri]; e != nil {
		return e
	}
	for _, n := range m.prefixLens {
		if n <= len(uri) {
			if e := m.ix.prefix[uri[:n]]; e != nil {
				return e
			}
		}
	}
	var found *entry
	if len(m.ix.wildByLen) > 0 {
		for _, e := range m.ix.wildByLen[strings.Count(string(uri), ".")+1] {
			if wildcardMatches(e.parts, string(uri)) && (found == nil || wildcardBefore(e, found)) {
				found = e
			}
		}
	}
	return found
}

// permissionMatch returns p's match policy, exact by default.
func permissionMatch(p Permission) wamp.MatchPolicy {
	if p.Match == "" {
		return wamp.MatchExact
	}
	return wamp.MatchPolicy(p.Match)
}

// decide returns the verdict of the role's permissions on action a on
// uri with match policy match, and whether a permission granted it. It
// allocates nothing for an exact URI, the common case.
func (m *roleMatcher) decide(a action, uri wamp.URI, match wamp.MatchPolicy) (verdict, bool) {
	if match != wamp.MatchExact {
		if !m.allowsPattern(newEntry(0, uri, match, time.Time{}), a) {
			return verdict{}, false
		}
		return verdict{allow: true}, true
	}
	e := m.best(uri)
	if e == nil {
		return verdict{}, false
	}
	g := &m.grants[e.id-1]
	if !g.actions.has(a) {
		return verdict{}, false
	}
	return verdict{allow: true, disclose: g.disclose.has(a), refuseDisclose: g.refuseDisclose}, true
}

// allowsPattern reports whether the role may subscribe or register (a)
// with the prefix or wildcard pattern pat: whether it may on every URI
// the pattern matches. That holds when a permission covers the pattern
// (matches every URI the pattern matches), the most specific such
// permission grants a, and so does every permission that takes
// precedence over that one on some URI the pattern matches. So prefix
// "com.example." granting subscribe and exact "com.example.secret" not
// granting it refuse a subscription to the prefix "com.example.", which
// would receive com.example.secret's events: a pattern never reaches
// what its exact URIs could not.
func (m *roleMatcher) allowsPattern(pat *entry, a action) bool {
	c := m.covering(pat)
	if c == nil || !m.grants[c.id-1].actions.has(a) {
		return false
	}
	for _, e := range m.ix.byID {
		if e != c && !m.grants[e.id-1].actions.has(a) && overrides(e, c, pat) {
			return false
		}
	}
	return true
}

// covering returns the most specific permission that matches every URI
// pat matches, or nil: the longest prefix permission that is a prefix of
// the pattern, else, for a wildcard pattern, the best-ranked wildcard
// permission matching the pattern taken literally, an empty component
// of the pattern matching only an empty component of the permission.
// An exact permission covers no pattern, nor does a wildcard permission
// cover a prefix pattern (which matches URIs of any length).
func (m *roleMatcher) covering(pat *entry) *entry {
	var found *entry
	for n := range m.ix.prefixLens {
		if n <= len(pat.uri) && (found == nil || n > len(found.uri)) {
			if e := m.ix.prefix[pat.uri[:n]]; e != nil {
				found = e
			}
		}
	}
	if found != nil || pat.match != wamp.MatchWildcard {
		return found
	}
	for _, e := range m.ix.wildByLen[len(pat.parts)] {
		if wildcardMatches(e.parts, string(pat.uri)) && (found == nil || wildcardBefore(e, found)) {
			found = e
		}
	}
	return found
}

// overrides reports whether permission e takes precedence over c, the
// permission covering pat, on some URI pat matches.
func overrides(e, c, pat *entry) bool {
	switch e.match {
	case wamp.MatchExact:
		return pat.matches(e.uri)
	case wamp.MatchPrefix:
		// A prefix beats a wildcard, and a longer prefix a shorter one.
		if c.match == wamp.MatchPrefix && len(e.uri) <= len(c.uri) {
			return false
		}
		return prefixOverlaps(string(e.uri), pat)
	default:
		return c.match == wamp.MatchWildcard && wildcardBefore(e, c) && wildcardsOverlap(e.parts, pat.parts)
	}
}

// prefixOverlaps reports whether some URI starts with prefix and
// matches pat.
func prefixOverlaps(prefix string, pat *entry) bool {
	if pat.match == wamp.MatchPrefix {
		return strings.HasPrefix(prefix, string(pat.uri)) || strings.HasPrefix(string(pat.uri), prefix)
	}
	comps := strings.Split(prefix, ".")
	if len(comps) > len(pat.parts) {
		return false
	}
	last := len(comps) - 1
	for i, c := range comps {
		switch p := pat.parts[i]; {
		case p == "":
		case i < last && c != p, i == last && !strings.HasPrefix(p, c):
			return false
		}
	}
	return true
}

// wildcardsOverlap reports whether some URI matches both wildcard
// patterns.
func wildcardsOverlap(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != "" && b[i] != "" && a[i] != b[i] {
			return false
		}
	}
	return true
}

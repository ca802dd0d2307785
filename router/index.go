package router

import (
	"cmp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/wamp"
)

// entry is a subscription or a registration: a URI with its match policy,
// shared by every session attached to it. Its fields are fixed once it is
// in an index, except members, which is a copy-on-write slice so that
// routing reads it without a lock, and next, the round-robin cursor.
type entry struct {
	id      wamp.ID
	uri     wamp.URI
	match   wamp.MatchPolicy // MatchExact, MatchPrefix or MatchWildcard, never ""
	created time.Time
	invoke  string // registrations: the invocation policy
	// origin is the cluster node whose registration this entry mirrors
	// when another node created it here, "" for this node's own.
	origin string

	// parts and runs describe a wildcard pattern: its components, and the
	// lengths of the runs of concrete components between wildcards, which
	// rank wildcard registrations (see wildcardBefore).
	parts []string
	runs  []int

	members atomic.Pointer[[]*session]
	next    atomic.Uint64
}

func newEntry(id wamp.ID, uri wamp.URI, match wamp.MatchPolicy, now time.Time) *entry {
	e := &entry{id: id, uri: uri, match: match, created: now}
	if match == wamp.MatchWildcard {
		e.parts = strings.Split(string(uri), ".")
		run := 0
		for _, p := range e.parts {
			if p == "" {
				e.runs = append(e.runs, run)
				run = 0
			} else {
				run++
			}
		}
		e.runs = append(e.runs, run)
	}
	e.members.Store(&[]*session{})
	return e
}

// sessions returns the members; the slice must not be modified.
func (e *entry) sessions() []*session { return *e.members.Load() }

// has reports whether s is a member.
func (e *entry) has(s *session) bool { return slices.Contains(e.sessions(), s) }

// attach adds s as the last member. The index's lock must be held.
func (e *entry) attach(s *session) {
	old := e.sessions()
	next := make([]*session, len(old), len(old)+1)
	copy(next, old)
	next = append(next, s)
	e.members.Store(&next)
}

// detach removes s and returns how many members are left. The index's
// lock must be held.
func (e *entry) detach(s *session) int {
	old := e.sessions()
	next := make([]*session, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	e.members.Store(&next)
	return len(next)
}

// matches reports whether uri is matched by the entry.
func (e *entry) matches(uri wamp.URI) bool {
	switch e.match {
	case wamp.MatchPrefix:
		return strings.HasPrefix(string(uri), string(e.uri))
	case wamp.MatchWildcard:
		return wildcardMatches(e.parts, string(uri))
	default:
		return uri == e.uri
	}
}

// wildcardMatches reports whether uri has as many components as parts,
// each equal to its part unless that part is empty.
func wildcardMatches(parts []string, uri string) bool {
	for i, p := range parts {
		comp := uri
		if i < len(parts)-1 {
			j := strings.IndexByte(uri, '.')
			if j < 0 {
				return false
			}
			comp, uri = uri[:j], uri[j+1:]
		} else if strings.IndexByte(comp, '.') >= 0 {
			return false
		}
		if p != "" && p != comp {
			return false
		}
	}
	return true
}

// wildcardBefore reports whether wildcard entry a takes precedence over
// b: the one with the longer run of concrete components before its first
// wildcard wins, then before its second, and so on (the specification's
// rule for pattern-based registrations). Ties go to the older entry.
func wildcardBefore(a, b *entry) bool {
	if c := slices.Compare(a.runs, b.runs); c != 0 {
		return c > 0
	}
	return a.id < b.id
}

// uriIndex finds the entries matching a URI. It is not safe for
// concurrent use: the broker and the dealer guard theirs with their lock.
type uriIndex struct {
	byID     map[wamp.ID]*entry
	exact    map[wamp.URI]*entry
	prefix   map[wamp.URI]*entry
	wildcard map[wamp.URI]*entry
	// prefixLens counts the prefix entries of each URI length, so that a
	// lookup probes only the lengths in use.
	prefixLens map[int]int
	// wildByLen lists the wildcard entries by number of components.
	wildByLen map[int][]*entry
}

func newURIIndex() *uriIndex {
	return &uriIndex{
		byID:       make(map[wamp.ID]*entry),
		exact:      make(map[wamp.URI]*entry),
		prefix:     make(map[wamp.URI]*entry),
		wildcard:   make(map[wamp.URI]*entry),
		prefixLens: make(map[int]int),
		wildByLen:  make(map[int][]*entry),
	}
}

func (ix *uriIndex) table(match wamp.MatchPolicy) map[wamp.URI]*entry {
	switch match {
	case wamp.MatchPrefix:
		return ix.prefix
	case wamp.MatchWildcard:
		return ix.wildcard
	default:
		return ix.exact
	}
}

// lookup returns the entry for uri with exactly this match policy.
func (ix *uriIndex) lookup(uri wamp.URI, match wamp.MatchPolicy) *entry {
	return ix.table(match)[uri]
}

// get returns the entry with this ID.
func (ix *uriIndex) get(id wamp.ID) *entry { return ix.byID[id] }

// len returns the number of entries.
func (ix *uriIndex) len() int { return len(ix.byID) }

func (ix *uriIndex) add(e *entry) {
	ix.byID[e.id] = e
	ix.table(e.match)[e.uri] = e
	switch e.match {
	case wamp.MatchPrefix:
		ix.prefixLens[len(e.uri)]++
	case wamp.MatchWildcard:
		ix.wildByLen[len(e.parts)] = append(ix.wildByLen[len(e.parts)], e)
	}
}

func (ix *uriIndex) remove(e *entry) {
	if ix.byID[e.id] != e {
		return
	}
	delete(ix.byID, e.id)
	delete(ix.table(e.match), e.uri)
	switch e.match {
	case wamp.MatchPrefix:
		if ix.prefixLens[len(e.uri)]--; ix.prefixLens[len(e.uri)] == 0 {
			delete(ix.prefixLens, len(e.uri))
		}
	case wamp.MatchWildcard:
		n := len(e.parts)
		ix.wildByLen[n] = slices.DeleteFunc(ix.wildByLen[n], func(o *entry) bool { return o == e })
		if len(ix.wildByLen[n]) == 0 {
			delete(ix.wildByLen, n)
		}
	}
}

// each calls fn for every entry matching uri: the exact one, then the
// prefixes, then the wildcards. This is how the broker finds subscribers.
func (ix *uriIndex) each(uri wamp.URI, fn func(*entry)) {
	if e := ix.exact[uri]; e != nil {
		fn(e)
	}
	for n := range ix.prefixLens {
		if n <= len(uri) {
			if e := ix.prefix[uri[:n]]; e != nil {
				fn(e)
			}
		}
	}
	if len(ix.wildByLen) > 0 {
		for _, e := range ix.wildByLen[strings.Count(string(uri), ".")+1] {
			if wildcardMatches(e.parts, string(uri)) {
				fn(e)
			}
		}
	}
}

// best returns the one entry a call of uri is routed to, by the
// specification's precedence: the exact registration, else the longest
// matching prefix, else the highest-ranked matching wildcard.
func (ix *uriIndex) best(uri wamp.URI) *entry {
	if e := ix.exact[uri]; e != nil {
		return e
	}
	var found *entry
	for n := range ix.prefixLens {
		if n <= len(uri) && (found == nil || n > len(found.uri)) {
			if e := ix.prefix[uri[:n]]; e != nil {
				found = e
			}
		}
	}
	if found != nil {
		return found
	}
	for _, e := range ix.wildByLen[strings.Count(string(uri), ".")+1] {
		if wildcardMatches(e.parts, string(uri)) && (found == nil || wildcardBefore(e, found)) {
			found = e
		}
	}
	return found
}

// matching returns the IDs of every entry matching uri, sorted.
func (ix *uriIndex) matching(uri wamp.URI) []wamp.ID {
	var ids []wamp.ID
	ix.each(uri, func(e *entry) { ids = append(ids, e.id) })
	slices.Sort(ids)
	return ids
}

// ids returns the IDs of the entries with this match policy, sorted.
func (ix *uriIndex) ids(match wamp.MatchPolicy) []wamp.ID {
	t := ix.table(match)
	ids := make([]wamp.ID, 0, len(t))
	for _, e := range t {
		ids = append(ids, e.id)
	}
	slices.Sort(ids)
	return ids
}

// describe returns the entry's details as the meta API gives them.
func (e *entry) describe() wamp.Dict {
	d := wamp.Dict{
		"id":      e.id,
		"created": e.created.UTC().Format("2006-01-02T15:04:05.000Z"),
		"uri":     string(e.uri),
		"match":   string(e.match),
	}
	if e.invoke != "" {
		d["invoke"] = e.invoke
	}
	return d
}

// memberIDs returns the session IDs of the members, sorted.
func (e *entry) memberIDs() []wamp.ID {
	ms := e.sessions()
	ids := make([]wamp.ID, len(ms))
	for i, s := range ms {
		ids[i] = s.id
	}
	slices.SortFunc(ids, cmp.Compare)
	return ids
}

// matchPolicy reads and checks the match option of SUBSCRIBE or
// REGISTER.
func matchPolicy(options wamp.Dict) (wamp.MatchPolicy, bool) {
	v, present := options["match"]
	if !present {
		return wamp.MatchExact, true
	}
	s, _ := v.(string)
	switch p := wamp.MatchPolicy(s); p {
	case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
		return p, true
	}
	return "", false
}

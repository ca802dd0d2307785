package link

import (
	"fmt"
	"strings"

	"github.com/junction-run/junction/wamp"
)

// pattern is one entry of an allow-list: a URI with its match policy.
// A prefix pattern matches by components: "paste" matches paste and
// paste.created, not pastebin.
type pattern struct {
	uri    wamp.URI
	policy wamp.MatchPolicy // MatchExact, MatchPrefix or MatchWildcard
}

// parsePattern reads "URI", "prefix:URI" or "wildcard:URI", the syntax
// of the router's --event-history rules.
func parsePattern(s string) (pattern, error) {
	p := pattern{policy: wamp.MatchExact}
	if rest, ok := strings.CutPrefix(s, "prefix:"); ok {
		p.policy, s = wamp.MatchPrefix, strings.TrimSuffix(rest, ".")
	} else if rest, ok := strings.CutPrefix(s, "wildcard:"); ok {
		p.policy, s = wamp.MatchWildcard, rest
	}
	p.uri = wamp.URI(s)
	if !p.uri.ValidPattern(false, p.policy) {
		return pattern{}, fmt.Errorf("%q is not a valid URI pattern (want URI, prefix:URI or wildcard:URI)", s)
	}
	return p, nil
}

func (p pattern) String() string {
	if p.policy == wamp.MatchExact {
		return string(p.uri)
	}
	return string(p.policy) + ":" + string(p.uri)
}

// matches reports whether the concrete URI u is allowed by p.
func (p pattern) matches(u wamp.URI) bool {
	switch p.policy {
	case wamp.MatchPrefix:
		rest, ok := strings.CutPrefix(string(u), string(p.uri))
		return ok && (rest == "" || rest[0] == '.')
	case wamp.MatchWildcard:
		pc, uc := strings.Split(string(p.uri), "."), strings.Split(string(u), ".")
		if len(pc) != len(uc) {
			return false
		}
		for i := range pc {
			if pc[i] != "" && pc[i] != uc[i] {
				return false
			}
		}
		return true
	}
	return p.uri == u
}

// subjects returns the NATS subject filters, under prefix, that match
// the subjects of the URIs p allows.
func (p pattern) subjects(prefix string) []string {
	switch p.policy {
	case wamp.MatchPrefix:
		s := prefix + "." + subject(p.uri)
		return []string{s, s + ".>"}
	case wamp.MatchWildcard:
		comps := strings.Split(string(p.uri), ".")
		for i, c := range comps {
			if c == "" {
				comps[i] = "*"
			} else {
				comps[i] = escape(c)
			}
		}
		return []string{prefix + "." + strings.Join(comps, ".")}
	}
	return []string{prefix + "." + subject(p.uri)}
}

// anyMatches reports whether one of ps allows u.
func anyMatches(ps []pattern, u wamp.URI) bool {
	for _, p := range ps {
		if p.matches(u) {
			return true
		}
	}
	return false
}

// subject maps a URI to NATS subject tokens: its components, each
// escaped. Dots stay separators, so a prefix of components is a prefix
// of tokens and NATS's ">" matches what a prefix pattern allows.
func subject(u wamp.URI) string {
	comps := strings.Split(string(u), ".")
	for i, c := range comps {
		comps[i] = escape(c)
	}
	return strings.Join(comps, ".")
}

// escape percent-encodes the bytes NATS forbids or reserves in a subject
// token (whitespace and control bytes, '*', '>') and '%' itself. Loose
// WAMP URIs may hold them; strict ones never do, and pass unchanged.
func escape(c string) string {
	if !strings.ContainsFunc(c, needsEscape) {
		return c
	}
	var b strings.Builder
	for i := 0; i < len(c); i++ {
		if ch := c[i]; needsEscape(rune(ch)) {
			fmt.Fprintf(&b, "%%%02X", ch)
		} else {
			b.WriteByte(ch)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '*' || r == '>' || r == '%'
}

package wamp

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// URI is a WAMP URI such as "com.example.topic". Components are separated by
// dots.
type URI string

// MatchPolicy tells how a subscription or registration URI is matched.
type MatchPolicy string

// Match policies of the specification. The empty policy means exact.
const (
	MatchExact    MatchPolicy = "exact"
	MatchPrefix   MatchPolicy = "prefix"
	MatchWildcard MatchPolicy = "wildcard"
)

// Valid reports whether u follows the specification's URI rules: the loose
// rules (components are non-empty and hold no whitespace, '.' or '#'; and
// as Junction adds, valid UTF-8 with no control character such as NUL), or,
// when strict is set, the strict rules (components use only [0-9a-z_]).
func (u URI) Valid(strict bool) bool {
	return u.check(strict, false)
}

// ValidPattern reports whether u is valid as the URI of a subscription or
// registration with the given match policy: a wildcard pattern may have
// empty components ("com..update"), a prefix may end with a dot
// ("com.chat." matches com.chat.room1 but not com.chatter); exact URIs
// follow Valid.
func (u URI) ValidPattern(strict bool, policy MatchPolicy) bool {
	if policy == MatchPrefix && len(u) > 1 && u[len(u)-1] == '.' {
		u = u[:len(u)-1]
	}
	return u.check(strict, policy == MatchWildcard)
}

// check is Valid and ValidPattern's rule: emptyOK lets components be
// empty. Nearly every URI is ASCII, which it checks byte by byte; at the
// first other byte it starts again with checkRunes, the general rule.
func (u URI) check(strict, emptyOK bool) bool {
	s := string(u)
	if s == "" {
		return false
	}
	start := 0 // where the current component starts
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if i == start && !emptyOK {
				return false
			}
			start = i + 1
		case c >= utf8.RuneSelf:
			if strict {
				return false // never in [0-9a-z_], valid UTF-8 or not
			}
			return u.checkRunes(false, emptyOK)
		case strict:
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		case c <= ' ' || c == 0x7f || c == '#':
			// The ASCII whitespace and control characters.
			return false
		}
	}
	return start < len(s) || emptyOK
}

// checkRunes is check for any string, rune by rune.
func (u URI) checkRunes(strict, emptyOK bool) bool {
	s := string(u)
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for comp := range strings.SplitSeq(s, ".") {
		if comp == "" {
			if !emptyOK {
				return false
			}
			continue
		}
		for _, r := range comp {
			if strict {
				if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
					return false
				}
			} else if r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) {
				return false
			}
		}
	}
	return true
}

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

func (u URI) check(strict, emptyOK bool) bool {
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

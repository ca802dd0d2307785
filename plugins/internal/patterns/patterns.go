// Package patterns routes a received message's text to the handlers
// whose regular expression matches it: the receive side of the IRC and
// SMS plugins (Message(pattern, handler), Receive(pattern, handler)).
package patterns

import (
	"fmt"
	"regexp"
	"sync"
)

// Match is what a pattern matched in a text: the pattern, its groups
// (Groups[0] is the whole match) and its named groups.
type Match struct {
	Pattern string
	Groups  []string
	Named   map[string]string
}

// Hit is a handler whose pattern matched, and the match.
type Hit[H any] struct {
	Match
	Handler H
}

// Routes are handlers by pattern, tried in the order added. Safe for
// concurrent use.
type Routes[H any] struct {
	mu   sync.Mutex
	list []route[H]
}

type route[H any] struct {
	re *regexp.Regexp
	h  H
}

// Add routes the texts that pattern, a regexp (Go syntax), matches to
// h; it returns the pattern's error.
func (r *Routes[H]) Add(pattern string, h H) error {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, route[H]{re, h})
	return nil
}

// Matching returns the handlers whose pattern matches text, in the
// order added, each with its match.
func (r *Routes[H]) Matching(text string) []Hit[H] {
	r.mu.Lock()
	list := r.list
	r.mu.Unlock()
	var hits []Hit[H]
	for _, rt := range list {
		groups := rt.re.FindStringSubmatch(text)
		if groups == nil {
			continue
		}
		hit := Hit[H]{Match: Match{Pattern: rt.re.String(), Groups: groups}, Handler: rt.h}
		for i, name := range rt.re.SubexpNames() {
			if name != "" {
				if hit.Named == nil {
					hit.Named = map[string]string{}
				}
				hit.Named[name] = groups[i]
			}
		}
		hits = append(hits, hit)
	}
	return hits
}

// Run calls f, turning a panic into an error: a handler's panic is its
// failure, not the plugin's.
func Run(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return f()
}

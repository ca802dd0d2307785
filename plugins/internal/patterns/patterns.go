// Package patterns routes a received message's text to the handlers
// whose regular expression matches it: the receive side of the IRC and
// SMS plugins (Message(pattern, handler), Receive(pattern, handler)).
package patterns

import (
	"errors"
	"fmt"
	"reflect"
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
	err  error // what Add refused, for the plugin's Start to report
}

type route[H any] struct {
	re *regexp.Regexp
	h  H
}

// Add routes the texts that pattern, a regexp (Go syntax), matches to
// h. A bad pattern or a nil handler is not routed; it is kept, named
// "what(pattern)", for Err.
func (r *Routes[H]) Add(what, pattern string, h H) {
	re, err := regexp.Compile(pattern)
	if v := reflect.ValueOf(h); err == nil && (!v.IsValid() || v.Kind() == reflect.Func && v.IsNil()) {
		err = errors.New("nil handler")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err = errors.Join(r.err, fmt.Errorf("%s(%q): %w", what, pattern, err))
		return
	}
	r.list = append(r.list, route[H]{re, h})
}

// Err returns what Add refused, nil if nothing.
func (r *Routes[H]) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
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

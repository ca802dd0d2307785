package main

import (
	"slices"
	"sync"
)

// maxSeenPerFeed bounds the articles remembered per feed. Feeds carry
// their latest 10 to 100 articles; one carrying more than this at once
// would have its oldest published again.
const maxSeenPerFeed = 1000

// maxRecent is how many articles feeds.recent returns.
const maxRecent = 50

// seenSet remembers, per feed, the articles already published, so that
// each is published once however often its feed is fetched, and however
// many fetches of one feed run at once. It lives in this process's
// memory: see the README for several processes and restarts. It is safe
// for concurrent use.
type seenSet struct {
	max int

	mu    sync.Mutex
	feeds map[string]*seenFeed // by feed URL
}

// seenFeed is one feed's remembered articles, by key, and their keys in
// the order they were claimed, oldest first, for eviction.
type seenFeed struct {
	keys  map[string]struct{}
	order []string
}

func newSeenSet(maxPerFeed int) *seenSet {
	return &seenSet{max: maxPerFeed, feeds: make(map[string]*seenFeed)}
}

// claim returns the articles of feed not seen before, in their order,
// and remembers them: of two fetches of the feed claiming at once, only
// one gets each article.
func (s *seenSet) claim(feed string, items []article) []article {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.feeds[feed]
	if f == nil {
		f = &seenFeed{keys: make(map[string]struct{})}
		s.feeds[feed] = f
	}
	var fresh []article
	for _, a := range items {
		if _, ok := f.keys[a.key]; ok {
			continue
		}
		if len(f.order) >= s.max {
			delete(f.keys, f.order[0])
			f.order = f.order[1:]
		}
		f.keys[a.key] = struct{}{}
		f.order = append(f.order, a.key)
		fresh = append(fresh, a)
	}
	return fresh
}

// forget unremembers articles that claim returned but that could not be
// published, so that the next fetch claims them again.
func (s *seenSet) forget(feed string, items []article) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.feeds[feed]
	if f == nil {
		return
	}
	for _, a := range items {
		delete(f.keys, a.key)
	}
	f.order = slices.DeleteFunc(f.order, func(k string) bool {
		_, ok := f.keys[k]
		return !ok
	})
}

// recent keeps the latest published articles, for feeds.recent. It is
// safe for concurrent use.
type recent struct {
	max int

	mu       sync.Mutex
	articles []article // oldest first
}

func newRecent(n int) *recent { return &recent{max: n} }

func (r *recent) add(a article) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.articles) >= r.max {
		r.articles = slices.Delete(r.articles, 0, 1)
	}
	r.articles = append(r.articles, a)
}

// list returns a copy of the articles, oldest first; never nil, so that
// feeds.recent answers [] rather than null.
func (r *recent) list() []article {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(make([]article, 0, len(r.articles)), r.articles...)
}

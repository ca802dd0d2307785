package router

import (
	"slices"

	"github.com/junction-run/junction/wamp"
)

// smallEntrySet is how many entries an entrySet keeps in a plain list.
// Most sessions hold a handful of subscriptions: a list of them costs 8
// bytes an entry, where the smallest map costs over 300 bytes; searching
// 16 pointers is faster than hashing. Past that the set indexes by ID.
const smallEntrySet = 16

// entrySet is one session's subscriptions (or registrations), by ID.
// Its zero value is empty. It is not safe for concurrent use: its owner's
// lock guards it.
type entrySet struct {
	list []*entry
	// at indexes list by ID once it holds more than smallEntrySet.
	at map[wamp.ID]int
}

func (s *entrySet) len() int {
	if s == nil {
		return 0
	}
	return len(s.list)
}

// index returns where the entry with this ID is in s.list, or -1.
func (s *entrySet) index(id wamp.ID) int {
	if s == nil {
		return -1
	}
	if s.at != nil {
		if i, ok := s.at[id]; ok {
			return i
		}
		return -1
	}
	return slices.IndexFunc(s.list, func(e *entry) bool { return e.id == id })
}

// get returns the entry with this ID, or nil.
func (s *entrySet) get(id wamp.ID) *entry {
	if i := s.index(id); i >= 0 {
		return s.list[i]
	}
	return nil
}

// add adds e and reports whether it was not there yet.
func (s *entrySet) add(e *entry) bool {
	if s.index(e.id) >= 0 {
		return false
	}
	s.list = append(s.list, e)
	switch {
	case s.at != nil:
		s.at[e.id] = len(s.list) - 1
	case len(s.list) > smallEntrySet:
		s.at = make(map[wamp.ID]int, len(s.list))
		for i, e := range s.list {
			s.at[e.id] = i
		}
	}
	return true
}

// remove removes the entry with this ID, if there is one.
func (s *entrySet) remove(id wamp.ID) {
	i := s.index(id)
	if i < 0 {
		return
	}
	// The last entry takes its place: the order means nothing.
	last := len(s.list) - 1
	moved := s.list[last]
	s.list[i] = moved
	s.list[last] = nil
	s.list = s.list[:last]
	if s.at != nil {
		delete(s.at, id)
		if i != last {
			s.at[moved.id] = i
		}
		if len(s.list) <= smallEntrySet/2 {
			s.at = nil
		}
	}
}

// entries returns a copy of the entries, for a caller that changes the
// set while it goes through them.
func (s *entrySet) entries() []*entry {
	if s == nil {
		return nil
	}
	return slices.Clone(s.list)
}

package router

import (
	"fmt"

	"github.com/junction-run/junction/wamp"
)

// publication is one event as the broker routes, retains and records it:
// a PUBLISH, or an event of the router's own.
type publication struct {
	id      wamp.ID
	topic   wamp.URI
	payload wamp.Payload
	// options are the PUBLISH options, sent along when the publication
	// is forwarded to other nodes of a cluster.
	options wamp.Dict
	// remote: the publication came from another node of the cluster,
	// which sends it to the other nodes itself.
	remote bool
	// from is the publisher, nil for the router's own events.
	from      *session
	excludeMe bool // PUBLISH.Options.exclude_me, default true
	disclose  bool // PUBLISH.Options.disclose_me
	retain    bool // PUBLISH.Options.retain
	// audience holds the black and white lists, nil when there are none:
	// the fast path, with no check per subscriber.
	audience *audience
	// backlogged is the subscriber whose outbound queue the fan-out left
	// fullest past half its bound, nil if none: the publisher waits for
	// it (broker.stall).
	backlogged *session
	// kept is the publication as a stored event once publish retained
	// it, for route's keep to reuse in event history.
	kept *storedEvent
}

// audience is a publication's subscriber black and white lists; an
// option not given is a nil set.
type audience struct {
	eligible, exclude                 *optionSet[wamp.ID]
	eligibleAuthID, excludeAuthID     *optionSet[string]
	eligibleAuthRole, excludeAuthRole *optionSet[string]
}

// optionSet is one list option. Lists are usually short, and scanning a
// short slice beats hashing, so only long ones get a map.
type optionSet[T comparable] struct {
	small []T
	big   map[T]struct{}
}

// optionSetMapFrom is the length from which a set uses a map.
const optionSetMapFrom = 16

func newOptionSet[T comparable](items []T) *optionSet[T] {
	if len(items) < optionSetMapFrom {
		return &optionSet[T]{small: items}
	}
	m := make(map[T]struct{}, len(items))
	for _, v := range items {
		m[v] = struct{}{}
	}
	return &optionSet[T]{big: m}
}

// has reports whether v is in the set.
func (s *optionSet[T]) has(v T) bool {
	if s.big != nil {
		_, ok := s.big[v]
		return ok
	}
	for _, x := range s.small {
		if x == v {
			return true
		}
	}
	return false
}

// admits reports whether an eligible list lets v in: it was not given,
// or holds v.
func (s *optionSet[T]) admits(v T) bool { return s == nil || s.has(v) }

// bars reports whether an exclude list keeps v out.
func (s *optionSet[T]) bars(v T) bool { return s != nil && s.has(v) }

// newPublication reads the options of a PUBLISH from from (nil for the
// router itself). Malformed options are an error whose text says which.
func newPublication(from *session, topic wamp.URI, options wamp.Dict, payload wamp.Payload) (publication, error) {
	p := publication{topic: topic, payload: payload, from: from, excludeMe: true, options: options}
	for k, v := range options {
		if v == nil {
			continue // a null option is an absent one
		}
		var err error
		switch k {
		case "exclude_me":
			err = optionBool(k, v, &p.excludeMe)
		case "disclose_me":
			err = optionBool(k, v, &p.disclose)
		case "retain":
			err = optionBool(k, v, &p.retain)
		case "eligible":
			err = optionIDs(k, v, &p.lists().eligible)
		case "exclude":
			err = optionIDs(k, v, &p.lists().exclude)
		case "eligible_authid":
			err = optionStrings(k, v, &p.lists().eligibleAuthID)
		case "exclude_authid":
			err = optionStrings(k, v, &p.lists().excludeAuthID)
		case "eligible_authrole":
			err = optionStrings(k, v, &p.lists().eligibleAuthRole)
		case "exclude_authrole":
			err = optionStrings(k, v, &p.lists().excludeAuthRole)
		}
		if err != nil {
			return publication{}, err
		}
	}
	return p, nil
}

// checkPublishOptions reports whether options are PUBLISH options the
// broker accepts: the meta API checks testaments with it before storing
// them.
func checkPublishOptions(options wamp.Dict) error {
	_, err := newPublication(nil, "", options, wamp.Payload{})
	return err
}

func (p *publication) lists() *audience {
	if p.audience == nil {
		p.audience = &audience{}
	}
	return p.audience
}

func optionBool(key string, v any, dst *bool) error {
	b, ok := v.(bool)
	if !ok {
		return fmt.Errorf("option %s must be a bool", key)
	}
	*dst = b
	return nil
}

// optionIDs and optionStrings read a list option into a set. Besides the
// serializers' wamp.List they take the typed slices an in-process Go
// client may send as they are.
func optionIDs(key string, v any, dst **optionSet[wamp.ID]) error {
	if ids, ok := v.([]wamp.ID); ok {
		*dst = newOptionSet(ids)
		return nil
	}
	list, ok := v.(wamp.List)
	if !ok {
		return fmt.Errorf("option %s must be a list of session IDs", key)
	}
	ids := make([]wamp.ID, len(list))
	for i, e := range list {
		if ids[i], ok = wamp.AsID(e); !ok {
			return fmt.Errorf("option %s must be a list of session IDs", key)
		}
	}
	*dst = newOptionSet(ids)
	return nil
}

func optionStrings(key string, v any, dst **optionSet[string]) error {
	if strs, ok := v.([]string); ok {
		*dst = newOptionSet(strs)
		return nil
	}
	list, ok := v.(wamp.List)
	if !ok {
		return fmt.Errorf("option %s must be a list of strings", key)
	}
	strs := make([]string, len(list))
	for i, e := range list {
		if strs[i], ok = e.(string); !ok {
			return fmt.Errorf("option %s must be a list of strings", key)
		}
	}
	*dst = newOptionSet(strs)
	return nil
}

// allows reports whether s may receive the event: it is in every list of
// eligible sessions, authids and authroles given, and in no exclude list.
// A nil audience allows everyone.
func (a *audience) allows(s *session) bool {
	if a == nil {
		return true
	}
	return a.eligible.admits(s.id) && !a.exclude.bars(s.id) && a.allowsIdentity(s.authid, s.authrole)
}

// allowsIdentity is allows without the session ID lists: what event
// history can still check once the sessions are gone.
func (a *audience) allowsIdentity(authid, authrole string) bool {
	if a == nil {
		return true
	}
	return a.eligibleAuthID.admits(authid) && !a.excludeAuthID.bars(authid) &&
		a.eligibleAuthRole.admits(authrole) && !a.excludeAuthRole.bars(authrole)
}

// bySession reports whether the audience names sessions by ID.
func (a *audience) bySession() bool { return a != nil && (a.eligible != nil || a.exclude != nil) }

// publisherDetails returns what EVENT.Details discloses of the publisher,
// or nil when it asked not to be named or the router published.
func (p *publication) publisherDetails() wamp.Dict {
	if !p.disclose || p.from == nil {
		return nil
	}
	return wamp.Dict{
		"publisher":          p.from.id,
		"publisher_authid":   p.from.authid,
		"publisher_authrole": p.from.authrole,
	}
}

// eventDetails returns EVENT.Details for subscription sub: the concrete
// topic for a pattern subscription, the disclosed publisher, and the
// retained flag. It returns nil, not an empty Dict, when there is nothing
// to say, which is the common case.
func eventDetails(sub *entry, topic wamp.URI, publisher wamp.Dict, retained bool) wamp.Dict {
	if sub.match == wamp.MatchExact && publisher == nil && !retained {
		return nil
	}
	d := make(wamp.Dict, len(publisher)+2)
	if sub.match != wamp.MatchExact {
		d["topic"] = string(topic)
	}
	for k, v := range publisher {
		d[k] = v
	}
	if retained {
		d["retained"] = true
	}
	return d
}

package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// historyFlag is the repeatable --event-history flag:
// [prefix:|wildcard:]TOPIC=LIMIT keeps the last LIMIT events of the
// matching topics for wamp.subscription.get_events, in every realm.
type historyFlag []router.EventHistory

func (h *historyFlag) String() string {
	parts := make([]string, len(*h))
	for i, e := range *h {
		parts[i] = fmt.Sprintf("%s:%s=%d", e.Match, e.Topic, e.Limit)
	}
	return strings.Join(parts, ",")
}

func (h *historyFlag) Set(v string) error {
	spec, limit, ok := strings.Cut(v, "=")
	if !ok {
		return errors.New("want [prefix:|wildcard:]TOPIC=LIMIT")
	}
	n, err := strconv.Atoi(limit)
	if err != nil || n <= 0 {
		return fmt.Errorf("limit %q is not a positive integer", limit)
	}
	match := wamp.MatchExact
	for _, p := range []wamp.MatchPolicy{wamp.MatchPrefix, wamp.MatchWildcard} {
		if rest, found := strings.CutPrefix(spec, string(p)+":"); found {
			match, spec = p, rest
		}
	}
	if !wamp.URI(spec).ValidPattern(false, match) {
		return fmt.Errorf("%q is not a valid %s topic", spec, match)
	}
	*h = append(*h, router.EventHistory{Topic: wamp.URI(spec), Match: match, Limit: n})
	return nil
}

package router

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// Config configures a Router. The zero value is valid.
type Config struct {
	// Realms are the realms served from the start. Default: "realm1".
	// Every session of these realms is anonymous with every permission.
	Realms []string `json:"realms" yaml:"realms"`
	// RealmConfigs are realms with authentication and authorization
	// (see RealmConfig). A realm is either in Realms or here, not both;
	// with RealmConfigs set and Realms empty, no open realm1 is added.
	RealmConfigs []RealmConfig `json:"realm_configs,omitempty" yaml:"realm_configs,omitempty"`
	// Limits bound sessions, subscriptions, registrations and message
	// rates; see Limits for the defaults.
	Limits Limits `json:"limits" yaml:"limits"`
	// StrictURIs makes the router refuse URIs that break the
	// specification's strict rules ([0-9a-z_] components). Default: the
	// loose rules.
	StrictURIs bool `json:"strict_uris" yaml:"strict_uris"`
	// GoodbyeTimeout is how long Stop waits for sessions to answer its
	// GOODBYE. Default 3s.
	GoodbyeTimeout time.Duration `json:"goodbye_timeout" yaml:"goodbye_timeout"`
	// EventHistory lists the topics whose events the broker keeps for the
	// wamp.subscription.get_events meta procedure. Default: none.
	EventHistory []EventHistory `json:"event_history" yaml:"event_history"`
	// Transport tunes connections (queue bounds, sizes, keep-alive).
	Transport transport.Config `json:"transport" yaml:"transport"`
	// Logger receives the router's logs. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
	// Registerer receives the router's Prometheus metrics. Default: a
	// registry of the router's own, see Router.Metrics.
	Registerer prometheus.Registerer `json:"-" yaml:"-"`
}

// EventHistory is an event history rule: the broker keeps the latest
// Limit events published in Realm to the topics matching Topic and Match,
// all such topics sharing one bounded history, held in memory. A
// subscription's history is made of the events kept, by any rule, on the
// topics it matches. Publications that name sessions in their black or
// white lists are not kept (session IDs do not outlive sessions).
type EventHistory struct {
	// Realm is the realm whose events are kept. Default "": every realm.
	Realm string `json:"realm,omitempty" yaml:"realm,omitempty"`
	// Topic is the topic URI, or the pattern for Match prefix or
	// wildcard.
	Topic wamp.URI `json:"topic" yaml:"topic"`
	// Match is how Topic matches: "exact", "prefix" or "wildcard".
	// Default "": exact.
	Match wamp.MatchPolicy `json:"match,omitempty" yaml:"match,omitempty"`
	// Limit is how many events are kept, the oldest dropped first. It
	// must be positive.
	Limit int `json:"limit" yaml:"limit"`
}

func (h EventHistory) validate(strict bool) error {
	switch h.Match {
	case "", wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
	default:
		return fmt.Errorf("match %q is not exact, prefix or wildcard", h.Match)
	}
	match := h.Match
	if match == "" {
		match = wamp.MatchExact
	}
	if !h.Topic.ValidPattern(strict, match) {
		return fmt.Errorf("topic %q is not a valid URI for match %s", h.Topic, match)
	}
	if h.Realm != "" && !wamp.URI(h.Realm).Valid(strict) {
		return fmt.Errorf("realm %q is not a valid URI", h.Realm)
	}
	if h.Limit <= 0 {
		return fmt.Errorf("limit %d is not positive", h.Limit)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if len(c.Realms) == 0 && len(c.RealmConfigs) == 0 {
		c.Realms = []string{"realm1"}
	}
	c.Limits = c.Limits.withDefaults()
	if c.GoodbyeTimeout <= 0 {
		c.GoodbyeTimeout = 3 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Transport.Logger == nil {
		c.Transport.Logger = c.Logger
	}
	return c
}

func (c Config) validate() error {
	seen := map[string]bool{}
	for _, r := range c.Realms {
		if !wamp.URI(r).Valid(c.StrictURIs) {
			return fmt.Errorf("%w: %q", ErrInvalidRealm, r)
		}
		if seen[r] {
			return fmt.Errorf("%w: %q listed twice", ErrRealmExists, r)
		}
		seen[r] = true
	}
	for i := range c.RealmConfigs {
		rc := &c.RealmConfigs[i]
		if !wamp.URI(rc.Name).Valid(c.StrictURIs) {
			return fmt.Errorf("%w: realm_configs[%d]: %q", ErrInvalidRealm, i, rc.Name)
		}
		if seen[rc.Name] {
			return fmt.Errorf("%w: %q listed twice", ErrRealmExists, rc.Name)
		}
		seen[rc.Name] = true
		if err := rc.validateAuth(); err != nil {
			return fmt.Errorf("router: realm %q: %w", rc.Name, err)
		}
		if err := rc.validateRoles(c.StrictURIs); err != nil {
			return fmt.Errorf("router: realm %q: %w", rc.Name, err)
		}
	}
	if err := c.Limits.validate(); err != nil {
		return err
	}
	for i, h := range c.EventHistory {
		if err := h.validate(c.StrictURIs); err != nil {
			return fmt.Errorf("%w: rule %d: %w", ErrInvalidEventHistory, i, err)
		}
	}
	return nil
}

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
	// StrictURIs makes the router refuse URIs that break the
	// specification's strict rules ([0-9a-z_] components). Default: the
	// loose rules.
	StrictURIs bool `json:"strict_uris" yaml:"strict_uris"`
	// GoodbyeTimeout is how long Stop waits for sessions to answer its
	// GOODBYE. Default 3s.
	GoodbyeTimeout time.Duration `json:"goodbye_timeout" yaml:"goodbye_timeout"`
	// Transport tunes connections (queue bounds, sizes, keep-alive).
	Transport transport.Config `json:"transport" yaml:"transport"`
	// Logger receives the router's logs. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
	// Registerer receives the router's Prometheus metrics. Default: a
	// registry of the router's own, see Router.Metrics.
	Registerer prometheus.Registerer `json:"-" yaml:"-"`
}

func (c Config) withDefaults() Config {
	if len(c.Realms) == 0 {
		c.Realms = []string{"realm1"}
	}
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
	return nil
}

package webhook

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/wamp"
)

// Config configures a Dispatcher. Every field but Hooks has a default.
type Config struct {
	// Realm is the realm whose events the hooks receive. Default realm1.
	Realm string `json:"realm,omitempty" yaml:"realm,omitempty"`
	// AuthID and AuthRole are the identity of the dispatcher's session:
	// in a realm with roles, AuthRole must be allowed to subscribe to
	// the hooks' topics. Defaults "webhooks" and "webhooks".
	AuthID   string `json:"authid,omitempty" yaml:"authid,omitempty"`
	AuthRole string `json:"authrole,omitempty" yaml:"authrole,omitempty"`
	// Hooks are the hooks. At least one.
	Hooks []Hook `json:"hooks" yaml:"hooks"`
	// Queue is the name of the task queue of the deliveries. Default
	// "webhooks".
	Queue string `json:"queue,omitempty" yaml:"queue,omitempty"`
	// Workers is how many deliveries run at once, all hooks together.
	// Default 4.
	Workers int `json:"workers,omitempty" yaml:"workers,omitempty"`
	// Backoff is the delay before a failed delivery's first retry; each
	// further one waits twice as long, up to MaxBackoff, with jitter.
	// Defaults 1s and 5m.
	Backoff    time.Duration `json:"backoff,omitempty" yaml:"backoff,omitempty"`
	MaxBackoff time.Duration `json:"max_backoff,omitempty" yaml:"max_backoff,omitempty"`
	// DeadTTL, if set, is how long dead letters are kept. Default 0:
	// until requeued or deleted.
	DeadTTL time.Duration `json:"dead_ttl,omitempty" yaml:"dead_ttl,omitempty"`
	// Logger receives the dispatcher's logs. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
	// Registerer, if not nil, receives junction_webhook_deliveries_total
	// {hook, outcome}: outcome delivered, failed (an attempt; it may be
	// retried), dead (attempts spent) or dropped (an event that could not
	// be enqueued). Default nil: no metrics.
	Registerer prometheus.Registerer `json:"-" yaml:"-"`
	// Client makes the requests. Default: a client that follows no
	// redirect.
	Client *http.Client `json:"-" yaml:"-"`
}

// Hook sends the events of a topic to a URL.
type Hook struct {
	// Name names the hook in logs, metrics, Status and its deliveries'
	// task name ("deliver.<name>"): letters, digits, '.', '-' and '_'.
	// Default: the topic.
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// Topic is the topic URI, or its prefix when Match is "prefix".
	Topic string `json:"topic" yaml:"topic"`
	// Match is "exact" or "prefix". Default exact.
	Match string `json:"match,omitempty" yaml:"match,omitempty"`
	// URL is where events are POSTed: http or https.
	URL string `json:"url" yaml:"url"`
	// Headers are added to each request (Authorization, ...).
	Headers map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	// Secret, if set, signs each body: X-Junction-Signature is
	// "sha256=" and the hex HMAC-SHA256 of the body keyed with it.
	// SecretFile is a file holding it (trimmed), instead.
	Secret     string `json:"-" yaml:"-"`
	SecretFile string `json:"secret_file,omitempty" yaml:"secret_file,omitempty"`
	// Timeout bounds each attempt, the answer included. Default 10s.
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// MaxAttempts is how many attempts a delivery gets before it is a
	// dead letter; 1 means no retry. Default 5.
	MaxAttempts int `json:"max_attempts,omitempty" yaml:"max_attempts,omitempty"`
}

// Defaults.
const (
	DefaultRealm       = "realm1"
	DefaultIdentity    = "webhooks"
	DefaultQueue       = "webhooks"
	DefaultWorkers     = 4
	DefaultBackoff     = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 5
	MatchExact         = "exact"
	MatchPrefix        = "prefix"
)

var (
	nameRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	queueRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	// headerRE is an HTTP header name (RFC 9110's token).
	headerRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
)

// Load reads the secret files, fills in the defaults and checks every
// setting; errors wrap ErrConfig and name the setting at fault.
func (c Config) Load() (Config, error) {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return c, err
	}
	hooks := make([]Hook, len(c.Hooks))
	for i, h := range c.Hooks {
		if h.SecretFile != "" {
			b, err := os.ReadFile(h.SecretFile)
			if err != nil {
				return c, fmt.Errorf("%w: hooks[%d].secret_file: %w", ErrConfig, i, err)
			}
			if h.Secret = strings.TrimSpace(string(b)); h.Secret == "" {
				return c, fmt.Errorf("%w: hooks[%d].secret_file: %s is empty", ErrConfig, i, h.SecretFile)
			}
		}
		hooks[i] = h
	}
	c.Hooks = hooks
	return c, nil
}

func (c Config) withDefaults() Config {
	c.Realm = cmp.Or(c.Realm, DefaultRealm)
	c.AuthID = cmp.Or(c.AuthID, DefaultIdentity)
	c.AuthRole = cmp.Or(c.AuthRole, DefaultIdentity)
	c.Queue = cmp.Or(c.Queue, DefaultQueue)
	c.Workers = cmp.Or(c.Workers, DefaultWorkers)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, max(DefaultMaxBackoff, c.Backoff))
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Client == nil {
		c.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	hooks := make([]Hook, len(c.Hooks))
	for i, h := range c.Hooks {
		h.Name = cmp.Or(h.Name, h.Topic)
		h.Match = cmp.Or(h.Match, MatchExact)
		h.Timeout = cmp.Or(h.Timeout, DefaultTimeout)
		h.MaxAttempts = cmp.Or(h.MaxAttempts, DefaultMaxAttempts)
		hooks[i] = h
	}
	c.Hooks = hooks
	return c
}

func (c Config) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case len(c.Hooks) == 0:
		return bad("hooks", "no hook: give at least one (topic and url)")
	case !wamp.URI(c.Realm).Valid(false):
		return bad("realm", "%q is not a valid URI", c.Realm)
	case !queueRE.MatchString(c.Queue):
		return bad("queue", "%q: want 1 to 64 letters, digits, '-' or '_'", c.Queue)
	case c.Workers < 1 || c.Workers > 1000:
		return bad("workers", "%d: want 1 to 1000", c.Workers)
	case c.Backoff < 0:
		return bad("backoff", "%s: want a positive duration", c.Backoff)
	case c.MaxBackoff < c.Backoff:
		return bad("max_backoff", "%s: want at least backoff (%s)", c.MaxBackoff, c.Backoff)
	case c.DeadTTL != 0 && c.DeadTTL < time.Second:
		return bad("dead_ttl", "%s: want 1s or more, or 0 to keep dead letters", c.DeadTTL)
	}
	names := map[string]int{}
	for i, h := range c.Hooks {
		field := func(name string) string { return fmt.Sprintf("hooks[%d].%s", i, name) }
		if h.Topic == "" {
			return bad(field("topic"), "required")
		}
		switch h.Match {
		case MatchExact, MatchPrefix:
		default:
			return bad(field("match"), "%q: want exact or prefix", h.Match)
		}
		if !wamp.URI(h.Topic).ValidPattern(false, wamp.MatchPolicy(h.Match)) {
			return bad(field("topic"), "%q is not a valid topic URI for %s match", h.Topic, h.Match)
		}
		if !nameRE.MatchString(h.Name) {
			return bad(field("name"), "%q: want 1 to 64 letters, digits, '.', '-' or '_'", h.Name)
		}
		if j, ok := names[h.Name]; ok {
			return bad(field("name"), "%q is also hooks[%d]'s name (a hook without a name is named after its topic)", h.Name, j)
		}
		names[h.Name] = i
		if h.URL == "" {
			return bad(field("url"), "required")
		}
		u, err := url.Parse(h.URL)
		if err != nil {
			return bad(field("url"), "%v", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return bad(field("url"), "%q: want an http:// or https:// URL with a host", h.URL)
		}
		for k, v := range h.Headers {
			if !headerRE.MatchString(k) || strings.ContainsAny(v, "\r\n\x00") {
				return bad(field("headers"), "%q is not a valid header", k)
			}
		}
		if h.Timeout < 0 {
			return bad(field("timeout"), "%s: want a positive duration", h.Timeout)
		}
		if h.MaxAttempts < 1 || h.MaxAttempts > 100 {
			return bad(field("max_attempts"), "%d: want 1 to 100", h.MaxAttempts)
		}
		if h.Secret != "" && h.SecretFile != "" {
			return bad(field("secret_file"), "give the secret or its file, not both")
		}
	}
	return nil
}

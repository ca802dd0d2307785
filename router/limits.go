package router

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/junction-run/junction/wamp"
)

// Defaults of Limits.
const (
	DefaultMaxSessions                = 100000
	DefaultMaxSubscriptionsPerSession = 10000
	DefaultMaxRegistrationsPerSession = 10000
	DefaultMaxRetainedTopics          = 10000
	DefaultMaxRetainedBytes           = 64 << 20
)

// The errors a limit gives. WAMP predefines no URI for them, so they are
// Junction's own:
//
//   - URITooManySessions is the ABORT reason for a HELLO over
//     Limits.MaxSessions or Limits.MaxSessionsPerRealm;
//   - URITooManySubscriptions and URITooManyRegistrations are the ERROR
//     answering a SUBSCRIBE or REGISTER over
//     Limits.MaxSubscriptionsPerSession or MaxRegistrationsPerSession: the
//     session goes on;
//   - URIRateLimitExceeded is the ABORT that ends a session sending faster
//     than Limits.MessageRate allows.
//
// A message over transport.Config.MaxMessageSize closes its connection
// (WebSocket close code 1009; RawSocket has no way to say why).
const (
	URITooManySessions      wamp.URI = "junction.error.too_many_sessions"
	URITooManySubscriptions wamp.URI = "junction.error.too_many_subscriptions"
	URITooManyRegistrations wamp.URI = "junction.error.too_many_registrations"
	URIRateLimitExceeded    wamp.URI = "junction.error.rate_limit_exceeded"
	// URIRetainLimitExceeded answers an acknowledged PUBLISH with retain
	// over Limits.MaxRetainedTopics or MaxRetainedBytes.
	URIRetainLimitExceeded wamp.URI = "junction.error.retain_limit_exceeded"
)

// Names of the limits, in logs and in the limit label of the
// junction_router_limits_exceeded_total metric.
const (
	limitSessions       = "max_sessions"
	limitRealmSessions  = "max_sessions_per_realm"
	limitSubscriptions  = "max_subscriptions_per_session"
	limitRegistrations  = "max_registrations_per_session"
	limitMessageRate    = "message_rate"
	limitMaxMessageSize = "max_message_size"
	limitRetained       = "max_retained"
)

var limitNames = []string{limitSessions, limitRealmSessions, limitSubscriptions, limitRegistrations,
	limitMessageRate, limitMaxMessageSize, limitRetained}

// longestInterval bounds Limits.MessageRate from below (one message a
// day), keeping the arithmetic of messageRate far from overflow.
const longestInterval = 24 * time.Hour

// withDefaults fills the zero fields, except HelloTimeout whose default
// belongs to the handshake.
func (l Limits) withDefaults() Limits {
	if l.MaxSessions == 0 {
		l.MaxSessions = DefaultMaxSessions
	}
	if l.MaxSessionsPerRealm == 0 {
		l.MaxSessionsPerRealm = l.MaxSessions
	}
	if l.MaxSubscriptionsPerSession == 0 {
		l.MaxSubscriptionsPerSession = DefaultMaxSubscriptionsPerSession
	}
	if l.MaxRegistrationsPerSession == 0 {
		l.MaxRegistrationsPerSession = DefaultMaxRegistrationsPerSession
	}
	if l.MaxRetainedTopics == 0 {
		l.MaxRetainedTopics = DefaultMaxRetainedTopics
	}
	if l.MaxRetainedBytes == 0 {
		l.MaxRetainedBytes = DefaultMaxRetainedBytes
	}
	if l.MessageRate > 0 && l.MessageBurst == 0 {
		l.MessageBurst = int(max(1, math.Ceil(l.MessageRate)))
	}
	return l
}

// validate checks limits that went through withDefaults. Its messages
// name the fields by their keys in a configuration file.
func (l Limits) validate() error {
	switch {
	case math.IsNaN(l.MessageRate) || math.IsInf(l.MessageRate, 0):
		return fmt.Errorf("%w: message_rate %v is not a number", ErrInvalidLimits, l.MessageRate)
	case l.MessageRate > 0 && l.MessageBurst < 0:
		return fmt.Errorf("%w: message_burst %d: a message rate needs a positive burst", ErrInvalidLimits, l.MessageBurst)
	case l.MessageRate > 0 && time.Duration(float64(time.Second)/l.MessageRate) > longestInterval:
		return fmt.Errorf("%w: message_rate %v is below one message a day", ErrInvalidLimits, l.MessageRate)
	case l.MessageRate > 0 && float64(time.Second)/l.MessageRate*float64(l.MessageBurst) > math.MaxInt64/4:
		return fmt.Errorf("%w: message_burst %d is too large for message_rate %v", ErrInvalidLimits, l.MessageBurst, l.MessageRate)
	case l.MessageRate > 1e9:
		return fmt.Errorf("%w: message_rate %v is over a message a nanosecond", ErrInvalidLimits, l.MessageRate)
	}
	return nil
}

// messageRate is Limits.MessageRate as the generic cell rate algorithm
// (GCRA) states a token bucket: a message is due every interval, and may
// come up to tolerance early, which allows a burst of MessageBurst. A zero
// interval means no limit.
type messageRate struct {
	interval  int64 // nanoseconds
	tolerance int64 // (burst-1) * interval
}

func newMessageRate(l Limits) messageRate {
	if l.MessageRate <= 0 {
		return messageRate{}
	}
	interval := max(1, int64(float64(time.Second)/l.MessageRate))
	return messageRate{interval: interval, tolerance: int64(l.MessageBurst-1) * interval}
}

// allow reports whether a message may come at now (nanoseconds on a
// monotonic clock) given tat, the theoretical arrival time the previous
// messages left, and returns the new tat. It is the whole bucket: one
// int64 of state per session, no allocation, no lock.
func (r messageRate) allow(tat, now int64) (int64, bool) {
	tat = max(tat, now)
	if tat-now > r.tolerance {
		return tat, false
	}
	return tat + r.interval, true
}

// withinRate counts a message the session sent against
// Limits.MessageRate; over the rate it ends the session with an ABORT
// and reports false. Only the session's reading goroutine calls it.
func (s *session) withinRate() bool {
	r := s.router.rate
	if r.interval == 0 {
		return true
	}
	tat, ok := r.allow(s.rateTAT, int64(time.Since(s.router.epoch)))
	s.rateTAT = tat
	if !ok {
		s.rateExceeded()
	}
	return ok
}

//go:noinline
func (s *session) rateExceeded() {
	l := s.router.cfg.Limits
	s.router.limitExceeded(limitMessageRate, "session", s.id, "realm", s.realm.name, "authid", s.authid,
		"remote", s.peer.Info().RemoteAddr, "message_rate", l.MessageRate, "message_burst", l.MessageBurst)
	s.send(abort(URIRateLimitExceeded,
		fmt.Sprintf("more than %v messages a second (bursts of %d)", l.MessageRate, l.MessageBurst)))
}

// sessionLimit returns the ABORT refusing s if its realm or the router
// holds as many sessions as it may, and nil otherwise. r.mu must be held.
func (r *Router) sessionLimit(s *session) (a *wamp.Abort, limit string) {
	l := r.cfg.Limits
	switch {
	case l.MaxSessions >= 0 && len(r.sessions) >= l.MaxSessions:
		return abort(URITooManySessions, fmt.Sprintf("the router serves at most %d sessions", l.MaxSessions)), limitSessions
	case l.MaxSessionsPerRealm >= 0 && s.realm.tracked >= l.MaxSessionsPerRealm:
		return abort(URITooManySessions, fmt.Sprintf("realm %s serves at most %d sessions", s.realm.name, l.MaxSessionsPerRealm)), limitRealmSessions
	}
	return nil, ""
}

// allowSubscribe answers m with an ERROR and reports false if s holds
// Limits.MaxSubscriptionsPerSession subscriptions and m would add one.
// Only s's reading goroutine adds subscriptions of s, so the count cannot
// grow between this check and the subscription.
func (b *broker) allowSubscribe(s *session, m *wamp.Subscribe, match wamp.MatchPolicy) bool {
	max := b.realm.router.cfg.Limits.MaxSubscriptionsPerSession
	if max < 0 {
		return true
	}
	b.mu.RLock()
	mine := b.bySession[s]
	ok := mine.len() < max
	if !ok {
		// Subscribing again to what s holds adds nothing.
		if sub := b.subs.lookup(m.Topic, match); sub != nil {
			ok = mine.get(sub.id) != nil
		}
	}
	b.mu.RUnlock()
	if !ok {
		b.realm.router.limitExceeded(limitSubscriptions, "session", s.id, "realm", s.realm.name, "authid", s.authid,
			"topic", m.Topic, "max", max)
		s.send(requestError(m.Request, wamp.TypeSubscribe, URITooManySubscriptions,
			fmt.Sprintf("a session may hold at most %d subscriptions", max)))
	}
	return ok
}

// allowRegister answers m with an ERROR and reports false if s holds
// Limits.MaxRegistrationsPerSession registrations. As for subscriptions,
// only s's reading goroutine adds registrations of s.
func (d *dealer) allowRegister(s *session, m *wamp.Register) bool {
	max := d.realm.router.cfg.Limits.MaxRegistrationsPerSession
	if max < 0 {
		return true
	}
	d.mu.Lock()
	n := 0
	if sc := d.bySession[s]; sc != nil {
		n = len(sc.regs)
	}
	d.mu.Unlock()
	if n < max {
		return true
	}
	d.realm.router.limitExceeded(limitRegistrations, "session", s.id, "realm", s.realm.name, "authid", s.authid,
		"procedure", m.Procedure, "max", max)
	s.send(requestError(m.Request, wamp.TypeRegister, URITooManyRegistrations,
		fmt.Sprintf("a session may hold at most %d registrations", max)))
	return false
}

// limitExceeded logs and counts a limit hit; args are slog key-value
// pairs.
func (r *Router) limitExceeded(limit string, args ...any) {
	r.metrics.limitsExceeded.WithLabelValues(limit).Inc()
	ok, held := r.limitLogs.allow(limit, time.Now())
	if !ok {
		return
	}
	if held > 0 {
		args = append(args, "not_logged_since_last", held)
	}
	r.log.Warn("router: limit exceeded: "+limit, args...)
}

// logThrottle lets a log line through at most once per second per key,
// counting the ones it holds back; the metric beside it counts them all.
type logThrottle struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

// allow reports whether the line for key may be written at now, and how
// many were held back since the last one written.
func (t *logThrottle) allow(key string, now time.Time) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last, t.held = map[string]time.Time{}, map[string]int{}
	}
	if last, ok := t.last[key]; ok && now.Sub(last) < time.Second {
		t.held[key]++
		return false, 0
	}
	held := t.held[key]
	t.last[key], t.held[key] = now, 0
	return true, held
}

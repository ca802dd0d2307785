package cron

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Scheduler. The zero value is valid: the system
// clock, the local time zone, no cross-process lock, no metrics, and
// slog.Default for logs. Only Namespace can come from a file; the other
// fields are set in code.
type Config struct {
	// Clock tells the time and makes the timers. Default SystemClock();
	// tests use a FakeClock.
	Clock Clock `json:"-" yaml:"-"`

	// Locker, if not nil, makes each tick run once across the processes
	// that share it: before running a tick, the scheduler asks for the
	// lock named Namespace/job/tick and only the process that gets it
	// runs the job. Default nil: every process runs every tick.
	Locker Locker `json:"-" yaml:"-"`

	// Logger receives runs that fail, panic, are skipped, or cannot
	// take their lock (and, at debug level, those that succeed). Default
	// slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`

	// Location is the time zone of Cron specs that do not name one, and
	// of the times Schedule.Next is given. Default time.Local.
	Location *time.Location `json:"-" yaml:"-"`

	// Registerer, if not nil, receives the scheduler's metrics:
	// junction_cron_runs_total{job,outcome} (outcome ok, error, panic,
	// skipped or elsewhere) and the junction_cron_run_seconds{job}
	// histogram. Metrics already registered there (by an earlier
	// Scheduler) are shared. Default nil: no metrics.
	Registerer prometheus.Registerer `json:"-" yaml:"-"`

	// Namespace prefixes the lock keys, so that two apps sharing a
	// Locker do not take each other's locks: usually the app's name.
	// Default "": keys start with the job's name.
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`

	// Rand draws the jitter delays. Default: a source seeded at random.
	// Tests set a seeded one (rand.NewPCG(1, 2)) to get the same delays
	// each time. The scheduler serializes its calls to it.
	Rand rand.Source `json:"-" yaml:"-"`
}

// Locker grants a lock to one caller per key across processes, the
// queue engine's on NATS, for instance. TryLock reports whether the
// caller got the lock on key, which it then holds for ttl; it must not
// wait for the lock to be released, and should return promptly: ctx ends
// when the scheduler stops. Locks are never released early: each key is
// used for one tick only. Implementations must be safe for concurrent
// use; keys may hold any character (the tick is in RFC 3339 with
// nanoseconds, colons included), so a store with a restricted key
// alphabet must encode them.
type Locker interface {
	TryLock(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// LockerFunc adapts a function to the Locker interface.
type LockerFunc func(ctx context.Context, key string, ttl time.Duration) (bool, error)

// TryLock calls f(ctx, key, ttl).
func (f LockerFunc) TryLock(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return f(ctx, key, ttl)
}

func (c Config) withDefaults() Config {
	if c.Clock == nil {
		c.Clock = SystemClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Location == nil {
		c.Location = time.Local
	}
	if c.Rand == nil {
		c.Rand = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return c
}

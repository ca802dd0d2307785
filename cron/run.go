package cron

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// maxWait bounds how long a job's goroutine sleeps before it reads the
// clock again. Timers measure elapsed time, which stops while a machine
// is suspended and ignores wall clock corrections, while ticks are wall
// clock times: waking up now and then keeps a tick from being hours late.
const maxWait = time.Minute

// loop runs the ticks of j until ctx ends or j has no tick left. It is
// the only writer of j.next once the scheduler runs; the first tick is
// computed from the time it starts.
func (s *Scheduler) loop(ctx context.Context, j *job) {
	clock := s.cfg.Clock
	next := s.first(j)
	for {
		s.mu.Lock()
		j.next = next
		s.mu.Unlock()
		if next.IsZero() {
			return
		}
		if wait := next.Sub(clock.Now()); wait > 0 {
			t := clock.NewTimer(min(wait, maxWait))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C():
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		s.tick(ctx, j, next)

		// Ticks missed while this one was late are not caught up: the
		// next tick is the first one after now. Never the same tick
		// twice, even if the wall clock went back.
		after := clock.Now()
		if after.Before(next) {
			after = next
		}
		next = j.sched.Next(after.In(s.cfg.Location))
	}
}

// tick starts the run of j for tick, or skips it under NoOverlap. The
// run has its own goroutine, so the loop waits for the next tick at once.
func (s *Scheduler) tick(ctx context.Context, j *job, tick time.Time) {
	s.mu.Lock()
	if j.paused {
		j.skips++
		j.lastResult = resultPaused
		s.mu.Unlock()
		s.metrics.tick(j.name, outcomeSkipped)
		s.cfg.Logger.Debug("cron: tick skipped: the job is paused", "job", j.name, "tick", tick)
		return
	}
	if j.opts.NoOverlap && j.running > 0 {
		s.mu.Unlock()
		// Counted and logged before the job's record shows the skip, as
		// a run's outcome is before the record shows it ended: whoever
		// reads the record then finds the rest done.
		s.metrics.tick(j.name, outcomeSkipped)
		s.cfg.Logger.Warn("cron: tick skipped: the previous run is still running", "job", j.name, "tick", tick)
		s.mu.Lock()
		j.skips++
		j.lastResult = resultSkipped
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.start(ctx, j, tick)
}

// start starts a run of j for tick on its own goroutine.
func (s *Scheduler) start(ctx context.Context, j *job, tick time.Time) {
	s.mu.Lock()
	j.running++
	var jitter time.Duration
	if j.opts.Jitter > 0 {
		jitter = time.Duration(s.rand.Int64N(int64(j.opts.Jitter)))
	}
	s.mu.Unlock()
	s.wg.Go(func() { s.run(ctx, j, tick, jitter) })
}

// run takes the tick's lock (with a Locker), waits for the jitter, runs
// the job and records how it went.
func (s *Scheduler) run(ctx context.Context, j *job, tick time.Time, jitter time.Duration) {
	defer func() {
		s.mu.Lock()
		j.running--
		s.mu.Unlock()
	}()
	log := s.cfg.Logger.With("job", j.name, "tick", tick)
	if s.cfg.Locker != nil {
		key := s.lockKey(j.name, tick)
		won, err := s.cfg.Locker.TryLock(ctx, key, lockTTL(j.sched, tick))
		switch {
		case ctx.Err() != nil:
			return // stopping
		case err != nil:
			// Fail closed: running without the lock could run the
			// tick in every process.
			s.record(j, outcomeError, "lock failed: "+err.Error())
			log.Error("cron: tick not run: lock failed", "key", key, "err", err)
			return
		case !won:
			s.record(j, outcomeElsewhere, resultElsewhere)
			log.Debug("cron: tick ran elsewhere", "key", key)
			return
		}
	}
	clock := s.cfg.Clock
	if jitter > 0 {
		t := clock.NewTimer(jitter)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}

	start := clock.Now()
	s.mu.Lock()
	j.lastRun = start
	j.runs++
	s.mu.Unlock()
	timedOut, err := s.call(context.WithValue(ctx, tickKey{}, tick), j)
	d := clock.Now().Sub(start)
	s.metrics.ran(j.name, d)
	s.mu.Lock()
	j.lastDur = d
	s.mu.Unlock()

	var pe *panicError
	switch {
	case err == nil:
		s.record(j, outcomeOK, resultOK)
		log.Debug("cron: job done", "duration", d)
	case errors.As(err, &pe):
		s.record(j, outcomePanic, pe.Error())
		log.Error("cron: job panicked", "duration", d, "panic", pe.value, "stack", string(pe.stack))
	default:
		s.record(j, outcomeError, err.Error())
		log.Error("cron: job failed", "duration", d, "timed_out", timedOut, "err", err)
	}
}

// call runs the job with its timeout, turning a panic into a
// *panicError. timedOut reports whether the timeout ended the context.
func (s *Scheduler) call(ctx context.Context, j *job) (timedOut bool, err error) {
	if j.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = withTimeout(ctx, s.cfg.Clock, j.opts.Timeout)
		defer func() {
			timedOut = errors.Is(ctx.Err(), context.DeadlineExceeded)
			cancel()
		}()
	}
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return false, j.fn(ctx)
}

// record counts the outcome of a tick and keeps its result.
func (s *Scheduler) record(j *job, outcome, result string) {
	s.mu.Lock()
	j.lastResult = result
	switch outcome {
	case outcomeError, outcomePanic:
		j.failures++
	case outcomeElsewhere:
		j.elsewhere++
	}
	s.mu.Unlock()
	s.metrics.tick(j.name, outcome)
}

// panicError is a job's panic.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// lockKey is the key of the lock on one tick of a job. It holds the
// tick's scheduled time, not the time it runs, so that every process
// computes the same key.
func (s *Scheduler) lockKey(name string, tick time.Time) string {
	key := name + "/" + tick.UTC().Format(time.RFC3339Nano)
	if s.cfg.Namespace != "" {
		key = s.cfg.Namespace + "/" + key
	}
	return key
}

// Bounds of the TTL of a tick's lock.
const (
	minLockTTL = time.Minute
	maxLockTTL = time.Hour
)

// lockTTL is how long the lock on a tick is held. Each tick has its own
// key, so the lock only has to outlive the moment the last process
// reaches the tick: clocks differ a little between machines and a busy
// process wakes up late. The period of the schedule, but at least a
// minute for frequent jobs and at most an hour, so that the keys of a
// daily job do not linger in the store. One-shot ticks get the hour.
func lockTTL(sched Schedule, tick time.Time) time.Duration {
	period := maxLockTTL
	if next := sched.Next(tick); !next.IsZero() {
		period = next.Sub(tick)
	}
	return min(max(period, minLockTTL), maxLockTTL)
}

type tickKey struct{}

// Tick returns the scheduled time of the tick a job runs for: the same
// in every process, whatever the run's delay or jitter, so that work
// keyed by it (a deduplication ID, a report's period) agrees across
// processes. ok is false outside a job.
func Tick(ctx context.Context) (t time.Time, ok bool) {
	t, ok = ctx.Value(tickKey{}).(time.Time)
	return t, ok
}

package cron

import (
	"errors"
	"fmt"
)

// Errors of RunNow, Pause and Resume.
var (
	// ErrUnknownJob is returned for a name no job has.
	ErrUnknownJob = errors.New("cron: no such job")
	// ErrNotRunning is returned by RunNow before Start or after Stop.
	ErrNotRunning = errors.New("cron: scheduler not running")
	// ErrStillRunning is returned by RunNow for a NoOverlap job whose
	// previous run is still going.
	ErrStillRunning = errors.New("cron: the job's previous run is still running")
)

// resultPaused is JobInfo.LastResult of a tick skipped by Pause.
const resultPaused = "skipped: paused"

// RunNow runs the job now, beside its schedule, as a tick of this
// instant would: with its timeout, its Locker lock and its jitter, its
// outcome recorded. An operator's "run now": the scheduler must be
// running, and a NoOverlap job must not be.
func (s *Scheduler) RunNow(name string) error {
	s.mu.Lock()
	j, ok := s.jobs[name]
	switch {
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrUnknownJob, name)
	case s.state != stateRunning:
		s.mu.Unlock()
		return ErrNotRunning
	case j.opts.NoOverlap && j.running > 0:
		s.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrStillRunning, name)
	}
	ctx := s.ctx
	s.mu.Unlock()
	s.cfg.Logger.Info("cron: job run now", "job", name)
	s.start(ctx, j, s.cfg.Clock.Now())
	return nil
}

// Pause skips the job's ticks until Resume: each is recorded (JobInfo's
// Skips and LastResult) and logged at debug level. A run going on is
// not stopped. Pausing is this process's: with a Locker, another process
// may still run the ticks.
func (s *Scheduler) Pause(name string) error { return s.setPaused(name, true) }

// Resume lets the job's ticks run again after Pause.
func (s *Scheduler) Resume(name string) error { return s.setPaused(name, false) }

func (s *Scheduler) setPaused(name string, paused bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	if j.paused != paused {
		j.paused = paused
		s.cfg.Logger.Info("cron: job paused or resumed", "job", name, "paused", paused)
	}
	return nil
}

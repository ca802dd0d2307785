package cron

import (
	"context"
	"fmt"
	"time"
)

// Job is the work done at each tick. Its context carries the values of
// the context given to Start; it is cancelled when the scheduler stops
// and, with Options.Timeout, when the run has lasted that long. A
// returned error is logged and counted, and the schedule goes on; so does
// a panic, logged with its stack.
type Job func(ctx context.Context) error

// Options tune how a job runs. The zero value runs every tick at once,
// with no time limit, overlapping runs allowed.
type Options struct {
	// NoOverlap skips a tick that comes while the job's previous run in
	// this process is still going: the tick is not queued, it is logged
	// and counted in JobInfo.Skips. Without it, runs may overlap. It
	// does not reach across processes: with a Locker, a tick this
	// process skips may run in another one, and a run here may overlap
	// with a longer one elsewhere.
	NoOverlap bool `json:"no_overlap,omitempty" yaml:"no_overlap,omitempty"`

	// Jitter delays each run by a random duration in [0, Jitter), to
	// spread jobs that share a tick (all the @hourly ones, say). The
	// delay counts as running for NoOverlap. Default 0: no delay.
	Jitter time.Duration `json:"jitter,omitempty" yaml:"jitter,omitempty"`

	// Timeout bounds each run: the job's context ends with
	// context.DeadlineExceeded once it has run that long, on the
	// scheduler's clock. The job must return for the run to end.
	// Default 0: no limit.
	Timeout time.Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

func (o Options) validate() error {
	if o.Jitter < 0 {
		return fmt.Errorf("negative jitter %s", o.Jitter)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("negative timeout %s", o.Timeout)
	}
	return nil
}

// JobInfo is what Scheduler.Jobs says about a job, as seen from this
// process.
type JobInfo struct {
	// Name is the job's name.
	Name string `json:"name"`
	// Schedule is the spec as given to Cron, "@every 5m0s" for Every,
	// "@at 2026-01-02T15:04:05Z" for At, or what a Schedule's String
	// method says.
	Schedule string `json:"schedule"`
	// Next is the next tick; zero when there is none left (an At job
	// that ran) or the scheduler has stopped.
	Next time.Time `json:"next,omitzero"`
	// LastRun is when the last run started (after its jitter); zero if
	// the job never ran here.
	LastRun time.Time `json:"last_run,omitzero"`
	// LastDuration is how long the last finished run took, in
	// nanoseconds in JSON; absent before the first run ends.
	LastDuration time.Duration `json:"last_duration,omitzero"`
	// LastResult is how the last tick ended: "ok", the error's text,
	// "panic: " and the value, "skipped: still running" (NoOverlap),
	// "ran elsewhere" (another process had the lock), or "lock failed: "
	// and the Locker's error. Empty (absent in JSON) before the first
	// tick.
	LastResult string `json:"last_result,omitempty"`
	// Runs counts the runs started here; Failures those that returned an
	// error or panicked, plus the ticks lost because the Locker failed.
	Runs     int64 `json:"runs"`
	Failures int64 `json:"failures"`
	// Skips counts the ticks skipped by NoOverlap.
	Skips int64 `json:"skips"`
	// RanElsewhere counts the ticks another process ran (Locker).
	RanElsewhere int64 `json:"ran_elsewhere"`
	// Running reports whether a run is going on now (jitter included).
	Running bool `json:"running"`
	// Paused reports whether Pause holds the job's ticks.
	Paused bool `json:"paused,omitempty"`
}

// Results recorded in JobInfo.LastResult.
const (
	resultOK        = "ok"
	resultSkipped   = "skipped: still running"
	resultElsewhere = "ran elsewhere"
)

// job is a scheduled job. The fields after the first group are guarded
// by Scheduler.mu.
type job struct {
	name  string
	sched Schedule
	desc  string // JobInfo.Schedule
	fn    Job
	opts  Options
	at    time.Time // the tick of an At job, zero for the others

	next       time.Time
	lastRun    time.Time
	lastDur    time.Duration
	lastResult string
	runs       int64
	failures   int64
	skips      int64
	elsewhere  int64
	running    int
	paused     bool
}

func (j *job) info() JobInfo {
	return JobInfo{
		Name:         j.name,
		Schedule:     j.desc,
		Next:         j.next,
		LastRun:      j.lastRun,
		LastDuration: j.lastDur,
		LastResult:   j.lastResult,
		Runs:         j.runs,
		Failures:     j.failures,
		Skips:        j.skips,
		RanElsewhere: j.elsewhere,
		Running:      j.running > 0,
		Paused:       j.paused,
	}
}

package cron

import "errors"

// Errors returned by the scheduler. Errors about one job wrap one of these
// and name the job (and the spec, for ErrBadSpec).
var (
	// ErrBadSpec is returned by Parse and Scheduler.Cron for a spec that
	// does not parse or never fires. The error names the spec and, when
	// one field is at fault, the field.
	ErrBadSpec = errors.New("cron: bad spec")
	// ErrInvalidJob is returned for a job with an empty name, a nil Job
	// or Schedule, an Every interval that is not positive, or a negative
	// Jitter or Timeout.
	ErrInvalidJob = errors.New("cron: invalid job")
	// ErrDuplicateJob is returned when a job is added under a name the
	// scheduler already has.
	ErrDuplicateJob = errors.New("cron: duplicate job name")
	// ErrPast is returned by At for a time before the clock's now.
	ErrPast = errors.New("cron: time is in the past")
	// ErrStarted is returned by a second call to Start.
	ErrStarted = errors.New("cron: scheduler already started")
	// ErrStopped is returned by Start and by the methods that add jobs
	// once Stop has been called.
	ErrStopped = errors.New("cron: scheduler stopped")
)

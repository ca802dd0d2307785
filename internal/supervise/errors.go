package supervise

import "errors"

// Errors from this package name the spec they are about ("service cache:
// not ready after 30s: ...") rather than the package: they reach the
// operator who wrote the spec, not a Go programmer. The sentinels below
// are embedded in those messages; match them with errors.Is.
var (
	// ErrNeedRoot: the spec sets User or Group and this process cannot
	// switch to them because it does not run as root.
	ErrNeedRoot = errors.New("needs root")

	// ErrNotExecutable: Spec.Path names a file that is not an executable
	// regular file.
	ErrNotExecutable = errors.New("not executable")

	// ErrNotReady: the Ready check did not pass within ReadyTimeout, or
	// before the context given to Start or Restart ended.
	ErrNotReady = errors.New("not ready")

	// ErrExited: the program exited before it was ready.
	ErrExited = errors.New("exited before it was ready")

	// ErrStopped: the Process was stopped; Restart no longer applies.
	ErrStopped = errors.New("stopped")

	// ErrNotRunning: Signal found no current run (backoff, stopped or
	// failed).
	ErrNotRunning = errors.New("not running")
)

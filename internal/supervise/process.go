package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// State is where a Process is in its life; see the package doc.
type State string

// The states of a Process.
const (
	Starting State = "starting" // a run was started and is not ready yet
	Running  State = "running"  // the current run is ready
	Backoff  State = "backoff"  // waiting to restart after a run ended
	Stopping State = "stopping" // the current run was asked to stop
	Stopped  State = "stopped"  // Stop, or an exit the policy does not restart
	Failed   State = "failed"   // given up: a crash loop, or a failure not restarted
)

// Exit says how a run ended.
type Exit struct {
	PID    int           // 0 when the program could not be started
	Code   int           // exit code; -1 if signalled or not started
	Signal string        // the signal that ended it ("killed", "terminated"), or ""
	Ran    time.Duration // how long it ran
	// Err is nil for exit code 0; otherwise the *exec.ExitError, the
	// error that kept the program from starting (PID 0), or the one that
	// kept it from becoming ready (the supervisor then stopped it).
	Err error
}

// failed says whether the run failed, for the on-failure policy.
func (e Exit) failed() bool { return e.Code != 0 || e.Err != nil }

// Status is a snapshot of a Process.
type Status struct {
	Name      string
	State     State
	PID       int       // of the current run; 0 if none
	Restarts  int       // runs started after the first, by policy or Restart
	StartedAt time.Time // of the current or last run
	LastExit  *Exit     // nil before the first run ended
	Lines     []string  // the last 50 output lines of any run, oldest first
}

// Process is a supervised program, started by Start. Its methods are
// safe for concurrent use.
type Process struct {
	spec Spec // with defaults
	res  resolved

	reqs chan *request // Restart to the supervisor goroutine

	// stop is closed by the first Stop, kill when a Stop's context ended.
	stop, kill chan struct{}
	killOnce   sync.Once

	mu        sync.Mutex
	state     State
	run       *run // nil between runs
	restarts  int
	startedAt time.Time
	lastExit  *Exit
	lines     ring
	stopped   bool          // Stop was called
	live      bool          // a supervisor goroutine is running
	done      chan struct{} // the current supervision's; see Done
}

// request asks the supervisor goroutine for a run and for the outcome of
// its start; ctx bounds that start.
type request struct {
	ctx   context.Context
	first bool // Start's: on failure, supervision ends
	reply chan error
}

func newRequest(ctx context.Context, first bool) *request {
	return &request{ctx: ctx, first: first, reply: make(chan error, 1)}
}

// Start validates spec, starts the program and waits until it is ready:
// Spec.Ready passes, or at once without one. On failure, whatever was
// started is stopped and the error says why: not ready within
// ReadyTimeout (naming the check and its last error), exited before it
// was ready (with its last output lines), or ctx ended. ctx bounds only
// the start: the Process is supervised until Stop, or until it fails.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	spec = spec.withDefaults()
	res, err := spec.validate()
	if err != nil {
		return nil, err
	}
	p := &Process{
		spec:  spec,
		res:   res,
		reqs:  make(chan *request),
		stop:  make(chan struct{}),
		kill:  make(chan struct{}),
		state: Starting,
		live:  true,
		done:  make(chan struct{}),
	}
	req := newRequest(ctx, true)
	go p.supervise(req, p.done)
	if err := <-req.reply; err != nil {
		<-p.done
		return nil, err
	}
	return p, nil
}

// Status returns a snapshot of the Process.
func (p *Process) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{
		Name:      p.spec.Name,
		State:     p.state,
		Restarts:  p.restarts,
		StartedAt: p.startedAt,
		Lines:     p.lines.last(keepLines, 0),
	}
	if p.run != nil {
		s.PID = p.run.pid
	}
	if p.lastExit != nil {
		e := *p.lastExit
		s.LastExit = &e
	}
	return s
}

// Done returns a channel closed when supervision has ended: after Stop,
// or when the Process failed. Restart of a failed Process supervises it
// again, and Done then returns a new channel.
func (p *Process) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Signal sends sig to the current run's process (not its group). It
// fails with ErrNotRunning between runs.
func (p *Process) Signal(sig os.Signal) error {
	p.mu.Lock()
	r := p.run
	p.mu.Unlock()
	if r == nil {
		return fmt.Errorf("%s: %w", p.spec.who(), ErrNotRunning)
	}
	if err := r.proc.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("%s: %w", p.spec.who(), ErrNotRunning)
		}
		return fmt.Errorf("%s: signal: %w", p.spec.who(), err)
	}
	return nil
}

// Stop stops the current run gracefully (StopSignal to its process
// group, SIGKILL after StopTimeout) and ends supervision, and waits for
// both. When ctx ends first the group is killed at once, Stop still
// waits for the exit, and it returns ctx's error. Stop is idempotent; on
// a failed Process it only prevents any Restart.
func (p *Process) Stop(ctx context.Context) error {
	p.mu.Lock()
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	p.killOnce.Do(func() { close(p.kill) })
	<-done
	return fmt.Errorf("%s: killed: %w", p.spec.who(), ctx.Err())
}

// Restart stops the current run gracefully, if any, starts a new one at
// once (a backoff is cut short) and waits until it is ready, like Start;
// ctx bounds that and, when it ends, kills the old run at once. It
// counts in Status.Restarts, not toward the crash loop. A Process whose
// supervision ended by itself (failed, or stopped by its policy) is
// supervised again, from a clean crash count. If the new run does not
// become ready, Restart returns why and the restart policy takes over.
// After Stop, Restart returns ErrStopped.
func (p *Process) Restart(ctx context.Context) error {
	for {
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			return fmt.Errorf("%s: %w", p.spec.who(), ErrStopped)
		}
		req := newRequest(ctx, false)
		if !p.live {
			p.live = true
			p.done = make(chan struct{})
			p.restarts++
			go p.supervise(req, p.done)
			p.mu.Unlock()
			return <-req.reply
		}
		done := p.done
		p.mu.Unlock()
		select {
		case p.reqs <- req:
			return <-req.reply
		case <-done:
			// Stopped or failed meanwhile: look again.
		case <-ctx.Done():
			return fmt.Errorf("%s: restart: %w", p.spec.who(), ctx.Err())
		}
	}
}

func (p *Process) setState(s State) {
	p.mu.Lock()
	p.state = s
	p.mu.Unlock()
}

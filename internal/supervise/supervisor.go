package supervise

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

const (
	// pollEvery is the pause between calls of a Ready check.
	pollEvery = 50 * time.Millisecond
	// attemptTimeout bounds one call of a Ready check.
	attemptTimeout = time.Second
)

// outcome is how runOnce ended.
type outcome struct {
	exit    Exit
	quit    bool     // supervision ends: Stop, or Start's run failed
	restart *request // Restart asked for a new run now
}

// supervise owns the runs of one supervision, from the run req asks for
// until Stop or giving up, and then closes done. It is the only
// goroutine that starts and stops runs.
func (p *Process) supervise(req *request, done chan struct{}) {
	defer close(done)
	pol := p.spec.Restart
	var (
		delay   time.Duration
		crashes []time.Time // restarts by policy within Window
	)
	for {
		o := p.runOnce(req)
		req = nil
		switch {
		case o.quit:
			p.end(Stopped)
			return
		case o.restart != nil:
			req = o.restart
			p.mu.Lock()
			p.restarts++
			p.mu.Unlock()
			continue
		}
		e := o.exit
		if pol.When == Never || (pol.When == OnFailure && !e.failed()) {
			if e.failed() {
				p.spec.Logger.Error(fmt.Sprintf("%s: %s; restart policy %q: not restarted", p.spec.who(), e.describe(), pol.When), "process", p.spec.Name)
				p.end(Failed)
			} else {
				p.end(Stopped)
			}
			return
		}
		now := time.Now()
		if e.Ran >= pol.StableAfter {
			delay, crashes = 0, nil
		}
		for len(crashes) > 0 && now.Sub(crashes[0]) > pol.Window {
			crashes = crashes[1:]
		}
		if pol.MaxRestarts >= 0 && len(crashes) >= pol.MaxRestarts {
			p.spec.Logger.Error(fmt.Sprintf("%s: crash loop: %d restarts within %v, last %s; giving up", p.spec.who(), len(crashes), pol.Window, e.describe()),
				"process", p.spec.Name, "pid", e.PID)
			p.end(Failed)
			return
		}
		crashes = append(crashes, now)
		delay = min(max(2*delay, pol.MinDelay), pol.MaxDelay)
		wait := time.Duration(float64(delay) * (0.8 + 0.4*rand.Float64()))
		p.setState(Backoff)
		p.spec.Logger.Info(fmt.Sprintf("%s: %s; restarting in %v", p.spec.who(), e.describe(), wait.Round(time.Millisecond)), "process", p.spec.Name)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.stop:
			t.Stop()
			p.end(Stopped)
			return
		case req = <-p.reqs:
			t.Stop()
		}
		p.mu.Lock()
		p.restarts++
		p.mu.Unlock()
	}
}

// end ends supervision in state s.
func (p *Process) end(s State) {
	p.mu.Lock()
	p.state = s
	p.live = false
	p.mu.Unlock()
}

// runOnce starts a run, waits until it is ready and then until it ends
// or is stopped. It answers req, if any, once the run is ready or has
// failed to be.
func (p *Process) runOnce(req *request) outcome {
	who := p.spec.who()
	reply := func(err error) {
		if req != nil {
			req.reply <- err
		}
	}
	p.mu.Lock()
	p.state = Starting
	n := p.restarts + 1
	p.mu.Unlock()

	r, err := p.spawn(n)
	if err != nil {
		e := Exit{Code: -1, Err: fmt.Errorf("start %s: %w", p.res.path, err)}
		p.ended(e)
		reply(fmt.Errorf("%s: %w", who, e.Err))
		return outcome{exit: e, quit: req != nil && req.first}
	}
	p.mu.Lock()
	p.run, p.startedAt = r, r.started
	p.mu.Unlock()

	// Wait until ready. A failed start stops the run and, but for Start's
	// first run, leaves the rest to the restart policy.
	var force <-chan struct{}
	if req != nil {
		force = req.ctx.Done()
	}
	switch w := p.awaitReady(r, req); {
	case w.stop:
		p.stopRun(r, nil)
		p.ended(r.exit)
		reply(fmt.Errorf("%s: %w", who, ErrStopped))
		return outcome{exit: r.exit, quit: true}
	case w.restart != nil:
		p.stopRun(r, w.restart.ctx.Done())
		p.ended(r.exit)
		reply(fmt.Errorf("%s: restarted again before it was ready", who))
		return outcome{exit: r.exit, restart: w.restart}
	case w.exited:
		e := r.exit
		err := fmt.Errorf("%s: %w (%s)", who, ErrExited, e.describe())
		if e.Err != nil {
			err = fmt.Errorf("%s: %w (%w)", who, ErrExited, e.Err)
		}
		p.mu.Lock()
		lines := p.lines.last(errLines, r.n)
		p.mu.Unlock()
		if len(lines) > 0 {
			err = fmt.Errorf("%w; last output:\n\t%s", err, strings.Join(lines, "\n\t"))
		}
		e.Err = err
		p.ended(e)
		reply(err)
		return outcome{exit: e, quit: req != nil && req.first}
	case w.err != nil:
		p.spec.Logger.Warn(w.err.Error(), "process", p.spec.Name, "pid", r.pid)
		p.stopRun(r, force)
		e := r.exit
		e.Err = w.err
		p.ended(e)
		reply(w.err)
		return outcome{exit: e, quit: req != nil && req.first}
	}

	p.setState(Running)
	p.spec.Logger.Info(fmt.Sprintf("%s: started", who), "process", p.spec.Name, "pid", r.pid)
	if p.spec.OnStart != nil {
		p.spec.OnStart(r.pid)
	}
	reply(nil)

	select {
	case <-r.exited:
		p.ended(r.exit)
		return outcome{exit: r.exit}
	case <-p.stop:
		p.stopRun(r, nil)
		p.ended(r.exit)
		return outcome{exit: r.exit, quit: true}
	case next := <-p.reqs:
		p.stopRun(r, next.ctx.Done())
		p.ended(r.exit)
		return outcome{exit: r.exit, restart: next}
	}
}

// ended records the end of a run and reports it.
func (p *Process) ended(e Exit) {
	p.mu.Lock()
	p.run = nil
	p.lastExit = &e
	p.mu.Unlock()
	if p.spec.OnExit != nil {
		p.spec.OnExit(e)
	}
}

// wait is what ended awaitReady: ready when all fields are zero.
type wait struct {
	err     error // not ready in time, or req's context ended
	exited  bool
	stop    bool
	restart *request
}

// awaitReady waits until run r is ready, fails to be, or something else
// happens first.
func (p *Process) awaitReady(r *run, req *request) wait {
	check := p.spec.Ready
	if check == nil {
		return wait{}
	}
	var cancelled <-chan struct{}
	if req != nil {
		cancelled = req.ctx.Done()
	}
	timeout := time.NewTimer(p.spec.ReadyTimeout)
	defer timeout.Stop()

	// A LogLine check is told by the output readers; others are polled
	// by a goroutine that this function stops before it returns.
	var (
		ready   <-chan struct{}
		result  chan error
		cancel  context.CancelFunc
		polling bool
	)
	if _, ok := check.(*logLineCheck); ok {
		ready = r.matched
	} else {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		result = make(chan error, 1)
		polling = true
		go poll(ctx, check, result)
	}
	// lastErr stops the poller and returns its last error; nil means the
	// check passed after all.
	lastErr := func() error {
		if !polling {
			return errNoLine
		}
		polling = false
		cancel()
		return <-result
	}
	defer lastErr()

	select {
	case <-ready:
		return wait{}
	case <-result: // only nil comes before cancel
		polling = false
		cancel()
		return wait{}
	case <-r.exited:
		return wait{exited: true}
	case <-p.stop:
		return wait{stop: true}
	case next := <-p.reqs:
		return wait{restart: next}
	case <-timeout.C:
		if err := lastErr(); err != nil {
			return wait{err: fmt.Errorf("%s: %w after %v: %s: %w", p.spec.who(), ErrNotReady, p.spec.ReadyTimeout, check, err)}
		}
		return wait{}
	case <-cancelled:
		if err := lastErr(); err != nil {
			return wait{err: fmt.Errorf("%s: %w: %w; %s: %w", p.spec.who(), ErrNotReady, req.ctx.Err(), check, err)}
		}
		return wait{}
	}
}

// poll calls check until it passes (sending nil) or ctx ends (sending
// the last error).
func poll(ctx context.Context, check Check, result chan<- error) {
	var last error
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			result <- last
			return
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := check.Check(actx)
		cancel()
		if err == nil {
			result <- nil
			return
		}
		if ctx.Err() == nil || last == nil {
			last = err
		}
		t.Reset(pollEvery)
	}
}

package cron

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Scheduler runs jobs on schedules. Add jobs with Every, Cron, At or
// Schedule, before or after Start; Stop ends it. All its methods are safe
// for concurrent use.
type Scheduler struct {
	cfg        Config
	metrics    *metrics
	metricsErr error // reported by Start

	mu      sync.Mutex
	rand    *rand.Rand // draws jitter, guarded by mu
	jobs    map[string]*job
	state   state
	ctx     context.Context // the jobs' base context, set by Start
	cancel  context.CancelFunc
	wg      sync.WaitGroup // job loops and runs
	stopped chan struct{}
}

type state int

const (
	stateNew state = iota
	stateRunning
	stateStopping
	stateStopped
)

// New returns a scheduler configured by cfg; see Config for the
// defaults. It runs nothing before Start.
func New(cfg Config) *Scheduler {
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		err = fmt.Errorf("cron: metrics: %w", err)
	}
	return &Scheduler{
		cfg:        cfg,
		metrics:    m,
		metricsErr: err,
		rand:       rand.New(cfg.Rand),
		jobs:       make(map[string]*job),
		stopped:    make(chan struct{}),
	}
}

// Every runs job every d, on the multiples of d since the zero time, so
// that all processes tick together: every 5 minutes at :00, :05, :10...,
// every hour on the hour UTC. The first run is at the first multiple
// after Start, not at Start. d must be positive.
func (s *Scheduler) Every(name string, d time.Duration, job Job, opts Options) error {
	if d <= 0 {
		return fmt.Errorf("%w %q: Every(%s): the interval must be positive", ErrInvalidJob, name, d)
	}
	return s.Schedule(name, everySchedule{d: d, spec: "@every " + d.String()}, job, opts)
}

// Cron runs job on a cron spec: 5 fields, 6 with seconds, a descriptor
// such as @hourly or "@every 1h30m", optionally after a time zone
// ("CRON_TZ=Europe/Paris 0 9 * * mon-fri"). See Parse for the syntax and
// the errors. A spec without a time zone uses Config.Location.
func (s *Scheduler) Cron(name, spec string, job Job, opts Options) error {
	sched, err := Parse(spec)
	if err != nil {
		return fmt.Errorf("cron: job %q: %w", name, err)
	}
	return s.Schedule(name, sched, job, opts)
}

// At runs job once, at t. A t before the clock's now is refused with
// ErrPast; a t that passes between At and Start runs at Start. Once run,
// the job stays listed by Jobs, with no next tick.
func (s *Scheduler) At(name string, t time.Time, job Job, opts Options) error {
	if now := s.cfg.Clock.Now(); t.Before(now) {
		return fmt.Errorf("%w: job %q: At(%s), now is %s", ErrPast, name,
			t.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
	}
	return s.add(name, atSchedule(t), job, opts, t)
}

// Schedule runs job at the ticks of sched. JobInfo.Schedule is what
// sched's String method says, if it has one, else "custom". With a
// Locker, read the note on Schedule about ticks across processes.
func (s *Scheduler) Schedule(name string, sched Schedule, job Job, opts Options) error {
	if sched == nil {
		return fmt.Errorf("%w %q: nil Schedule", ErrInvalidJob, name)
	}
	return s.add(name, sched, job, opts, time.Time{})
}

func (s *Scheduler) add(name string, sched Schedule, fn Job, opts Options, at time.Time) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidJob)
	}
	if fn == nil {
		return fmt.Errorf("%w %q: nil Job", ErrInvalidJob, name)
	}
	if err := opts.validate(); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidJob, name, err)
	}
	desc := "custom"
	if str, ok := sched.(fmt.Stringer); ok {
		desc = str.String()
	}
	j := &job{name: name, sched: sched, desc: desc, fn: fn, opts: opts, at: at}
	j.next = s.first(j) // for Jobs before Start; the loop computes it again

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state >= stateStopping {
		return fmt.Errorf("%w: cannot add job %q", ErrStopped, name)
	}
	if _, ok := s.jobs[name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateJob, name)
	}
	s.jobs[name] = j
	if s.state == stateRunning {
		s.wg.Go(func() { s.loop(s.ctx, j) })
	}
	return nil
}

// first returns the first tick of j from now.
func (s *Scheduler) first(j *job) time.Time {
	if !j.at.IsZero() {
		return j.at
	}
	return j.sched.Next(s.cfg.Clock.Now().In(s.cfg.Location))
}

// Start starts running the jobs, each on its own goroutine. The jobs'
// contexts carry ctx's values (not its cancellation: Stop ends them).
// The next ticks are computed from now: ticks missed before Start are
// not run, except an At whose time has come. Start returns ErrStarted if
// called twice, ErrStopped after Stop, and an error if the metrics could
// not be registered.
func (s *Scheduler) Start(ctx context.Context) error {
	if s.metricsErr != nil {
		return s.metricsErr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case stateRunning:
		return ErrStarted
	case stateStopping, stateStopped:
		return ErrStopped
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.state = stateRunning
	for _, j := range s.jobs {
		s.wg.Go(func() { s.loop(s.ctx, j) })
	}
	return nil
}

// Stop stops scheduling, cancels the contexts of the running jobs and
// waits for them to return, until ctx ends; it then returns an error
// naming the jobs still running, which Stopped reports the end of. Stop
// is safe to call twice, and before Start.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	switch s.state {
	case stateNew:
		s.state = stateStopped
		close(s.stopped)
	case stateRunning:
		s.state = stateStopping
		s.cancel()
		go func() {
			s.wg.Wait()
			s.mu.Lock()
			s.state = stateStopped
			s.mu.Unlock()
			close(s.stopped)
		}()
	}
	s.mu.Unlock()

	select {
	case <-s.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cron: stop: still running: %s: %w", strings.Join(s.running(), ", "), ctx.Err())
	}
}

// running returns the names of the jobs running now.
func (s *Scheduler) running() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for name, j := range s.jobs {
		if j.running > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Stopped returns a channel closed once Stop has been called and every
// job has returned.
func (s *Scheduler) Stopped() <-chan struct{} { return s.stopped }

// Jobs describes the jobs, sorted by name.
func (s *Scheduler) Jobs() []JobInfo {
	s.mu.Lock()
	infos := make([]JobInfo, 0, len(s.jobs))
	for _, j := range s.jobs {
		info := j.info()
		if s.state >= stateStopping {
			info.Next = time.Time{}
		}
		infos = append(infos, info)
	}
	s.mu.Unlock()
	slices.SortFunc(infos, func(a, b JobInfo) int { return cmp.Compare(a.Name, b.Name) })
	return infos
}

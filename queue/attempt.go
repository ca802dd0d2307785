package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// policy is what a task may spend.
type policy struct {
	maxAttempts int
	timeout     time.Duration
}

func (q *Queue) policy(th taskHandler, hasHandler bool, m jetstream.Msg) policy {
	retries, timeout := q.cfg.MaxRetries, q.cfg.Timeout
	if hasHandler {
		if th.cfg.MaxRetries != 0 {
			retries = th.cfg.MaxRetries
		}
		if th.cfg.Timeout > 0 {
			timeout = th.cfg.Timeout
		}
	}
	h := m.Headers()
	if n, err := strconv.Atoi(h.Get(hdrMaxRetries)); err == nil {
		retries = n
	}
	if d, err := time.ParseDuration(h.Get(hdrTimeout)); err == nil && d > 0 {
		timeout = d
	}
	return policy{maxAttempts: max(retries, 0) + 1, timeout: timeout}
}

// attempt is one delivery of a task to this process.
type attempt struct {
	q    *Queue
	msg  jetstream.Msg
	task Task
	gen  string
	th   taskHandler
	ok   bool // th is set
	pol  policy
}

// process runs one delivery of a task, from its fetch to its ack.
func (q *Queue) process(m jetstream.Msg) {
	h := m.Headers()
	meta, err := m.Metadata()
	if err != nil || !validID(h.Get(hdrID)) || validTaskName(h.Get(hdrName)) != nil {
		// Not a task: someone else published on the subject.
		q.log.Error("queue: dropping a message that is not a task", "subject", m.Subject(), "headers", h)
		_ = m.Term()
		return
	}
	a := &attempt{q: q, msg: m, gen: h.Get(hdrGen)}
	a.task = Task{ID: h.Get(hdrID), Name: h.Get(hdrName), Payload: m.Data(), EnqueuedAt: parseTime(h.Get(hdrEnqueued))}
	a.th, a.ok = q.handler(a.task.Name)
	a.pol = q.policy(a.th, a.ok, m)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()

	// The first delivery is the first attempt. Later ones are retries,
	// redeliveries after a lost worker, or tasks given back by Stop,
	// which the record tells apart: it counts the attempts that started.
	a.task.Attempt = int(meta.NumDelivered)
	var prev *record
	if meta.NumDelivered > 1 {
		if rec, _, err := q.getRecord(ctx, a.task.ID); err == nil && rec.Gen == a.gen {
			prev = rec
			a.task.Attempt = rec.Attempts + 1
		}
	}
	if prev != nil && prev.State.Final() {
		// It ended, but NATS did not hear of it: say it again.
		if prev.State == Done {
			_ = m.Ack()
		} else {
			_ = m.Term()
		}
		return
	}
	if a.task.Attempt > a.pol.maxAttempts {
		lost := fmt.Errorf("%w: attempt %d never finished (its worker stopped or lost its lease)", ErrLost, a.task.Attempt-1)
		a.task.Attempt--
		a.bury(ctx, Dead, lost)
		return
	}

	rec := a.record(Running)
	if err := q.putRecord(ctx, rec); err != nil {
		// Without the record, a crash in this attempt would not count.
		q.log.Warn("queue: could not start a task", "task", a.task.Name, "id", a.task.ID, "err", err)
		_ = m.NakWithDelay(q.backoff(1))
		return
	}
	q.e.metrics.addRunning(q.name, 1)
	defer q.e.metrics.addRunning(q.name, -1)
	a.run()
}

type outcome struct {
	value []byte
	err   error
}

// run calls the handler, renewing the lease while it runs, and ends the
// attempt when the handler returns, times out, or Stop gives up on it.
func (a *attempt) run() {
	q := a.q
	timeoutErr := fmt.Errorf("%w after %s", ErrTimeout, a.pol.timeout)
	ctx, cancel := context.WithTimeoutCause(q.runCtx, a.pol.timeout, timeoutErr)
	defer cancel()
	res := make(chan outcome, 1)
	if a.ok {
		task := a.task // the handler's own copy
		go a.call(ctx, &task, res)
	} else {
		res <- outcome{err: fmt.Errorf("%w %q", ErrNoHandler, a.task.Name)}
	}
	hb := time.NewTicker(q.heartbeat)
	defer hb.Stop()
	for {
		select {
		case o := <-res:
			a.finish(o)
			return
		case <-hb.C:
			_ = a.msg.InProgress()
		case <-ctx.Done():
			if context.Cause(ctx) == errStopping {
				a.giveBack()
			} else {
				a.finish(outcome{err: timeoutErr})
			}
			a.await(res)
			return
		}
	}
}

// call runs the handler, turning a panic into an error.
func (a *attempt) call(ctx context.Context, t *Task, res chan<- outcome) {
	defer func() {
		if r := recover(); r != nil {
			a.q.log.Error("queue: task panicked", "task", t.Name, "id", t.ID, "attempt", t.Attempt,
				"panic", r, "stack", string(debug.Stack()))
			res <- outcome{err: fmt.Errorf("queue: task %s panicked: %v", t.Name, r)}
		}
	}()
	v, err := a.th.h(ctx, t)
	res <- outcome{value: v, err: err}
}

// await keeps the worker busy until the handler of an attempt already
// ended returns, so that Workers bounds the handlers running, or until
// Stop gives up on it.
func (a *attempt) await(res <-chan outcome) {
	warn := time.NewTimer(time.Second)
	defer warn.Stop()
	for {
		select {
		case <-res:
			return
		case <-a.q.abandon:
			a.q.log.Warn("queue: left a handler running after stop: it ignores its context",
				"task", a.task.Name, "id", a.task.ID)
			return
		case <-warn.C:
			a.q.log.Warn("queue: a handler ignores its context: its worker waits for it",
				"task", a.task.Name, "id", a.task.ID, "attempt", a.task.Attempt)
		}
	}
}

// finish records how the attempt ended and tells NATS.
func (a *attempt) finish(o outcome) {
	q := a.q
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if limit := q.e.maxValue(); o.err == nil && len(o.value) > limit {
		o.err = Permanent(fmt.Errorf("%w: result of %d bytes, over the limit of %d", ErrTooLarge, len(o.value), limit))
	}
	switch {
	case o.err == nil:
		rec := a.record(Done)
		rec.Value = o.value
		rec.Finished = q.e.clock.Now()
		if err := q.putRecord(ctx, rec); err != nil {
			// The result would be lost and the task seen running
			// forever: run it again instead.
			q.log.Error("queue: could not record a result; the task will run again", "task", a.task.Name, "id", a.task.ID, "err", err)
			_ = a.msg.NakWithDelay(q.backoff(a.task.Attempt))
			return
		}
		_ = a.msg.Ack()
		q.ended(a.task.Name, outcomeDone)
		q.done(rec.Result)
	case isPermanent(o.err):
		a.bury(ctx, Failed, o.err)
	case a.task.Attempt < a.pol.maxAttempts:
		delay := q.backoff(a.task.Attempt)
		rec := a.record(Pending)
		rec.Error = errorText(o.err)
		rec.RunAt = q.e.clock.Now().Add(delay)
		if err := q.putRecord(ctx, rec); err != nil {
			q.log.Warn("queue: could not record a failed attempt", "task", a.task.Name, "id", a.task.ID, "err", err)
		}
		_ = a.msg.NakWithDelay(delay)
		q.ended(a.task.Name, outcomeRetry)
		q.log.Info("queue: task failed, will retry", "task", a.task.Name, "id", a.task.ID,
			"attempt", a.task.Attempt, "retry_in", delay, "err", o.err)
	default:
		a.bury(ctx, Dead, o.err)
	}
}

// bury ends a task that will not run again: into the dead letters, then
// its record, then NATS forgets its message.
func (a *attempt) bury(ctx context.Context, state State, cause error) {
	q := a.q
	now := q.e.clock.Now()
	dl := deadRecord{
		DeadTask: DeadTask{
			ID: a.task.ID, Name: a.task.Name, State: state, Payload: a.task.Payload,
			Error: errorText(cause), Attempts: a.task.Attempt, EnqueuedAt: a.task.EnqueuedAt, Died: now,
		},
	}
	h := a.msg.Headers()
	if n, err := strconv.Atoi(h.Get(hdrMaxRetries)); err == nil {
		dl.MaxRetries = &n
	}
	if d, err := time.ParseDuration(h.Get(hdrTimeout)); err == nil {
		dl.Timeout = d
	}
	if err := q.putDead(ctx, &dl); err != nil {
		q.log.Error("queue: could not store a dead letter; the task will run again", "task", a.task.Name, "id", a.task.ID, "err", err)
		_ = a.msg.NakWithDelay(q.backoff(a.task.Attempt))
		return
	}
	rec := a.record(state)
	rec.Error = errorText(cause)
	rec.Finished = now
	if err := q.putRecord(ctx, rec); err != nil {
		q.log.Warn("queue: could not record a dead task", "task", a.task.Name, "id", a.task.ID, "err", err)
	}
	_ = a.msg.Term()
	outcome := outcomeDead
	if state == Failed {
		outcome = outcomeFailed
	}
	q.ended(a.task.Name, outcome)
	q.log.Warn("queue: task "+string(state), "task", a.task.Name, "id", a.task.ID, "attempts", a.task.Attempt, "err", cause)
	q.done(rec.Result)
}

// giveBack returns a task that Stop interrupted to the queue; its
// attempt does not count.
func (a *attempt) giveBack() {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	rec := a.record(Pending)
	rec.Attempts--
	rec.Error = "queue: interrupted by a worker's shutdown"
	if err := a.q.putRecord(ctx, rec); err != nil {
		a.q.log.Warn("queue: could not record an interrupted task", "task", a.task.Name, "id", a.task.ID, "err", err)
	}
	_ = a.msg.Nak()
}

// record makes the attempt's record in the given state.
func (a *attempt) record(state State) *record {
	return &record{
		Result: Result{
			ID: a.task.ID, Name: a.task.Name, State: state,
			Attempts: a.task.Attempt, EnqueuedAt: a.task.EnqueuedAt,
		},
		Gen: a.gen,
	}
}

// done calls the OnDone functions.
func (q *Queue) done(r Result) {
	for _, f := range q.doneFuncs() {
		func() {
			defer func() {
				if p := recover(); p != nil {
					q.log.Error("queue: OnDone function panicked", "panic", p, "stack", string(debug.Stack()))
				}
			}()
			f(r)
		}()
	}
}

// backoff is the delay before the retry that follows attempt n (from 1):
// Backoff doubled n-1 times, at most MaxBackoff, of which the upper half
// is drawn at random so that tasks that failed together spread out.
func (q *Queue) backoff(n int) time.Duration {
	d := q.cfg.Backoff
	for i := 1; i < n && d < q.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.cfg.MaxBackoff)
	half := d / 2
	if d-half <= 0 {
		return d
	}
	return half + rand.N(d-half)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// errorText is an error's message as records keep it: at most 4KB.
func errorText(err error) string {
	const limit = 4 << 10
	s := err.Error()
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit], "") + "..."
	}
	return s
}

// ended counts an attempt's outcome: in the metrics, and in Processed.
func (q *Queue) ended(task, outcome string) {
	q.pause.processed.Add(1)
	q.e.metrics.ended(q.name, task, outcome)
}

package queue

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// EnqueueOptions are the options of one Enqueue; nil means none. Zero
// fields take the task's or the queue's settings.
//
// There is no priority: JetStream hands out a stream's messages in order,
// and priorities would take one stream or consumer per level, fetched in
// turn, with starvation to manage. Urgent tasks go in a queue of their
// own, with its own workers.
type EnqueueOptions struct {
	// Delay runs the task once it has passed, counted from now.
	Delay time.Duration
	// At runs the task at that time; a time in the past runs it now.
	// Delay and At cannot both be set. Delayed tasks are NATS scheduled
	// messages, kept by the server (and across its restarts); the
	// server's clock decides, to the second: a task never runs early,
	// and at most a second or so late.
	At time.Time
	// MaxRetries, if not nil, overrides the task's and queue's
	// MaxRetries: 0 or less means no retry.
	MaxRetries *int
	// Timeout, if not 0, overrides the task's and queue's Timeout.
	Timeout time.Duration
	// DedupID makes the enqueue idempotent: within the queue's
	// DedupWindow, enqueueing the same DedupID again (under any task
	// name) enqueues nothing and returns the first task's id. The task's
	// id is derived from DedupID, so it is the same each time, even after
	// the window, when the same id then names the new task.
	DedupID string
}

// Task message headers.
const (
	hdrID         = "Junction-Task-Id"
	hdrName       = "Junction-Task"
	hdrGen        = "Junction-Gen"
	hdrEnqueued   = "Junction-Enqueued"
	hdrRunAt      = "Junction-Run-At"
	hdrMaxRetries = "Junction-Max-Retries"
	hdrTimeout    = "Junction-Timeout"
)

// Enqueue adds a task called taskName to the queue and returns its id.
// Once Enqueue returns, the task is stored by NATS (on disk, replicated
// if the stream is) and will run at least once, even if this process or
// the server then stops. Any process may enqueue, whether or not it
// has a handler for taskName or has started the queue.
func (q *Queue) Enqueue(ctx context.Context, taskName string, payload []byte, opts *EnqueueOptions) (string, error) {
	if err := validTaskName(taskName); err != nil {
		return "", err
	}
	var o EnqueueOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.Delay < 0:
		return "", fmt.Errorf("%w: Delay %s: want >= 0", ErrInvalidConfig, o.Delay)
	case o.Delay > 0 && !o.At.IsZero():
		return "", fmt.Errorf("%w: set Delay or At, not both", ErrInvalidConfig)
	case o.Timeout < 0:
		return "", fmt.Errorf("%w: Timeout %s: want >= 0", ErrInvalidConfig, o.Timeout)
	}
	if limit := q.e.maxValue(); len(payload) > limit {
		return "", fmt.Errorf("%w: payload of %d bytes, over the limit of %d", ErrTooLarge, len(payload), limit)
	}
	if q.e.isClosed() {
		return "", ErrClosed
	}
	now := q.e.clock.Now()
	id := nuid.Next()
	if o.DedupID != "" {
		id = dedupTaskID(o.DedupID)
	}
	runAt := o.At
	if o.Delay > 0 {
		runAt = now.Add(o.Delay)
	}
	if !runAt.After(now) {
		runAt = time.Time{}
	}
	rec := &record{
		Result: Result{ID: id, Name: taskName, State: Pending, EnqueuedAt: now, RunAt: runAt},
		Gen:    nuid.Next(),
	}
	msg := q.taskMsg(rec, payload, o.MaxRetries, o.Timeout)
	pubOpts := []jetstream.PublishOpt{jetstream.WithMsgID(id), jetstream.WithExpectStream(q.streamName)}
	if !runAt.IsZero() {
		msg.Subject = q.delayed + id
		msg.Header.Set(hdrRunAt, runAt.UTC().Format(time.RFC3339Nano))
		pubOpts = append(pubOpts, jetstream.WithScheduleAt(ceilSecond(runAt)), jetstream.WithScheduleTarget(q.ready))
	}
	ack, err := q.e.js.PublishMsg(ctx, msg, pubOpts...)
	if err != nil {
		return "", fmt.Errorf("queue %s: enqueue %s: %w", q.name, taskName, err)
	}
	if ack.Duplicate {
		return id, nil
	}
	// The task is stored and will run whatever happens next, the end of
	// ctx included: a failure to record it as pending only hides it from
	// Status until it starts.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	if err := q.putPending(pctx, rec); err != nil {
		q.log.Warn("queue: could not record an enqueued task as pending", "task", taskName, "id", id, "err", err)
	}
	return id, nil
}

// taskMsg makes the message of a task, on the ready subject.
func (q *Queue) taskMsg(rec *record, payload []byte, maxRetries *int, timeout time.Duration) *nats.Msg {
	m := nats.NewMsg(q.ready)
	m.Data = payload
	m.Header.Set(hdrID, rec.ID)
	m.Header.Set(hdrName, rec.Name)
	m.Header.Set(hdrGen, rec.Gen)
	m.Header.Set(hdrEnqueued, rec.EnqueuedAt.UTC().Format(time.RFC3339Nano))
	if maxRetries != nil {
		m.Header.Set(hdrMaxRetries, strconv.Itoa(*maxRetries))
	}
	if timeout > 0 {
		m.Header.Set(hdrTimeout, timeout.String())
	}
	return m
}

// dedupTaskID derives a task id from a DedupID: the same DedupID always
// gives the same id, which random ids (nuid, 22 characters) cannot be.
func dedupTaskID(dedupID string) string {
	sum := sha256.Sum256([]byte(dedupID))
	return "d" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// ceilSecond rounds t up to a whole second: NATS schedules take seconds,
// and a task must not run before its time.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

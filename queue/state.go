package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// State is where a task stands.
type State string

// A task is Pending until a worker runs it, Running during an attempt,
// Pending again while it waits for a retry, and ends Done, Failed or Dead.
const (
	// Pending: waiting to run (enqueued, delayed, or between attempts;
	// Result.Error then holds the last attempt's error).
	Pending State = "pending"
	// Running: an attempt is in progress.
	Running State = "running"
	// Done: the handler returned no error; Result.Value is its result.
	Done State = "done"
	// Failed: the handler returned a Permanent error. The task is among
	// the dead letters.
	Failed State = "failed"
	// Dead: every attempt failed (MaxRetries). The task is among the
	// dead letters.
	Dead State = "dead"
)

// Final reports whether s is an end state: Done, Failed or Dead.
func (s State) Final() bool { return s == Done || s == Failed || s == Dead }

// Result is a task's state, and its outcome once it has ended.
type Result struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State State  `json:"state"`
	// Value is what the handler returned, when State is Done.
	Value []byte `json:"value,omitempty"`
	// Error is the last attempt's error, if it failed.
	Error string `json:"error,omitempty"`
	// Attempts is how many attempts have started.
	Attempts   int       `json:"attempts"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	// RunAt is when a pending task is due: its delay, or its retry's.
	RunAt time.Time `json:"run_at,omitzero"`
	// Finished is when the task ended.
	Finished time.Time `json:"finished,omitzero"`
}

// record is a task's entry in the state bucket. Gen tells apart the
// tasks that share an id (a DedupID reused after its window, a Requeue):
// each publication of a task has its own.
type record struct {
	Result
	Gen string `json:"gen,omitempty"`
}

// Status returns the task's state as it is now. It returns ErrNotFound
// for an id the queue does not know, or whose result has expired.
func (q *Queue) Status(ctx context.Context, id string) (*Result, error) {
	rec, _, err := q.getRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	return &rec.Result, nil
}

// Result waits until the task has ended (Done, Failed or Dead) and
// returns its result. If ctx ends first, it returns the task's latest
// state with ctx's error. It returns ErrNotFound for an id the queue does
// not know, or whose result expires or is deleted meanwhile.
func (q *Queue) Result(ctx context.Context, id string) (*Result, error) {
	// Most results asked for have ended: one read, no watch.
	rec, _, err := q.getRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.State.Final() {
		return &rec.Result, nil
	}
	// Watch what is written from now on, then read what is there. A
	// write that races with the making of the watch is either delivered
	// by it or seen by the read, which the server does not interleave
	// with writes. A watch that delivers the current value first can
	// miss such a write: made while the value was being replaced, it
	// reported no current value, and the replacement, stored before the
	// watch began, never came either. Result then said "not found" of a
	// task that had just ended (seen about once in 5,000 runs of an
	// app's tests, and in CI).
	w, err := q.state.Watch(ctx, id, jetstream.UpdatesOnly())
	if err != nil {
		return nil, fmt.Errorf("queue: watch task %s: %w", id, err)
	}
	defer w.Stop()
	rec, rev, err := q.getRecord(ctx, id)
	if err != nil {
		return nil, err
	}
	last := &rec.Result
	if rec.State.Final() {
		return last, nil
	}
	for {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				if ctx.Err() != nil {
					return last, ctx.Err()
				}
				return last, fmt.Errorf("queue: watch task %s: stopped", id)
			case e == nil || e.Revision() <= rev:
				// No initial values were asked for; the read saw this
				// write, or a later one.
			case e.Operation() != jetstream.KeyValuePut:
				return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
			default:
				var rec record
				if err := json.Unmarshal(e.Value(), &rec); err != nil {
					return nil, fmt.Errorf("queue: task %s: bad state: %w", id, err)
				}
				last, rev = &rec.Result, e.Revision()
				if rec.State.Final() {
					return last, nil
				}
			}
		}
	}
}

// getRecord returns the task's record and its revision.
func (q *Queue) getRecord(ctx context.Context, id string) (*record, uint64, error) {
	if !validID(id) {
		return nil, 0, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	e, err := q.state.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("queue: task %s: %w", id, err)
	}
	var rec record
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return nil, 0, fmt.Errorf("queue: task %s: bad state: %w", id, err)
	}
	return &rec, e.Revision(), nil
}

// putRecord writes the task's record, as its worker does. Done tasks
// get the ResultTTL; dead and failed ones the DeadTTL if set, else they
// stay until they are requeued or deleted.
func (q *Queue) putRecord(ctx context.Context, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	var opts []jetstream.PublishOpt
	switch {
	case rec.State == Done:
		opts = append(opts, jetstream.WithMsgTTL(q.cfg.ResultTTL))
	case (rec.State == Dead || rec.State == Failed) && q.cfg.DeadTTL > 0:
		opts = append(opts, jetstream.WithMsgTTL(q.cfg.DeadTTL))
	}
	m := &nats.Msg{Subject: kvSubject(q.stateName, rec.ID), Data: b}
	_, err = q.e.js.PublishMsg(ctx, m, opts...)
	if err != nil {
		return fmt.Errorf("queue: write state of task %s: %w", rec.ID, err)
	}
	return nil
}

// putPending writes the record of a task just published, unless a worker
// has already written one for the same publication (rec.Gen): enqueue
// and worker race, and the worker's news is the newer.
func (q *Queue) putPending(ctx context.Context, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	for range 10 {
		_, err := q.state.Create(ctx, rec.ID, b)
		if err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		cur, rev, err := q.getRecord(ctx, rec.ID)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if cur.Gen == rec.Gen {
			return nil
		}
		_, err = q.state.Update(ctx, rec.ID, b, rev)
		if err == nil || !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return err
		}
	}
	return fmt.Errorf("queue: write state of task %s: too much contention", rec.ID)
}

// validID accepts the ids Enqueue makes, which are also valid keys.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

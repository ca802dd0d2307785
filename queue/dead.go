package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// DeadTask is a dead letter: a task that will not run again unless it is
// requeued, because every attempt failed (State Dead) or its handler
// returned a Permanent error (State Failed).
type DeadTask struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	State      State     `json:"state"`
	Payload    []byte    `json:"payload,omitempty"`
	Error      string    `json:"error"` // the last attempt's
	Attempts   int       `json:"attempts"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	Died       time.Time `json:"died"`
}

// deadRecord is a dead letter as the dead bucket keeps it, with what
// Requeue needs to enqueue it again as it was.
type deadRecord struct {
	DeadTask
	MaxRetries *int          `json:"max_retries,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"`
}

func (q *Queue) putDead(ctx context.Context, d *deadRecord) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	var opts []jetstream.PublishOpt
	if q.cfg.DeadTTL > 0 {
		opts = append(opts, jetstream.WithMsgTTL(q.cfg.DeadTTL))
	}
	m := &nats.Msg{Subject: kvSubject(q.deadName, d.ID), Data: b}
	if _, err := q.e.js.PublishMsg(ctx, m, opts...); err != nil {
		return fmt.Errorf("queue: write dead letter %s: %w", d.ID, err)
	}
	return nil
}

func (q *Queue) getDead(ctx context.Context, id string) (*deadRecord, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	e, err := q.dead.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: no dead letter %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: dead letter %s: %w", id, err)
	}
	var d deadRecord
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return nil, fmt.Errorf("queue: dead letter %s: %w", id, err)
	}
	return &d, nil
}

// Dead lists the queue's dead letters, oldest death first.
func (q *Queue) Dead(ctx context.Context) ([]DeadTask, error) {
	w, err := q.dead.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("queue: list dead letters: %w", err)
	}
	defer w.Stop()
	out := []DeadTask{} // an empty list, not null, in JSON
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("queue: list dead letters: watch stopped")
			}
			if e == nil {
				slices.SortFunc(out, func(a, b DeadTask) int { return a.Died.Compare(b.Died) })
				return out, nil
			}
			var d deadRecord
			if err := json.Unmarshal(e.Value(), &d); err != nil {
				q.log.Warn("queue: bad dead letter", "key", e.Key(), "err", err)
				continue
			}
			out = append(out, d.DeadTask)
		}
	}
}

// Requeue sends a dead letter back to the queue, to run now with a new
// attempt budget, under the same id and with the options it was
// enqueued with. It returns ErrNotFound if id is not a dead letter.
func (q *Queue) Requeue(ctx context.Context, id string) error {
	d, err := q.getDead(ctx, id)
	if err != nil {
		return err
	}
	rec := &record{
		Result: Result{ID: id, Name: d.Name, State: Pending, EnqueuedAt: q.e.clock.Now()},
		Gen:    nuid.Next(),
	}
	msg := q.taskMsg(rec, d.Payload, d.MaxRetries, d.Timeout)
	// The message id is the requeue's own: the task's id may still be in
	// the dedup window.
	_, err = q.e.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id+"."+rec.Gen), jetstream.WithExpectStream(q.streamName))
	if err != nil {
		return fmt.Errorf("queue %s: requeue %s: %w", q.name, id, err)
	}
	if err := q.putPending(ctx, rec); err != nil {
		q.log.Warn("queue: could not record a requeued task as pending", "id", id, "err", err)
	}
	// Should this fail, the task stays listed as dead too; a second
	// Requeue would run it twice, not lose it.
	if err := q.dead.Purge(ctx, id, jetstream.PurgeTTL(markerTTL)); err != nil {
		return fmt.Errorf("queue %s: requeue %s: remove the dead letter: %w", q.name, id, err)
	}
	return nil
}

// Delete forgets a task that has ended: its dead letter, if it has one,
// and its state and result. It returns ErrActive for a task that is
// pending or running, and ErrNotFound for an id the queue does not know.
func (q *Queue) Delete(ctx context.Context, id string) error {
	rec, _, err := q.getRecord(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if rec != nil && !rec.State.Final() {
		return fmt.Errorf("%w: %s is %s", ErrActive, id, rec.State)
	}
	_, derr := q.getDead(ctx, id)
	if derr != nil && !errors.Is(derr, ErrNotFound) {
		return derr
	}
	if rec == nil && derr != nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if derr == nil {
		if err := q.dead.Purge(ctx, id, jetstream.PurgeTTL(markerTTL)); err != nil {
			return fmt.Errorf("queue %s: delete %s: %w", q.name, id, err)
		}
	}
	if rec != nil {
		if err := q.state.Purge(ctx, id, jetstream.PurgeTTL(markerTTL)); err != nil {
			return fmt.Errorf("queue %s: delete %s: %w", q.name, id, err)
		}
	}
	return nil
}

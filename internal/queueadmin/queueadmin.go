// Package queueadmin shows task queues (package queue) in the web admin
// (package admin's Queues): an app's queues, or the router's webhook
// queue. It is apart from package admin so that the admin links NATS
// only in the programs that have queues.
package queueadmin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/queue"
)

// New returns the admin's view of the queues list returns, asked anew
// each time (queues may open after the admin starts).
func New(list func() []*queue.Queue) admin.Queues { return queues(list) }

type queues func() []*queue.Queue

func (l queues) queue(name string) (*queue.Queue, error) {
	for _, q := range l() {
		if q.Name() == name {
			return q, nil
		}
	}
	return nil, fmt.Errorf("no queue %q", name)
}

func (l queues) Queues(ctx context.Context) ([]admin.QueueInfo, error) {
	var infos []admin.QueueInfo
	var errs []error
	for _, q := range l() {
		st, err := q.Stats(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		infos = append(infos, admin.QueueInfo{Name: q.Name(), Pending: st.Pending, Running: st.Running, Done: st.Done,
			Failed: st.Failed, Dead: st.Dead, Processed: q.Processed(), Paused: q.Paused()})
	}
	slices.SortFunc(infos, func(x, y admin.QueueInfo) int { return cmp.Compare(x.Name, y.Name) })
	return infos, errors.Join(errs...)
}

func (l queues) Dead(ctx context.Context, name string) ([]admin.TaskInfo, error) {
	q, err := l.queue(name)
	if err != nil {
		return nil, err
	}
	dead, err := q.Dead(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]admin.TaskInfo, 0, len(dead))
	for _, d := range slices.Backward(dead) { // newest death first
		out = append(out, admin.TaskInfo{ID: d.ID, Task: d.Name, State: string(d.State), Attempts: d.Attempts,
			Error: d.Error, Payload: asJSON(d.Payload), Enqueued: d.EnqueuedAt, Ended: d.Died})
	}
	return out, nil
}

func (l queues) Task(ctx context.Context, name, id string) (admin.TaskInfo, error) {
	q, err := l.queue(name)
	if err != nil {
		return admin.TaskInfo{}, err
	}
	r, err := q.Status(ctx, id)
	if err != nil {
		return admin.TaskInfo{}, err
	}
	return admin.TaskInfo{ID: r.ID, Task: r.Name, State: string(r.State), Attempts: r.Attempts, Error: r.Error,
		Result: asJSON(r.Value), Enqueued: r.EnqueuedAt, Ended: r.Finished}, nil
}

func (l queues) Requeue(ctx context.Context, name, id string) error {
	q, err := l.queue(name)
	if err != nil {
		return err
	}
	return q.Requeue(ctx, id)
}

func (l queues) Delete(ctx context.Context, name, id string) error {
	q, err := l.queue(name)
	if err != nil {
		return err
	}
	return q.Delete(ctx, id)
}

func (l queues) Pause(_ context.Context, name string, paused bool) error {
	q, err := l.queue(name)
	if err != nil {
		return err
	}
	if paused {
		q.Pause()
	} else {
		q.Resume()
	}
	return nil
}

// asJSON returns b as JSON: itself if it is JSON (an app's payloads and
// results are), else a JSON string of it.
func asJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/queue"
)

// webhookQueues shows the webhooks' queue in the web admin's queue view,
// the router's only queue: an operator requeues or deletes the dead
// deliveries from there.
type webhookQueues struct{ q *queue.Queue }

var _ admin.Queues = webhookQueues{}

func (w webhookQueues) queue(name string) (*queue.Queue, error) {
	if name != w.q.Name() {
		return nil, fmt.Errorf("no queue %q", name)
	}
	return w.q, nil
}

func (w webhookQueues) Queues(ctx context.Context) ([]admin.QueueInfo, error) {
	st, err := w.q.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return []admin.QueueInfo{{Name: w.q.Name(), Pending: st.Pending, Running: st.Running, Done: st.Done, Failed: st.Failed,
		Dead: st.Dead, Processed: w.q.Processed(), Paused: w.q.Paused()}}, nil
}

func (w webhookQueues) Dead(ctx context.Context, name string) ([]admin.TaskInfo, error) {
	q, err := w.queue(name)
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
			Error: d.Error, Payload: d.Payload, Enqueued: d.EnqueuedAt, Ended: d.Died})
	}
	return out, nil
}

func (w webhookQueues) Task(ctx context.Context, name, id string) (admin.TaskInfo, error) {
	q, err := w.queue(name)
	if err != nil {
		return admin.TaskInfo{}, err
	}
	r, err := q.Status(ctx, id)
	if err != nil {
		return admin.TaskInfo{}, err
	}
	// A delivery's result is empty: the answer's status is the hook's.
	return admin.TaskInfo{ID: r.ID, Task: r.Name, State: string(r.State), Attempts: r.Attempts, Error: r.Error,
		Enqueued: r.EnqueuedAt, Ended: r.Finished}, nil
}

func (w webhookQueues) Requeue(ctx context.Context, name, id string) error {
	q, err := w.queue(name)
	if err != nil {
		return err
	}
	return q.Requeue(ctx, id)
}

func (w webhookQueues) Delete(ctx context.Context, name, id string) error {
	q, err := w.queue(name)
	if err != nil {
		return err
	}
	return q.Delete(ctx, id)
}

func (w webhookQueues) Pause(_ context.Context, name string, paused bool) error {
	q, err := w.queue(name)
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

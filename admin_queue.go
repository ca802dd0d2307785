package junction

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

// queuesForAdmin shows the app's task queues in the web admin; Queue
// sets adminQueues to it.
func queuesForAdmin(app *Application) admin.Queues { return appQueues{app} }

type appQueues struct{ app *Application }

func (a appQueues) queue(name string) (*queue.Queue, error) {
	a.app.mu.Lock()
	queues := slices.Clone(a.app.queues)
	a.app.mu.Unlock()
	for _, q := range queues {
		if q.name == name {
			if e := q.Engine(); e != nil {
				return e, nil
			}
			return nil, fmt.Errorf("queue %s is not open", name)
		}
	}
	return nil, fmt.Errorf("no queue %q", name)
}

func (a appQueues) Queues(ctx context.Context) ([]admin.QueueInfo, error) {
	a.app.mu.Lock()
	queues := slices.Clone(a.app.queues)
	a.app.mu.Unlock()
	infos := make([]admin.QueueInfo, 0, len(queues))
	var errs []error
	for _, q := range queues {
		e := q.Engine()
		if e == nil {
			continue
		}
		st, err := e.Stats(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		infos = append(infos, admin.QueueInfo{Name: q.name, Pending: st.Pending, Running: st.Running, Done: st.Done,
			Failed: st.Failed, Dead: st.Dead, Processed: e.Processed(), Paused: e.Paused()})
	}
	slices.SortFunc(infos, func(x, y admin.QueueInfo) int { return cmp.Compare(x.Name, y.Name) })
	return infos, errors.Join(errs...)
}

func (a appQueues) Dead(ctx context.Context, name string) ([]admin.TaskInfo, error) {
	q, err := a.queue(name)
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
			Error: d.Error, Payload: jsonOrString(d.Payload), Enqueued: d.EnqueuedAt, Ended: d.Died})
	}
	return out, nil
}

func (a appQueues) Task(ctx context.Context, name, id string) (admin.TaskInfo, error) {
	q, err := a.queue(name)
	if err != nil {
		return admin.TaskInfo{}, err
	}
	r, err := q.Status(ctx, id)
	if err != nil {
		return admin.TaskInfo{}, err
	}
	return admin.TaskInfo{ID: r.ID, Task: r.Name, State: string(r.State), Attempts: r.Attempts, Error: r.Error,
		Result: jsonOrString(r.Value), Enqueued: r.EnqueuedAt, Ended: r.Finished}, nil
}

func (a appQueues) Requeue(ctx context.Context, name, id string) error {
	q, err := a.queue(name)
	if err != nil {
		return err
	}
	return q.Requeue(ctx, id)
}

func (a appQueues) Delete(ctx context.Context, name, id string) error {
	q, err := a.queue(name)
	if err != nil {
		return err
	}
	return q.Delete(ctx, id)
}

func (a appQueues) Pause(_ context.Context, name string, paused bool) error {
	q, err := a.queue(name)
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

// jsonOrString returns b as JSON: itself if it is JSON (the app's tasks'
// payloads and results are), else a JSON string of it.
func jsonOrString(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

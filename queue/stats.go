package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Counts counts tasks by state.
type Counts struct {
	Pending int `json:"pending"`
	Running int `json:"running"`
	Done    int `json:"done"`
	Failed  int `json:"failed"`
	Dead    int `json:"dead"`
}

func (c *Counts) add(s State) {
	switch s {
	case Pending:
		c.Pending++
	case Running:
		c.Running++
	case Done:
		c.Done++
	case Failed:
		c.Failed++
	case Dead:
		c.Dead++
	}
}

// Stats counts a queue's tasks by state, in all and per task name.
type Stats struct {
	Counts
	Tasks map[string]Counts `json:"tasks"`
}

// Stats counts the queue's tasks by state, in all and per task name,
// across every process. Done tasks are those whose results are still
// kept (QueueConfig.ResultTTL); a task whose worker died counts as
// running until NATS hands it to another (QueueConfig.Lease). Stats
// reads the record of every task kept: it is meant for dashboards, not
// for hot paths.
func (q *Queue) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Tasks: make(map[string]Counts)}
	w, err := q.state.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return st, fmt.Errorf("queue: stats: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return st, errors.New("queue: stats: watch stopped")
			}
			if e == nil {
				return st, nil
			}
			var rec record
			if err := json.Unmarshal(e.Value(), &rec); err != nil {
				continue
			}
			st.add(rec.State)
			c := st.Tasks[rec.Name]
			c.add(rec.State)
			st.Tasks[rec.Name] = c
		}
	}
}

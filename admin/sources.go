package admin

import (
	"context"
	"encoding/json"
	"time"
)

// Sources are what the admin shows besides the router: an app's task
// queues, cron jobs and processes, webhooks, the program's logs. Each is
// optional; the admin leaves out the views of those that are nil. They
// are interfaces so that package admin needs neither NATS nor the app:
// the program that has them adapts them.
type Sources struct {
	Queues    Queues
	Cron      Cron
	Processes Processes
	// Webhooks returns the webhooks' status, a JSON-able list of
	// objects (package webhook's Status).
	Webhooks func() any
	// Logs is the program's log tail.
	Logs *LogBuffer
}

// Queues are an app's durable task queues.
type Queues interface {
	// Queues describes every queue, sorted by name.
	Queues(ctx context.Context) ([]QueueInfo, error)
	// Dead lists the queue's dead tasks, newest first.
	Dead(ctx context.Context, queue string) ([]TaskInfo, error)
	// Task describes one task: its state, attempts, error and result.
	Task(ctx context.Context, queue, id string) (TaskInfo, error)
	// Requeue runs a dead task again; Delete drops it.
	Requeue(ctx context.Context, queue, id string) error
	Delete(ctx context.Context, queue, id string) error
	// Pause stops (paused) or resumes the queue's workers in this
	// process: tasks wait, none is lost.
	Pause(ctx context.Context, queue string, paused bool) error
}

// QueueInfo counts a queue's tasks by state.
type QueueInfo struct {
	Name    string `json:"name"`
	Pending int    `json:"pending"`
	Running int    `json:"running"`
	Done    int    `json:"done"`
	Failed  int    `json:"failed"`
	Dead    int    `json:"dead"`
	// Processed counts the tasks this process finished, successful or
	// not, since it started: the page derives the rate from it.
	Processed uint64 `json:"processed"`
	Paused    bool   `json:"paused"`
}

// TaskInfo describes a task.
type TaskInfo struct {
	ID       string          `json:"id"`
	Task     string          `json:"task"`
	State    string          `json:"state"`
	Attempts int             `json:"attempts"`
	Error    string          `json:"error,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Enqueued time.Time       `json:"enqueued,omitzero"`
	Ended    time.Time       `json:"ended,omitzero"`
}

// Cron are an app's scheduled jobs.
type Cron interface {
	Jobs() []JobInfo
	// Run runs a job now, beside its schedule.
	Run(name string) error
	// Pause skips (paused) or resumes the job's ticks.
	Pause(name string, paused bool) error
}

// JobInfo describes a job (cron.JobInfo, and whether it is paused).
type JobInfo struct {
	Name         string        `json:"name"`
	Schedule     string        `json:"schedule"`
	Next         time.Time     `json:"next,omitzero"`
	LastRun      time.Time     `json:"last_run,omitzero"`
	LastDuration time.Duration `json:"last_duration,omitzero"`
	LastResult   string        `json:"last_result,omitempty"`
	Runs         int64         `json:"runs"`
	Failures     int64         `json:"failures"`
	Paused       bool          `json:"paused"`
}

// Processes are an app's worker processes and supervised services.
type Processes interface {
	Processes() []ProcessInfo
	// Restart stops the process (all its instances) and starts it
	// again.
	Restart(name string) error
}

// ProcessInfo describes a process or service.
type ProcessInfo struct {
	Name string `json:"name"`
	// Kind is "process" (a worker process of the app) or "service".
	Kind     string    `json:"kind"`
	Status   string    `json:"status"`
	PID      int       `json:"pid,omitempty"`
	Restarts int       `json:"restarts"`
	Started  time.Time `json:"started,omitzero"`
	// LastExit says how the last run ended ("exit status 1", "signal:
	// killed"), "" before one has.
	LastExit string `json:"last_exit,omitempty"`
	// Logs are its last lines of output.
	Logs []string `json:"logs,omitempty"`
}

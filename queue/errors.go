package queue

import "errors"

// Errors returned by the engine and its queues. Errors about one task or
// queue wrap one of these and name it.
var (
	// ErrNotFound is returned by Status, Result, Requeue and Delete for an
	// id the queue does not know: never enqueued, deleted, or whose result
	// has expired (QueueConfig.ResultTTL).
	ErrNotFound = errors.New("queue: task not found")
	// ErrClosed is returned once Engine.Close has been called.
	ErrClosed = errors.New("queue: engine closed")
	// ErrStarted is returned by a second call to Queue.Start.
	ErrStarted = errors.New("queue: already started")
	// ErrStopped is returned by Start once Stop has been called.
	ErrStopped = errors.New("queue: stopped")
	// ErrInvalidName is returned for a queue, task or namespace name that
	// breaks the rules of Engine.Queue or Queue.Enqueue.
	ErrInvalidName = errors.New("queue: invalid name")
	// ErrInvalidConfig is returned for a Config, QueueConfig or
	// EnqueueOptions that validate refuses; the error says which field.
	ErrInvalidConfig = errors.New("queue: invalid config")
	// ErrDuplicateQueue is returned by Engine.Queue for a name the engine
	// has already opened.
	ErrDuplicateQueue = errors.New("queue: queue already opened")
	// ErrActive is returned by Delete for a task that is pending or
	// running: only finished and dead tasks can be deleted.
	ErrActive = errors.New("queue: task is pending or running")
	// ErrTooLarge is returned by Enqueue for a payload over the limit,
	// and is the error of a task whose handler returns a result over the
	// limit: 3/4 of the NATS server's max payload (1MB by default), less
	// 8KB, so that a dead letter or a result record can hold it.
	ErrTooLarge = errors.New("queue: too large")
	// ErrTimeout is the error of an attempt that outlived its timeout
	// (QueueConfig.Timeout): "queue: timeout after 5s".
	ErrTimeout = errors.New("queue: timeout")
	// ErrNoHandler is the error of an attempt at a task that has no
	// handler in the process that fetched it. It is retried like any
	// other error, so that a process that has the handler (during a
	// rolling deploy, say) can run it; it ends dead otherwise.
	ErrNoHandler = errors.New("queue: no handler for task")
	// ErrLost is the error of an attempt whose worker vanished (a crash,
	// a lost connection) without finishing it: its lease expired and the
	// task was delivered again.
	ErrLost = errors.New("queue: attempt lost")
)

// Permanent marks err as a failure that retrying cannot fix, such as a
// payload that does not decode: a handler that returns Permanent(err)
// ends its task at once in state Failed, with err's message, among the
// dead letters (where Requeue can still send it back once the cause is
// fixed). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Package queue runs durable task queues on NATS JetStream: an Engine
// connects to NATS, or starts an embedded server in a data directory;
// each Queue stores its tasks in a stream that any number of processes
// share, runs them in workers with retries, timeouts and leases, keeps
// their results for a while and the tasks that failed for good as dead
// letters. The engine also grants cross-process locks (TryLock), which
// the cron package uses to run a tick once across processes. The package
// knows nothing of WAMP; the junction package wires it into the app and
// its junction.queue.* procedures.
//
// # Delivery
//
// Delivery is at least once. A task is stored once Enqueue returns; a
// worker fetches it from the queue's durable pull consumer, records it
// running, calls its handler while it renews its lease (NATS "in
// progress" acks every Lease/3), records the outcome, then acks. A crash
// anywhere before the ack makes NATS hand the task to a worker again
// once the lease has expired: the task may then run twice, never zero
// times. The crash test (TestCrash) counts how often that happens.
//
// # Attempts and retries
//
// A failed attempt is retried after an exponential backoff with jitter,
// by a NATS "nak" with that delay, until the task's attempts are spent;
// it is then dead: kept, with its last error and payload, in the dead
// letter bucket, from which Requeue sends it back. The task's record in
// the state bucket counts the attempts that started, so that an attempt
// whose worker died counts (a task that crashes its worker every time
// ends dead instead of looping), while one that Stop interrupted and gave
// back does not.
//
// # Delays
//
// Delayed tasks are NATS scheduled messages (nats-server 2.12 and newer):
// the server keeps them, across its restarts, on a subject of their own
// and publishes them to the queue when they are due, to the second.
//
// # Locks
//
// A Queue has one mutex, which guards its handlers and its run state;
// the Engine has one, which guards its set of queues. Neither is held
// while the other is taken, nor while a handler or OnDone function runs.
package queue

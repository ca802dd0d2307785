package queue

import "time"

// Clock tells the engine the time: the enqueue time of tasks, the due
// time of delayed ones, the times in results and dead letters. NATS keeps
// its own time for leases, retry delays and scheduled deliveries, so a
// fake clock does not make them fire. A cron.Clock satisfies Clock.
// Implementations must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

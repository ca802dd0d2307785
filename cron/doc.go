// Package cron runs jobs on schedules inside a process: every d, on cron
// specs, or once at a given time. It knows nothing of WAMP or NATS; the
// junction package wires it into the app (app.Every, app.Cron, app.At and
// the junction.cron.list procedure) and gives it a Locker on the queue
// engine when several processes run the same app.
//
// Specs are parsed by github.com/robfig/cron/v3, whose Schedule.Next also
// computes the ticks of Cron jobs (see Parse). The loop that runs the
// jobs is this package's own rather than that library's Cron runner,
// which cannot do what Junction needs:
//
//   - time comes from an injected Clock, so tests move a FakeClock
//     instead of sleeping;
//   - with a Locker, each tick is locked under a key made of the job's
//     name and the tick's scheduled time, so that every process computes
//     the same key and the tick runs in one of them;
//   - NoOverlap skips and counts a tick while the previous run goes on,
//     where the library's SkipIfStillRunning only logs it;
//   - each job's last run, duration, result and counters are kept for
//     Jobs.
//
// Each job has one goroutine that sleeps until its next tick, and each
// run its own goroutine, so a long run never delays another job or the
// job's next tick. Every aligns its ticks on the multiples of its
// interval (since the zero time, in UTC) rather than on the time the
// process started, for the same reason the lock keys use the scheduled
// time: processes started at different times must agree on the ticks.
// Ticks missed while a process was busy or suspended are not caught up:
// a late job runs once, then waits for the first tick after now.
//
// A Scheduler has one mutex, Scheduler.mu, which guards its jobs and
// their state; it is never held while a job, a Schedule or the Locker
// runs.
package cron

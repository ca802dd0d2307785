// Package supervise runs programs as child processes and keeps them
// running, in the manner of supervisord, systemd services or Crossbar's
// guest workers. Junction uses it to re-execute its own binary as worker
// processes and to run the external services an app depends on.
//
// # Model
//
// Start validates a Spec, starts the program and waits until it is
// ready; from then on a Process supervises it until Stop. Each execution
// of the program is a run. A Process is in one of these states:
//
//	starting  a run was started; its Ready check has not passed yet
//	running   the current run is ready (OnStart has been called)
//	backoff   a run ended and the next waits out its delay
//	stopping  the current run was sent StopSignal (Stop or Restart)
//	stopped   Stop was called, or a run ended and the policy says not to
//	          restart it and it did not fail
//	failed    given up: a crash loop, or a failed run not restarted
//
// Stopped and failed end supervision: Done is closed. Restart brings
// back a Process that ended by itself (failed, or stopped by its
// policy); nothing brings back one that Stop stopped.
//
// # Restarts, backoff and the crash loop
//
// When a run ends, Policy.When decides whether to start another:
// "always", "on-failure" (a non-zero exit, a signal, a program that could
// not be started, or one not ready within ReadyTimeout) or "never". A
// restart waits MinDelay, then twice the previous delay up to MaxDelay,
// each jittered by ±20%. A run that lasted StableAfter resets the delay
// and the crash count. More than MaxRestarts restarts within Window is a
// crash loop: the supervisor logs the last exit at Error and gives up.
// A program that can no longer be executed (its binary was deleted)
// counts as a run that failed at once.
//
// # Stopping and process groups
//
// Every run is the leader of a process group of its own (Setpgid). To
// stop a run, StopSignal goes to the whole group, so a shell's children
// are asked too; after StopTimeout, or at once when Stop's context ends,
// SIGKILL goes to the group. When a run ends, by itself or not, whatever
// is left of its group is killed, so a restart never finds the previous
// run's children holding its port. A process that leaves the group
// (setsid, setpgid) escapes this and must be handled by its parent.
//
// # Children never outlive the supervisor
//
// On Linux each run has Pdeathsig set to SIGKILL: if the supervisor dies
// (SIGKILL, a crash, or an exit without Stop) the kernel kills its
// children. Pdeathsig fires when the thread that forked the child exits,
// not the process, and the Go runtime ends a thread whenever a goroutine
// locked to it exits without unlocking. So each run is started from a
// goroutine locked to its OS thread, which stays locked, blocked in
// wait, until the run has been reaped: no other goroutine runs on that
// thread, and it lives as long as the process. This costs one OS thread
// per running child. Pdeathsig does not apply to the run's own children
// (only its group kill does), and the kernel clears it when the run
// executes a set-user-ID or set-group-ID program. Other Unix systems have
// no Pdeathsig.
//
// # Output
//
// Stdout and stderr are read line by line (a line longer than 64 KiB is
// split) and logged at Info and Warn. Status keeps the last 50 lines; an
// error for a program that exited before it was ready quotes its last
// ones; a LogLine check sees the lines of the current run only.
//
// # Users
//
// With Spec.User or Spec.Group, runs execute with those credentials
// (and the user's supplementary groups, HOME, USER and LOGNAME). That
// needs root, and Validate says so before anything starts.
package supervise

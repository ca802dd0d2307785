package client

import "time"

// workerIdle is how long an invocation goroutine waits for the next
// invocation before it exits.
const workerIdle = 2 * time.Second

// workers runs invocation handlers on goroutines that wait a little for
// the next one when they are done. A fresh goroutine starts with a small
// stack that grows, by copying, to fit the handler (reflection-based
// handlers need a deep one); a reused goroutine keeps its grown stack.
// Measured on an HTTP route doing an RPC: a quarter of the time went to
// stack growth before. Handlers never wait for one another: with no idle
// goroutine, a new one starts.
type workers struct {
	work chan func()
	quit <-chan struct{} // the session's end: idle workers exit at once
}

func newWorkers(quit <-chan struct{}) *workers {
	return &workers{work: make(chan func()), quit: quit}
}

// run runs f on an idle worker, or on a new one.
func (w *workers) run(f func()) {
	select {
	case w.work <- f:
	default:
		go w.loop(f)
	}
}

func (w *workers) loop(f func()) {
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		f()
		idle.Reset(workerIdle)
		select {
		case f = <-w.work:
		case <-idle.C:
			return
		case <-w.quit:
			return
		}
	}
}

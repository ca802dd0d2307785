package cron

import (
	"context"
	"sync"
	"time"
)

// timeoutContext is context.WithTimeout on the scheduler's Clock: it ends
// with context.DeadlineExceeded when the clock passes its deadline, or
// with its parent. The standard one reads the system clock, which a test
// moving a FakeClock would never reach.
type timeoutContext struct {
	parent   context.Context
	deadline time.Time
	timer    Timer
	done     chan struct{}
	exited   chan struct{} // closed when the timer's goroutine ends

	mu  sync.Mutex
	err error
}

// withTimeout returns a context that ends d after now on clock, and the
// function that releases it, which the caller must call: it also waits
// for the goroutine that watches the timer.
func withTimeout(parent context.Context, clock Clock, d time.Duration) (context.Context, context.CancelFunc) {
	c := &timeoutContext{
		parent:   parent,
		deadline: clock.Now().Add(d),
		timer:    clock.NewTimer(d),
		done:     make(chan struct{}),
		exited:   make(chan struct{}),
	}
	stopParent := context.AfterFunc(parent, func() { c.cancel(parent.Err()) })
	go func() {
		defer close(c.exited)
		select {
		case <-c.timer.C():
			c.cancel(context.DeadlineExceeded)
		case <-c.done:
		}
	}()
	return c, func() {
		stopParent()
		c.cancel(context.Canceled)
		<-c.exited
	}
}

func (c *timeoutContext) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	c.err = err
	// Stopped here rather than by the goroutine, so that a FakeClock no
	// longer counts the timer once the run is over.
	c.timer.Stop()
	close(c.done)
}

func (c *timeoutContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *timeoutContext) Done() <-chan struct{} { return c.done }

func (c *timeoutContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *timeoutContext) Value(key any) any { return c.parent.Value(key) }

func (c *timeoutContext) String() string { return "cron.withTimeout" }

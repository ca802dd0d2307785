package cron

import (
	"slices"
	"sync"
	"time"
)

// FakeClock is a Clock whose time moves only when Advance or Set says so,
// for tests that must not sleep. Timers made by NewTimer fire during
// Advance, in the order of their deadlines; a timer due at once (d <= 0)
// fires when it is made. It is safe for concurrent use.
//
// A typical test starts the scheduler, waits with BlockUntil until the
// jobs' goroutines wait on their timers, then moves the clock:
//
//	clock := cron.NewFakeClock(t0)
//	s := cron.New(cron.Config{Clock: clock})
//	s.Every("poll", time.Minute, poll, cron.Options{})
//	s.Start(ctx)
//	clock.BlockUntil(1) // the job's goroutine waits for its next tick
//	clock.Advance(time.Minute)
type FakeClock struct {
	mu      sync.Mutex
	changed *sync.Cond // broadcast when timers are added or removed
	now     time.Time
	timers  []*fakeTimer // waiting, in no particular order
}

// NewFakeClock returns a FakeClock set to t0.
func NewFakeClock(t0 time.Time) *FakeClock {
	c := &FakeClock{now: t0}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock has moved d past
// now; at once if d <= 0.
func (c *FakeClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, c: make(chan time.Time, 1), at: c.now.Add(d)}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	c.changed.Broadcast()
	return t
}

// Advance moves the clock d forward and fires every timer due by then.
// The time sent on a timer's channel is the clock's new time.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.setLocked(c.now.Add(d))
	c.mu.Unlock()
}

// Set moves the clock to t (forward or back) and fires every timer due by
// then.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.setLocked(t)
	c.mu.Unlock()
}

func (c *FakeClock) setLocked(t time.Time) {
	c.now = t
	var due []*fakeTimer
	c.timers = slices.DeleteFunc(c.timers, func(ft *fakeTimer) bool {
		if ft.at.After(t) {
			return false
		}
		due = append(due, ft)
		return true
	})
	slices.SortStableFunc(due, func(a, b *fakeTimer) int { return a.at.Compare(b.at) })
	for _, ft := range due {
		ft.c <- t // buffered, and each timer fires once
	}
	if len(due) > 0 {
		c.changed.Broadcast()
	}
}

// BlockUntil blocks until at least n timers are waiting: the way for a
// test to know that the goroutines it is about to wake are asleep.
func (c *FakeClock) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.timers) < n {
		c.changed.Wait()
	}
}

// Waiters returns the number of timers waiting.
func (c *FakeClock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type fakeTimer struct {
	clock *FakeClock
	c     chan time.Time
	at    time.Time
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.timers, t)
	if i < 0 {
		return false
	}
	c.timers = slices.Delete(c.timers, i, i+1)
	c.changed.Broadcast()
	return true
}

package cron

import "time"

// Clock tells the scheduler the time and wakes it up. SystemClock is the
// real one; FakeClock lets tests move time by hand. Implementations must
// be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d
	// has passed; at once if d <= 0.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock, like *time.Timer.
type Timer interface {
	// C returns the channel the time is sent on, once.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it did so:
	// false means the timer had already fired or been stopped.
	Stop() bool
}

// SystemClock returns the clock of the operating system (time.Now,
// time.NewTimer).
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return systemTimer{time.NewTimer(d)} }

type systemTimer struct{ t *time.Timer }

func (t systemTimer) C() <-chan time.Time { return t.t.C }
func (t systemTimer) Stop() bool          { return t.t.Stop() }

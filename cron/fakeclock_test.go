package cron

import (
	"testing"
	"time"
)

func TestFakeClock(t *testing.T) {
	c := NewFakeClock(t0)
	late := c.NewTimer(2 * time.Second)
	early := c.NewTimer(time.Second)
	stopped := c.NewTimer(time.Second)
	if n := c.Waiters(); n != 3 {
		t.Fatalf("Waiters = %d, want 3", n)
	}
	if !stopped.Stop() {
		t.Error("Stop of a waiting timer = false")
	}
	if stopped.Stop() {
		t.Error("second Stop = true")
	}

	c.Advance(999 * time.Millisecond)
	select {
	case <-early.C():
		t.Fatal("timer fired early")
	default:
	}
	c.Advance(time.Millisecond)
	if got := <-early.C(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("fired with %s, want %s", got, t0.Add(time.Second))
	}
	if early.Stop() {
		t.Error("Stop of a fired timer = true")
	}
	if n := c.Waiters(); n != 1 {
		t.Errorf("Waiters = %d, want 1", n)
	}
	c.Set(t0.Add(time.Hour))
	if got := <-late.C(); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("fired with %s, want the new time", got)
	}
	select {
	case <-stopped.C():
		t.Error("a stopped timer fired")
	default:
	}

	now := c.NewTimer(0)
	if got := <-now.C(); !got.Equal(c.Now()) {
		t.Errorf("timer of 0 fired with %s, want now", got)
	}
}

func TestFakeClockBlockUntil(t *testing.T) {
	c := NewFakeClock(t0)
	done := make(chan struct{})
	go func() {
		c.BlockUntil(2)
		close(done)
	}()
	c.NewTimer(time.Second)
	select {
	case <-done:
		t.Fatal("BlockUntil(2) returned with one timer")
	case <-time.After(10 * time.Millisecond):
	}
	c.NewTimer(time.Second)
	recv(t, done)
}

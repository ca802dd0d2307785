package cron

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestStop(t *testing.T) {
	f := newFixture(t, Config{})
	type key struct{}
	started := make(chan struct{})
	var jobErr atomic.Value
	f.s.Every("long", time.Minute, func(ctx context.Context) error {
		if ctx.Value(key{}) != "app" {
			t.Error("the job's context lacks Start's values")
		}
		close(started)
		<-ctx.Done()
		jobErr.Store(ctx.Err())
		return ctx.Err()
	}, Options{})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "app"))
	if err := f.s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cancel() // Start's context does not end the jobs
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	recv(t, started)

	if err := f.s.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err, _ := jobErr.Load().(error); !errors.Is(err, context.Canceled) {
		t.Errorf("the job's context ended with %v, want context.Canceled", err)
	}
	select {
	case <-f.s.Stopped():
	default:
		t.Error("Stopped not closed after Stop")
	}
	if err := f.s.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if info := f.job(t, "long"); !info.Next.IsZero() || info.Running {
		t.Errorf("after Stop: %+v", info)
	}
	if err := f.s.Start(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after Stop: %v", err)
	}
	if err := f.s.Every("late", time.Minute, nop, Options{}); !errors.Is(err, ErrStopped) {
		t.Errorf("Every after Stop: %v", err)
	}
}

// TestStopDeadline checks Stop on a job that ignores its context.
func TestStopDeadline(t *testing.T) {
	f := newFixture(t, Config{})
	started := make(chan struct{})
	release := make(chan struct{})
	f.s.Every("stubborn", time.Minute, func(context.Context) error {
		close(started)
		<-release
		return nil
	}, Options{})
	f.start(t)
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	recv(t, started)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := f.s.Stop(ctx)
	if !errors.Is(err, context.Canceled) || err.Error() != "cron: stop: still running: stubborn: context canceled" {
		t.Errorf("Stop: %v", err)
	}
	select {
	case <-f.s.Stopped():
		t.Fatal("Stopped closed while a job runs")
	default:
	}
	close(release)
	recv(t, f.s.Stopped())
}

func TestStopBeforeStart(t *testing.T) {
	s := New(Config{Clock: NewFakeClock(t0)})
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	recv(t, s.Stopped())
	if err := s.Start(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Start after Stop: %v", err)
	}
}

func TestStartTwice(t *testing.T) {
	f := newFixture(t, Config{})
	f.start(t)
	if err := f.s.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Errorf("second Start: %v", err)
	}
}

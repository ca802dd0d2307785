package cron

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunNowAndPause(t *testing.T) {
	f := newFixture(t, Config{})
	job, runs := ticker(f.clock)
	if err := f.s.Every("poll", time.Hour, job, Options{}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	busy := func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}
	if err := f.s.Every("busy", time.Hour, busy, Options{NoOverlap: true}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RunNow("poll"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("RunNow before Start: %v", err)
	}
	f.start(t)

	// Run now: at once, off the schedule, recorded as a run.
	if err := f.s.RunNow("poll"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, runs); !got.Equal(t0) {
		t.Fatalf("run now at %s, want %s", got, t0)
	}
	f.waitJob(t, "poll", func(j JobInfo) bool { return j.Runs == 1 && j.LastResult == resultOK })
	if err := f.s.RunNow("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("RunNow of no job: %v", err)
	}
	if err := f.s.RunNow("busy"); err != nil {
		t.Fatal(err)
	}
	f.waitJob(t, "busy", func(j JobInfo) bool { return j.Running })
	if err := f.s.RunNow("busy"); !errors.Is(err, ErrStillRunning) {
		t.Fatalf("RunNow of a NoOverlap job running: %v", err)
	}
	close(release)

	// Paused, the tick is skipped and recorded; resumed, the next one runs.
	if err := f.s.Pause("poll"); err != nil {
		t.Fatal(err)
	}
	if !f.job(t, "poll").Paused {
		t.Fatal("JobInfo.Paused is false after Pause")
	}
	f.clock.BlockUntil(2)
	f.clock.Advance(time.Hour)
	f.waitJob(t, "poll", func(j JobInfo) bool { return j.Skips == 1 && j.LastResult == resultPaused })
	select {
	case at := <-runs:
		t.Fatalf("a paused job ran at %s", at)
	default:
	}
	if err := f.s.Resume("poll"); err != nil {
		t.Fatal(err)
	}
	f.clock.BlockUntil(2)
	f.clock.Advance(time.Hour)
	if got := recv(t, runs); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("run after Resume at %s", got)
	}
	if err := f.s.Pause("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("Pause of no job: %v", err)
	}
}

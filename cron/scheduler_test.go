package cron

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// ticker returns a job that sends the clock's time on a channel at each
// run.
func ticker(clock Clock) (Job, <-chan time.Time) {
	runs := make(chan time.Time, 100)
	return func(context.Context) error {
		runs <- clock.Now()
		return nil
	}, runs
}

func TestEvery(t *testing.T) {
	f := newFixture(t, Config{})
	job, runs := ticker(f.clock)
	if err := f.s.Every("poll", time.Minute, job, Options{}); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	for i := 1; i <= 3; i++ {
		f.clock.BlockUntil(1)
		f.clock.Advance(time.Minute)
		if got, want := recv(t, runs), t0.Add(time.Duration(i)*time.Minute); !got.Equal(want) {
			t.Fatalf("run %d at %s, want %s", i, got, want)
		}
	}
	f.clock.BlockUntil(1) // Next is set before the job's goroutine sleeps
	info := f.job(t, "poll")
	if want := t0.Add(4 * time.Minute); !info.Next.Equal(want) {
		t.Errorf("Next = %s, want %s", info.Next, want)
	}
	if info.Schedule != "@every 1m0s" {
		t.Errorf("Schedule = %q", info.Schedule)
	}
}

// TestMissedTicks checks that a scheduler that wakes up late runs once,
// then goes back to the schedule.
func TestMissedTicks(t *testing.T) {
	f := newFixture(t, Config{})
	job, runs := ticker(f.clock)
	f.s.Every("poll", time.Minute, job, Options{})
	f.start(t)
	f.clock.BlockUntil(1)
	f.clock.Advance(10*time.Minute + 30*time.Second)
	recv(t, runs)
	f.clock.BlockUntil(1)
	info := f.job(t, "poll")
	if want := t0.Add(11 * time.Minute); !info.Next.Equal(want) {
		t.Errorf("Next = %s, want %s", info.Next, want)
	}
}

// TestCron runs specs of each kind through the scheduler.
func TestCron(t *testing.T) {
	tests := []struct {
		name string
		spec string
		loc  *time.Location
		want []time.Time
	}{
		{"5 fields", "30 7 * * mon", time.UTC,
			[]time.Time{utc(2026, 1, 12, 7, 30, 0), utc(2026, 1, 19, 7, 30, 0)}},
		{"6 fields", "15,45 * * * * *", time.UTC,
			[]time.Time{utc(2026, 1, 5, 10, 0, 15), utc(2026, 1, 5, 10, 0, 45), utc(2026, 1, 5, 10, 1, 15)}},
		{"descriptor", "@hourly", time.UTC,
			[]time.Time{utc(2026, 1, 5, 11, 0, 0), utc(2026, 1, 5, 12, 0, 0)}},
		{"@every", "@every 1h30m", time.UTC,
			[]time.Time{utc(2026, 1, 5, 10, 30, 0), utc(2026, 1, 5, 12, 0, 0)}},
		{"CRON_TZ", "CRON_TZ=Asia/Tokyo 0 9 * * *", time.UTC,
			[]time.Time{utc(2026, 1, 6, 0, 0, 0), utc(2026, 1, 7, 0, 0, 0)}},
		{"Config.Location", "0 9 * * *", mustLoad(t, "America/New_York"),
			[]time.Time{utc(2026, 1, 5, 14, 0, 0), utc(2026, 1, 6, 14, 0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{Location: tt.loc})
			job, runs := ticker(f.clock)
			if err := f.s.Cron("job", tt.spec, job, Options{}); err != nil {
				t.Fatal(err)
			}
			if next := f.job(t, "job").Next; !next.Equal(tt.want[0]) {
				t.Errorf("Next before Start = %s, want %s", next, tt.want[0])
			}
			f.start(t)
			for i, want := range tt.want {
				f.clock.BlockUntil(1)
				f.clock.Set(want)
				if got := recv(t, runs); !got.Equal(want) {
					t.Fatalf("run %d at %s, want %s", i+1, got, want)
				}
			}
			if got := f.job(t, "job").Schedule; got != tt.spec {
				t.Errorf("Schedule = %q, want %q", got, tt.spec)
			}
		})
	}
}

func TestAt(t *testing.T) {
	f := newFixture(t, Config{})
	job, runs := ticker(f.clock)
	at := t0.Add(90 * time.Second)
	if err := f.s.At("once", at, job, Options{}); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	f.clock.BlockUntil(1)
	f.clock.Advance(time.Minute)
	if got := recv(t, runs); !got.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("ran at %s", got)
	}
	info := f.waitJob(t, "once", func(j JobInfo) bool { return j.Runs == 1 && !j.Running && j.Next.IsZero() })
	if info.LastResult != "ok" || info.Schedule != "@at 2026-01-05T10:01:30Z" {
		t.Errorf("after the run: %+v", info)
	}
	waitFor(t, func() bool { return f.clock.Waiters() == 0 }) // its goroutine is gone
	f.clock.Advance(24 * time.Hour)
	if n := f.job(t, "once").Runs; n != 1 {
		t.Errorf("Runs = %d, want 1", n)
	}

	err := f.s.At("past", t0, nop, Options{})
	if !errors.Is(err, ErrPast) || !strings.Contains(err.Error(), `"past"`) {
		t.Errorf("At in the past: %v, want ErrPast naming the job", err)
	}
}

// TestAtBeforeStart checks that an At whose time passed between At and
// Start runs at Start.
func TestAtBeforeStart(t *testing.T) {
	f := newFixture(t, Config{})
	job, runs := ticker(f.clock)
	f.s.At("once", t0.Add(time.Second), job, Options{})
	f.clock.Advance(time.Hour)
	f.start(t)
	if got := recv(t, runs); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("ran at %s, want at Start", got)
	}
}

// TestAddWhileRunning checks that a job added after Start is scheduled.
func TestAddWhileRunning(t *testing.T) {
	f := newFixture(t, Config{})
	f.start(t)
	f.clock.Advance(30 * time.Second)
	job, runs := ticker(f.clock)
	if err := f.s.Every("late", time.Minute, job, Options{}); err != nil {
		t.Fatal(err)
	}
	f.clock.BlockUntil(1)
	f.clock.Advance(30 * time.Second)
	if got := recv(t, runs); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("ran at %s", got)
	}
}

func TestJobs(t *testing.T) {
	f := newFixture(t, Config{})
	release := make(chan struct{})
	f.s.Cron("b-report", "*/2 * * * *", func(context.Context) error {
		<-release
		return nil
	}, Options{NoOverlap: true})
	f.s.Every("a-poll", time.Minute, func(context.Context) error { return errors.New("timeout") }, Options{})
	f.start(t)

	f.clock.BlockUntil(2)
	f.clock.Advance(time.Minute) // a-poll fails
	f.waitJob(t, "a-poll", func(j JobInfo) bool { return j.Runs == 1 && !j.Running })
	f.clock.BlockUntil(2)
	f.clock.Advance(time.Minute) // a-poll fails again; b-report starts
	f.waitJob(t, "a-poll", func(j JobInfo) bool { return j.Runs == 2 && !j.Running })
	f.waitJob(t, "b-report", func(j JobInfo) bool { return j.Running })
	f.clock.BlockUntil(2)
	f.clock.Advance(30 * time.Second)
	close(release) // b-report took 30s
	f.waitJob(t, "b-report", func(j JobInfo) bool { return !j.Running })

	got := f.s.Jobs()
	want := []JobInfo{{
		Name:         "a-poll",
		Schedule:     "@every 1m0s",
		Next:         t0.Add(3 * time.Minute),
		LastRun:      t0.Add(2 * time.Minute),
		LastDuration: 0,
		LastResult:   "timeout",
		Runs:         2,
		Failures:     2,
	}, {
		Name:         "b-report",
		Schedule:     "*/2 * * * *",
		Next:         t0.Add(4 * time.Minute),
		LastRun:      t0.Add(2 * time.Minute),
		LastDuration: 30 * time.Second,
		LastResult:   "ok",
		Runs:         1,
	}}
	if len(got) != len(want) {
		t.Fatalf("Jobs() = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Jobs()[%d]\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}

	b, err := json.Marshal(got[1])
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"name":"b-report","schedule":"*/2 * * * *","next":"2026-01-05T10:04:00Z",` +
		`"last_run":"2026-01-05T10:02:00Z","last_duration":30000000000,"last_result":"ok",` +
		`"runs":1,"failures":0,"skips":0,"ran_elsewhere":0,"running":false}`
	if string(b) != wantJSON {
		t.Errorf("JSON\n got %s\nwant %s", b, wantJSON)
	}
}

func TestAddErrors(t *testing.T) {
	f := newFixture(t, Config{})
	if err := f.s.Every("poll", time.Minute, nop, Options{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		add  func() error
		is   error
		want string
	}{
		{"duplicate", func() error { return f.s.Cron("poll", "@hourly", nop, Options{}) },
			ErrDuplicateJob, `cron: duplicate job name: "poll"`},
		{"empty name", func() error { return f.s.Every("", time.Minute, nop, Options{}) },
			ErrInvalidJob, `cron: invalid job: empty name`},
		{"nil job", func() error { return f.s.Every("x", time.Minute, nil, Options{}) },
			ErrInvalidJob, `cron: invalid job "x": nil Job`},
		{"nil schedule", func() error { return f.s.Schedule("x", nil, nop, Options{}) },
			ErrInvalidJob, `cron: invalid job "x": nil Schedule`},
		{"zero interval", func() error { return f.s.Every("x", 0, nop, Options{}) },
			ErrInvalidJob, `cron: invalid job "x": Every(0s): the interval must be positive`},
		{"negative interval", func() error { return f.s.Every("x", -time.Second, nop, Options{}) },
			ErrInvalidJob, `cron: invalid job "x": Every(-1s): the interval must be positive`},
		{"negative jitter", func() error { return f.s.Every("x", time.Minute, nop, Options{Jitter: -1}) },
			ErrInvalidJob, `cron: invalid job "x": negative jitter -1ns`},
		{"negative timeout", func() error { return f.s.Every("x", time.Minute, nop, Options{Timeout: -time.Second}) },
			ErrInvalidJob, `cron: invalid job "x": negative timeout -1s`},
		{"bad spec", func() error { return f.s.Cron("x", "0 25 * * *", nop, Options{}) },
			ErrBadSpec, `cron: job "x": cron: bad spec "0 25 * * *": field 2 of 5 (hour) "25": end of range (25) above maximum (23): 25`},
		{"past", func() error { return f.s.At("x", t0.Add(-time.Nanosecond), nop, Options{}) },
			ErrPast, `cron: time is in the past: job "x": At(2026-01-05T09:59:59.999999999Z), now is 2026-01-05T10:00:00Z`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.add()
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
			if err != nil && err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
	if n := len(f.s.Jobs()); n != 1 {
		t.Errorf("%d jobs after refused ones, want 1", n)
	}
}

// TestSchedule runs a custom Schedule.
func TestSchedule(t *testing.T) {
	f := newFixture(t, Config{})
	job, runs := ticker(f.clock)
	twice := ScheduleFunc(func(t time.Time) time.Time {
		for _, tick := range []time.Time{t0.Add(time.Second), t0.Add(time.Hour)} {
			if t.Before(tick) {
				return tick
			}
		}
		return time.Time{}
	})
	f.s.Schedule("twice", twice, job, Options{})
	f.start(t)
	for _, want := range []time.Time{t0.Add(time.Second), t0.Add(time.Hour)} {
		f.clock.BlockUntil(1)
		f.clock.Set(want)
		if got := recv(t, runs); !got.Equal(want) {
			t.Errorf("ran at %s, want %s", got, want)
		}
	}
	if info := f.waitJob(t, "twice", func(j JobInfo) bool { return j.Runs == 2 && j.Next.IsZero() }); info.Schedule != "custom" {
		t.Errorf("%+v", info)
	}
}

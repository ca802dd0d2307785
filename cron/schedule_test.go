package cron

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func utc(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestParseNext checks the ticks of each kind of spec, computed by hand.
func TestParseNext(t *testing.T) {
	paris := mustLoad(t, "Europe/Paris")
	tests := []struct {
		name string
		spec string
		from time.Time // its location is Config.Location's role
		want []time.Time
	}{
		{"5 fields", "30 7 * * 1", t0,
			[]time.Time{utc(2026, 1, 12, 7, 30, 0), utc(2026, 1, 19, 7, 30, 0), utc(2026, 1, 26, 7, 30, 0)}},
		{"5 fields, step", "*/15 * * * *", t0,
			[]time.Time{utc(2026, 1, 5, 10, 15, 0), utc(2026, 1, 5, 10, 30, 0), utc(2026, 1, 5, 10, 45, 0)}},
		{"5 fields, day names", "0 9 * * mon-fri", utc(2026, 1, 8, 12, 0, 0), // a Thursday
			[]time.Time{utc(2026, 1, 9, 9, 0, 0), utc(2026, 1, 12, 9, 0, 0), utc(2026, 1, 13, 9, 0, 0)}},
		{"5 fields, extra spaces", "  0  12 1 jan,jul *  ", t0,
			[]time.Time{utc(2026, 7, 1, 12, 0, 0), utc(2027, 1, 1, 12, 0, 0), utc(2027, 7, 1, 12, 0, 0)}},
		{"6 fields", "*/10 * * * * *", t0,
			[]time.Time{utc(2026, 1, 5, 10, 0, 10), utc(2026, 1, 5, 10, 0, 20), utc(2026, 1, 5, 10, 0, 30)}},
		{"6 fields, fixed", "30 0 12 * * *", t0,
			[]time.Time{utc(2026, 1, 5, 12, 0, 30), utc(2026, 1, 6, 12, 0, 30), utc(2026, 1, 7, 12, 0, 30)}},
		{"@hourly", "@hourly", t0,
			[]time.Time{utc(2026, 1, 5, 11, 0, 0), utc(2026, 1, 5, 12, 0, 0), utc(2026, 1, 5, 13, 0, 0)}},
		{"@daily", "@daily", t0,
			[]time.Time{utc(2026, 1, 6, 0, 0, 0), utc(2026, 1, 7, 0, 0, 0), utc(2026, 1, 8, 0, 0, 0)}},
		{"@midnight", "@midnight", t0,
			[]time.Time{utc(2026, 1, 6, 0, 0, 0), utc(2026, 1, 7, 0, 0, 0), utc(2026, 1, 8, 0, 0, 0)}},
		{"@weekly (Sundays)", "@weekly", t0,
			[]time.Time{utc(2026, 1, 11, 0, 0, 0), utc(2026, 1, 18, 0, 0, 0), utc(2026, 1, 25, 0, 0, 0)}},
		{"@monthly", "@monthly", t0,
			[]time.Time{utc(2026, 2, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0), utc(2026, 4, 1, 0, 0, 0)}},
		{"@yearly", "@yearly", t0,
			[]time.Time{utc(2027, 1, 1, 0, 0, 0), utc(2028, 1, 1, 0, 0, 0), utc(2029, 1, 1, 0, 0, 0)}},
		{"@annually", "@annually", t0,
			[]time.Time{utc(2027, 1, 1, 0, 0, 0), utc(2028, 1, 1, 0, 0, 0), utc(2029, 1, 1, 0, 0, 0)}},
		// Aligned on multiples of 90 minutes since the zero time: a day
		// holds 16 of them, so 00:00, 01:30 ... 09:00, 10:30, 12:00.
		{"@every, aligned", "@every 1h30m", t0,
			[]time.Time{utc(2026, 1, 5, 10, 30, 0), utc(2026, 1, 5, 12, 0, 0), utc(2026, 1, 5, 13, 30, 0)}},
		{"leap day", "0 0 29 2 *", t0,
			[]time.Time{utc(2028, 2, 29, 0, 0, 0), utc(2032, 2, 29, 0, 0, 0), utc(2036, 2, 29, 0, 0, 0)}},
		// New York leaves EST (UTC-5) for EDT (UTC-4) on 10 March 2024.
		{"CRON_TZ across DST", "CRON_TZ=America/New_York 0 9 * * *", utc(2024, 3, 8, 0, 0, 0),
			[]time.Time{utc(2024, 3, 8, 14, 0, 0), utc(2024, 3, 9, 14, 0, 0), utc(2024, 3, 10, 13, 0, 0), utc(2024, 3, 11, 13, 0, 0)}},
		{"CRON_TZ with a descriptor", "CRON_TZ=Asia/Tokyo @daily", t0,
			[]time.Time{utc(2026, 1, 5, 15, 0, 0), utc(2026, 1, 6, 15, 0, 0), utc(2026, 1, 7, 15, 0, 0)}},
		// Paris jumps from 02:00 to 03:00 CEST on 31 March 2024: 02:30
		// does not exist that day.
		{"TZ, DST starts: the missing time is skipped", "TZ=Europe/Paris 30 2 * * *", utc(2024, 3, 29, 0, 0, 0),
			[]time.Time{utc(2024, 3, 29, 1, 30, 0), utc(2024, 3, 30, 1, 30, 0), utc(2024, 4, 1, 0, 30, 0)}},
		// Paris goes back from 03:00 CEST to 02:00 CET on 27 October
		// 2024: 02:30 comes twice and fires once.
		{"DST ends: a repeated time fires once", "CRON_TZ=Europe/Paris 30 2 * * *", utc(2024, 10, 26, 0, 0, 0),
			[]time.Time{utc(2024, 10, 26, 0, 30, 0), utc(2024, 10, 27, 0, 30, 0), utc(2024, 10, 28, 1, 30, 0)}},
		{"DST ends: hourly fires every hour", "CRON_TZ=Europe/Paris 0 * * * *", utc(2024, 10, 26, 23, 30, 0),
			[]time.Time{utc(2024, 10, 27, 0, 0, 0), utc(2024, 10, 27, 1, 0, 0), utc(2024, 10, 27, 2, 0, 0)}},
		{"no time zone: the location of the time given", "0 9 * * *", t0.In(paris),
			[]time.Time{utc(2026, 1, 6, 8, 0, 0), utc(2026, 1, 7, 8, 0, 0), utc(2026, 1, 8, 8, 0, 0)}},
		{"no time zone, DST ends", "30 2 * * *", utc(2024, 10, 26, 0, 0, 0).In(paris),
			[]time.Time{utc(2024, 10, 26, 0, 30, 0), utc(2024, 10, 27, 0, 30, 0), utc(2024, 10, 28, 1, 30, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched, err := Parse(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(sched); got != tt.spec {
				t.Errorf("String() = %q, want the spec %q", got, tt.spec)
			}
			at := tt.from
			for i, want := range tt.want {
				at = sched.Next(at)
				if !at.Equal(want) {
					t.Fatalf("tick %d = %s, want %s", i+1, at.UTC(), want)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{"", `cron: bad spec "": empty`},
		{"* * *", `cron: bad spec "* * *": 3 fields, want 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`},
		{"* * * * * * *", `cron: bad spec "* * * * * * *": 7 fields, want 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`},
		{"61 * * * *", `cron: bad spec "61 * * * *": field 1 of 5 (minute) "61": end of range (61) above maximum (59): 61`},
		{"0 24 * * *", `cron: bad spec "0 24 * * *": field 2 of 5 (hour) "24": end of range (24) above maximum (23): 24`},
		{"0 0 0 * *", `cron: bad spec "0 0 0 * *": field 3 of 5 (day of month) "0": beginning of range (0) below minimum (1): 0`},
		{"0 0 * 13 *", `cron: bad spec "0 0 * 13 *": field 4 of 5 (month) "13": end of range (13) above maximum (12): 13`},
		{"0 0 * jan-foo *", `cron: bad spec "0 0 * jan-foo *": field 4 of 5 (month) "jan-foo": failed to parse int from foo: strconv.Atoi: parsing "foo": invalid syntax`},
		{"0 0 * * 8", `cron: bad spec "0 0 * * 8": field 5 of 5 (day of week) "8": end of range (8) above maximum (6): 8`},
		{"*/0 * * * *", `cron: bad spec "*/0 * * * *": field 1 of 5 (minute) "*/0": step of range should be a positive number: */0`},
		{"5-1 * * * *", `cron: bad spec "5-1 * * * *": field 1 of 5 (minute) "5-1": beginning of range (5) beyond end of range (1): 5-1`},
		{"60 0 0 * * *", `cron: bad spec "60 0 0 * * *": field 1 of 6 (second) "60": end of range (60) above maximum (59): 60`},
		{"0 60 0 * * *", `cron: bad spec "0 60 0 * * *": field 2 of 6 (minute) "60": end of range (60) above maximum (59): 60`},
		{"0 0 30 2 *", `cron: bad spec "0 0 30 2 *": never fires`},
		{"@weekly2", `cron: bad spec "@weekly2": unrecognized descriptor: @weekly2`},
		{"@every 1x", `cron: bad spec "@every 1x": failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"`},
		{"@every", `cron: bad spec "@every": unrecognized descriptor: @every`},
		{"@every -5m", `cron: bad spec "@every -5m": @every takes a duration of at least 1s`},
		{"@every 500ms", `cron: bad spec "@every 500ms": @every takes a duration of at least 1s`},
		{"CRON_TZ=Mars/Olympus * * * * *", `cron: bad spec "CRON_TZ=Mars/Olympus * * * * *": unknown time zone "Mars/Olympus"`},
		{"CRON_TZ= * * * * *", `cron: bad spec "CRON_TZ= * * * * *": unknown time zone ""`},
		{"CRON_TZ=Europe/Paris", `cron: bad spec "CRON_TZ=Europe/Paris": nothing after the time zone`},
		{"TZ=UTC * *", `cron: bad spec "TZ=UTC * *": 2 fields, want 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			if !errors.Is(err, ErrBadSpec) {
				t.Errorf("error %v does not match ErrBadSpec", err)
			}
		})
	}
}

// TestEveryAligned checks that Every's ticks do not depend on when the
// process started.
func TestEveryAligned(t *testing.T) {
	tests := []struct {
		d    time.Duration
		from time.Time
		want time.Time
	}{
		{5 * time.Minute, utc(2026, 1, 5, 10, 3, 17), utc(2026, 1, 5, 10, 5, 0)},
		{5 * time.Minute, utc(2026, 1, 5, 10, 5, 0), utc(2026, 1, 5, 10, 10, 0)},
		{time.Hour, utc(2026, 1, 5, 10, 59, 59), utc(2026, 1, 5, 11, 0, 0)},
		{24 * time.Hour, utc(2026, 1, 5, 10, 0, 0), utc(2026, 1, 6, 0, 0, 0)},
		{250 * time.Millisecond, utc(2026, 1, 5, 10, 0, 0).Add(time.Millisecond), utc(2026, 1, 5, 10, 0, 0).Add(250 * time.Millisecond)},
	}
	for _, tt := range tests {
		s := everySchedule{d: tt.d}
		if got := s.Next(tt.from); !got.Equal(tt.want) {
			t.Errorf("every %s from %s = %s, want %s", tt.d, tt.from, got, tt.want)
		}
	}
}

func TestAtSchedule(t *testing.T) {
	s := atSchedule(t0)
	if got := s.Next(t0.Add(-time.Hour)); !got.Equal(t0) {
		t.Errorf("Next before = %s, want %s", got, t0)
	}
	if got := s.Next(t0); !got.IsZero() {
		t.Errorf("Next at the tick = %s, want zero", got)
	}
	if got, want := s.String(), "@at 2026-01-05T10:00:00Z"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestLockTTL(t *testing.T) {
	tests := []struct {
		spec string
		want time.Duration
	}{
		{"*/10 * * * * *", time.Minute}, // at least a minute
		{"*/5 * * * *", 5 * time.Minute},
		{"@hourly", time.Hour},
		{"@daily", time.Hour}, // at most an hour
	}
	for _, tt := range tests {
		sched, err := Parse(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := lockTTL(sched, sched.Next(t0)); got != tt.want {
			t.Errorf("lockTTL(%q) = %s, want %s", tt.spec, got, tt.want)
		}
	}
	if got := lockTTL(atSchedule(t0), t0); got != time.Hour {
		t.Errorf("lockTTL(At) = %s, want 1h", got)
	}
}

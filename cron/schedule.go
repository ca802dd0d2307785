package cron

import (
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"
)

// Schedule says when a job runs. Next returns the first tick strictly
// after t, or the zero time when there is none left. The scheduler calls
// it with t in Config.Location.
//
// With a Locker, every process of the app must compute the same ticks
// from the same schedule, whenever it started: make ticks depend on the
// calendar (as Cron specs do) or on a fixed epoch (as Every does), never
// on the time the process started.
type Schedule interface {
	Next(t time.Time) time.Time
}

// ScheduleFunc adapts a function to the Schedule interface.
type ScheduleFunc func(t time.Time) time.Time

// Next calls f(t).
func (f ScheduleFunc) Next(t time.Time) time.Time { return f(t) }

// specParser accepts 5 fields, 6 with seconds first, descriptors, and
// the CRON_TZ= and TZ= prefixes.
var specParser = robfig.NewParser(robfig.SecondOptional | robfig.Minute | robfig.Hour |
	robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)

// fieldNames name the six fields of a spec with seconds; a 5-field spec
// uses the last five.
var fieldNames = [6]struct {
	name string
	opt  robfig.ParseOption
}{
	{"second", robfig.Second},
	{"minute", robfig.Minute},
	{"hour", robfig.Hour},
	{"day of month", robfig.Dom},
	{"month", robfig.Month},
	{"day of week", robfig.Dow},
}

// Parse parses a cron spec:
//
//   - 5 fields: minute hour day-of-month month day-of-week
//     ("30 7 * * mon-fri");
//   - 6 fields, seconds first ("*/10 * * * * *");
//   - a descriptor: @yearly (or @annually), @monthly, @weekly, @daily (or
//     @midnight), @hourly, or @every followed by a duration of at least
//     one second ("@every 1h30m"; rounded down to whole seconds);
//   - any of these after a time zone: "CRON_TZ=Europe/Paris 0 9 * * *"
//     (TZ= works too).
//
// Fields take numbers, ranges (1-5), steps (*/15, 10-50/20), lists (1,15)
// and, for months and days of the week, names (jan, mon). When both the
// day of month and the day of week are restricted, a day matching either
// fires, as in crontab.
//
// A spec without a time zone fires in the time zone of the times Next is
// given: the scheduler's Config.Location. Where daylight saving time
// changes the clocks, a time that does not exist that day (02:30 when
// the clocks jump from 02:00 to 03:00) does not fire that day, and a time
// that comes twice (when the clocks go back) fires once, unless the hour
// field matches every hour.
//
// The parsing and the tick arithmetic are github.com/robfig/cron/v3's;
// Parse adds clearer errors and the DST rule above, aligns @every like
// Scheduler.Every, and returns a Schedule whose String method gives spec
// back.
//
// Errors wrap ErrBadSpec and name the spec and the field at fault:
//
//	cron: bad spec "61 * * * *": field 1 of 5 (minute) "61": end of range (61) above maximum (59): 61
//
// A spec that can never fire, such as "0 0 30 2 *", is an error too.
func Parse(spec string) (Schedule, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w %q: empty", ErrBadSpec, spec)
	}
	body := fields
	if tz, ok := timeZone(fields[0]); ok {
		if _, err := time.LoadLocation(tz); err != nil || tz == "" {
			return nil, fmt.Errorf("%w %q: unknown time zone %q", ErrBadSpec, spec, tz)
		}
		body = fields[1:]
		if len(body) == 0 {
			return nil, fmt.Errorf("%w %q: nothing after the time zone", ErrBadSpec, spec)
		}
	}
	descriptor := strings.HasPrefix(body[0], "@")
	if !descriptor && len(body) != 5 && len(body) != 6 {
		return nil, fmt.Errorf("%w %q: %d fields, want 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)",
			ErrBadSpec, spec, len(body))
	}
	// Joined with single spaces: the library splits its time zone
	// prefix off at the first space, and panics when there is none.
	sched, err := parse(specParser, strings.Join(fields, " "))
	if err != nil {
		if !descriptor {
			if ferr := fieldError(spec, body); ferr != nil {
				return nil, ferr
			}
		}
		return nil, fmt.Errorf("%w %q: %w", ErrBadSpec, spec, err)
	}
	if every, ok := sched.(robfig.ConstantDelaySchedule); ok {
		// The library rounds what is under a second up to one second,
		// "@every -5m" included: refuse instead.
		if len(body) != 2 {
			return nil, fmt.Errorf("%w %q: @every takes one duration", ErrBadSpec, spec)
		}
		if d, _ := time.ParseDuration(body[1]); d < time.Second {
			return nil, fmt.Errorf("%w %q: @every takes a duration of at least 1s", ErrBadSpec, spec)
		}
		// Ticks on multiples of the period, like Every, so that every
		// process computes the same ticks.
		return everySchedule{d: every.Delay, spec: spec}, nil
	}
	if sched.Next(neverRef).IsZero() {
		return nil, fmt.Errorf("%w %q: never fires", ErrBadSpec, spec)
	}
	return specSchedule{sched, spec}, nil
}

// neverRef is where Parse looks for a first tick; the library looks five
// years ahead, which covers leap days.
var neverRef = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// timeZone returns the zone of a CRON_TZ= or TZ= prefix.
func timeZone(field string) (string, bool) {
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if tz, ok := strings.CutPrefix(field, p); ok {
			return tz, true
		}
	}
	return "", false
}

// fieldError finds the first field of a 5- or 6-field spec that the
// library refuses on its own, and says which it is.
func fieldError(spec string, body []string) error {
	names := fieldNames[6-len(body):]
	for i, f := range body {
		if _, err := parse(robfig.NewParser(names[i].opt), f); err != nil {
			return fmt.Errorf("%w %q: field %d of %d (%s) %q: %w",
				ErrBadSpec, spec, i+1, len(body), names[i].name, f, err)
		}
	}
	return nil
}

// parse calls the library's parser, turning its panics on odd input
// into errors: specs may come from files and the network.
func parse(p robfig.Parser, spec string) (s robfig.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("unparsable: %v", r)
		}
	}()
	return p.Parse(spec)
}

// specSchedule is a parsed spec that remembers its text.
type specSchedule struct {
	robfig.Schedule
	spec string
}

func (s specSchedule) String() string { return s.spec }

// allHours are the hour bits of a spec whose hour field matches every
// hour.
const allHours = 1<<24 - 1

// Next returns the library's next tick, except that a wall clock time
// that comes twice, when daylight saving time ends, fires only the first
// time for a spec with a restricted hour field: "30 2 * * *" runs once
// on that night, as in crontab, where the library would run it twice. A
// spec that fires every hour fires on each of them.
func (s specSchedule) Next(t time.Time) time.Time {
	next := s.Schedule.Next(t)
	spec, ok := s.Schedule.(*robfig.SpecSchedule)
	if !ok || spec.Hour&allHours == allHours {
		return next
	}
	loc := spec.Location
	if loc == time.Local {
		loc = t.Location() // as the library does
	}
	for !next.IsZero() && repeatedWallClock(next.In(loc)) {
		next = s.Schedule.Next(next)
	}
	return next
}

// repeatedWallClock reports whether the wall clock time of t already
// happened earlier, before the clocks went back.
func repeatedWallClock(t time.Time) bool {
	_, offset := t.Zone()
	// Clocks go back by at most two hours; three covers it.
	_, before := t.Add(-3 * time.Hour).Zone()
	if before <= offset {
		return false
	}
	earlier := t.Add(-time.Duration(before-offset) * time.Second)
	y1, m1, d1 := earlier.Date()
	y2, m2, d2 := t.Date()
	h1, min1, s1 := earlier.Clock()
	h2, min2, s2 := t.Clock()
	return y1 == y2 && m1 == m2 && d1 == d2 && h1 == h2 && min1 == min2 && s1 == s2
}

// everySchedule ticks on the multiples of d since the zero time (Monday,
// January 1, year 1, 00:00 UTC): every 5 minutes at :00, :05, :10...,
// every hour on the hour (UTC), every 24 hours at midnight UTC. Aligned
// ticks are the same in every process.
type everySchedule struct {
	d    time.Duration
	spec string
}

func (s everySchedule) Next(t time.Time) time.Time {
	return t.Truncate(s.d).Add(s.d).In(t.Location())
}

func (s everySchedule) String() string { return s.spec }

// atSchedule is a single tick.
type atSchedule time.Time

func (s atSchedule) Next(t time.Time) time.Time {
	if at := time.Time(s); t.Before(at) {
		return at
	}
	return time.Time{}
}

func (s atSchedule) String() string { return "@at " + time.Time(s).Format(time.RFC3339) }

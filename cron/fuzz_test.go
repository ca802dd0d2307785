package cron

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse checks that no spec crashes Parse or the ticks it computes,
// and that every refusal wraps ErrBadSpec.
func FuzzParse(f *testing.F) {
	for _, spec := range []string{
		"30 7 * * 1", "*/10 * * * * *", "0 0 29 2 *", "@hourly", "@every 1h30m",
		"CRON_TZ=Europe/Paris 30 2 * * *", "TZ=America/New_York @daily", "TZ=UTC",
		"1-5/2,10 jan-mar/2 ? * sun", "61 * * * *", "@every", "CRON_TZ=", "\t0\n0 * * *",
	} {
		f.Add(spec)
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		sched, err := Parse(spec)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("Parse(%q): %v does not wrap ErrBadSpec", spec, err)
			}
			return
		}
		at := time.Date(2024, 10, 26, 23, 0, 0, 0, paris)
		for range 5 {
			next := sched.Next(at)
			if next.IsZero() {
				return
			}
			if !next.After(at) {
				t.Fatalf("Parse(%q): Next(%s) = %s, not after", spec, at, next)
			}
			at = next
		}
	})
}

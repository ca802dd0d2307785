package cron_test

import (
	"context"
	"fmt"
	"time"

	"github.com/junction-run/junction/cron"
)

func Example() {
	// A fake clock runs the example at once; apps use the system clock
	// (the zero Config).
	clock := cron.NewFakeClock(time.Date(2026, 1, 5, 7, 0, 0, 0, time.UTC)) // a Monday
	s := cron.New(cron.Config{Clock: clock, Location: time.UTC})

	done := make(chan struct{})
	err := s.Cron("weekly-report", "30 7 * * mon", func(ctx context.Context) error {
		fmt.Println("report at", clock.Now().Format(time.DateTime))
		close(done)
		return nil
	}, cron.Options{NoOverlap: true, Timeout: 10 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, j := range s.Jobs() {
		fmt.Printf("%s %q next %s\n", j.Name, j.Schedule, j.Next.Format(time.DateTime))
	}

	clock.BlockUntil(1) // the job waits for its tick
	clock.Advance(30 * time.Minute)
	<-done
	if err := s.Stop(context.Background()); err != nil {
		fmt.Println(err)
	}
	j := s.Jobs()[0]
	fmt.Println(j.Runs, "run:", j.LastResult)
	// Output:
	// weekly-report "30 7 * * mon" next 2026-01-05 07:30:00
	// report at 2026-01-05 07:30:00
	// 1 run: ok
}

func ExampleParse() {
	// Weekdays at 9:00 in Paris, which moves to summer time on 29 March
	// 2026.
	sched, err := cron.Parse("CRON_TZ=Europe/Paris 0 9 * * mon-fri")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC) // a Friday
	for range 3 {
		t = sched.Next(t)
		fmt.Println(t.UTC().Format(time.DateTime), "UTC")
	}

	_, err = cron.Parse("0 25 * * *")
	fmt.Println(err)
	// Output:
	// 2026-03-27 08:00:00 UTC
	// 2026-03-30 07:00:00 UTC
	// 2026-03-31 07:00:00 UTC
	// cron: bad spec "0 25 * * *": field 2 of 5 (hour) "25": end of range (25) above maximum (23): 25
}

package signals

import (
	"syscall"
	"testing"
	"time"
)

func TestRepeatedSignalForcesOnlyAfterAPause(t *testing.T) {
	forced := make(chan time.Time, 1)
	ctx, stop := Notify(func() { forced <- time.Now() })
	defer stop()
	first := time.Now()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGTERM} {
		if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the first signal did not cancel the context")
	}
	// The signals sent together were one: nothing forced. A signal after
	// the pause forces.
	time.Sleep(time.Until(first.Add(Repeat + 50*time.Millisecond)))
	select {
	case at := <-forced:
		t.Fatalf("signals sent together forced an exit %v after the first", at.Sub(first))
	default:
	}
	// (Sent again until it forces: a machine slow enough to take the
	// first signal late measures the pause from then.)
	deadline := time.After(10 * time.Second)
	for {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-forced:
			if d := at.Sub(first); d < Repeat {
				t.Fatalf("forced %v after the first signal", d)
			}
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("a signal after the pause did not force")
		}
	}
}

func TestStopEndsCatching(t *testing.T) {
	ctx, stop := Notify(func() { t.Error("forced") })
	stop()
	if ctx.Err() == nil {
		t.Fatal("stop did not cancel the context")
	}
}

package heapfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

// goal is the runtime's heap goal for a live heap at a GC percent, as the
// Go GC guide gives it (stacks and globals left out).
func goal(p int, live uint64) uint64 {
	return max(heapMinimum*uint64(p)/100, live+live*uint64(p)/100)
}

func TestPercentForMakesTheGoalTheFloorUntilGOGCClearsIt(t *testing.T) {
	for _, base := range []int{50, 100, 200, 1000} {
		for _, floor := range []uint64{8 * mib, Default, 64 * mib} {
			for live := uint64(0); live <= 2*floor; live += 256 << 10 {
				p := percentFor(base, floor, live)
				if goal(base, live) >= floor {
					if p != base {
						t.Fatalf("base %d, floor %d MiB, live %d KiB: percent %d, want GOGC's own %d", base, floor/mib, live>>10, p, base)
					}
					continue
				}
				if p < base {
					t.Fatalf("base %d, floor %d MiB, live %d KiB: percent %d below GOGC's", base, floor/mib, live>>10, p)
				}
				// The goal reaches the floor, and overshoots it only by
				// the rounding of an integer percent.
				if g := goal(p, live); g < floor-floor/100 || g > floor+floor/50 {
					t.Fatalf("base %d, floor %d MiB, live %d KiB: percent %d gives a goal of %.2f MiB", base, floor/mib, live>>10, p, float64(g)/mib)
				}
			}
		}
	}
}

func gcPercent(t *testing.T) int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("no /gc/gogc:percent metric")
	}
	return int(s[0].Value.Uint64())
}

func gcCycles(t *testing.T) uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("no /gc/cycles/total:gc-cycles metric")
	}
	return s[0].Value.Uint64()
}

// setPercent sets the GC percent for one test, and puts back the one
// found when the test ends.
func setPercent(t *testing.T, p int) {
	old := debug.SetGCPercent(p)
	t.Cleanup(func() { debug.SetGCPercent(old) })
}

var sink []byte

// churn allocates n bytes of garbage in 4 KiB pieces and returns how many
// GC cycles ran meanwhile.
func churn(t *testing.T, n int) uint64 {
	before := gcCycles(t)
	for range n / 4096 {
		sink = make([]byte, 4096)
	}
	sink = nil
	return gcCycles(t) - before
}

// waitPercent collects until the tuner, which runs after a cycle, has
// set the GC percent to want.
func waitPercent(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent(t) != want {
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d, want %d", gcPercent(t), want)
		}
		runtime.GC()
		time.Sleep(time.Millisecond) // the cleanup runs on its own goroutine
	}
}

func TestSetCollectsASmallHeapLessOften(t *testing.T) {
	setPercent(t, 100)
	runtime.GC()
	plain := churn(t, 256*mib)

	restore := Set(64 * mib)
	floored := churn(t, 256*mib)
	restore()

	t.Logf("256 MiB allocated: %d cycles at GOGC=100, %d with a 64 MiB floor", plain, floored)
	if plain < 16 {
		t.Fatalf("only %d cycles at GOGC=100 for 256 MiB: the test's premise (a small live heap) does not hold", plain)
	}
	if floored > 8 {
		t.Fatalf("%d cycles with a 64 MiB floor for 256 MiB, want at most 8", floored)
	}
}

func TestSetFollowsTheLiveHeapAndRestores(t *testing.T) {
	setPercent(t, 100)
	runtime.GC()
	restore := Set(16 * mib)
	if p := gcPercent(t); p <= 100 {
		t.Fatalf("GC percent %d on a small heap, want above 100", p)
	}

	// With 32 MiB live, GOGC=100's own goal (64 MiB) clears the floor.
	held := make([][]byte, 32)
	for i := range held {
		held[i] = make([]byte, mib)
	}
	waitPercent(t, 100)
	runtime.KeepAlive(held)
	held = nil
	// The heap is small again: the floor is back.
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent(t) <= 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d after the live heap shrank, want above 100", gcPercent(t))
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}

	restore()
	if p := gcPercent(t); p != 100 {
		t.Fatalf("GC percent %d after restore, want 100", p)
	}
	// No cleanup left armed changes it again.
	for range 3 {
		runtime.GC()
	}
	time.Sleep(10 * time.Millisecond)
	if p := gcPercent(t); p != 100 {
		t.Fatalf("GC percent %d after restore and three cycles, want 100", p)
	}
	restore() // a second call is harmless
	if p := gcPercent(t); p != 100 {
		t.Fatalf("GC percent %d after a second restore, want 100", p)
	}
}

func TestSetLeavesGOGCOffAlone(t *testing.T) {
	setPercent(t, -1)
	restore := Set(Default)
	defer restore()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GC percent %d after Set with GOGC=off, want -1", p)
	}
}

func TestAutoLeavesAnExplicitGOGCAlone(t *testing.T) {
	setPercent(t, 100)
	t.Setenv("GOGC", "100")
	restore := Auto()
	if p := gcPercent(t); p != 100 {
		t.Fatalf("GC percent %d with GOGC=100 in the environment, want 100", p)
	}
	restore()

	os.Unsetenv("GOGC") // t.Setenv puts it back
	restore = Auto()
	defer restore()
	if p := gcPercent(t); p <= 100 {
		t.Fatalf("GC percent %d with no GOGC in the environment on a small heap, want above 100", p)
	}
}

// Package heapfloor keeps Go's garbage collector from running on a small
// heap far more often than it is worth.
//
// The collector's heap goal is the live heap times 1+GOGC/100, and never
// less than 4 MiB times GOGC/100. A router under load holds a live heap of
// about 1 MiB: with GOGC=100 it collects every 3 MiB it allocates, 40
// cycles a second at 150,000 calls a second, each costing a millisecond or
// two of CPU on two cores whatever the heap's size. That was a tenth of
// the router's CPU per call. Set raises the goal to a floor while the live
// heap is small, and leaves GOGC's rule in force once the live heap is
// large enough for that rule to clear the floor by itself: a process with
// 100 MiB live collects exactly as before.
//
// The GC percent is a setting of the whole process, so only the code that
// owns the process (a main function, an app's Run) calls Set or Auto.
package heapfloor

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Default is the floor Auto sets. On the RPC load of bench/README.md
// (issue 10, sixth pass), heap goals of 16 and 32 MiB spent the least
// router CPU per call; 48 MiB and more spent more, 128 MiB the most, as
// the allocations then stream through more memory than the caches hold.
const Default = 16 << 20

// heapMinimum is the runtime's smallest heap goal at GOGC=100, which it
// scales with GOGC (see the Go GC guide).
const heapMinimum = 4 << 20

// Auto is Set(Default), unless the environment sets GOGC: a GOGC given
// explicitly, even 100, is the operator's choice and is left alone.
func Auto() (restore func()) {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return func() {}
	}
	return Set(Default)
}

// Set keeps the collector's heap goal at floor bytes or more, choosing
// the GC percent again after each cycle from the live heap that cycle
// measured. It returns a function that stops this and restores the GC
// percent found at the call. Where that percent is negative (GOGC=off)
// or floor is 0, Set changes nothing. A memory limit (GOMEMLIMIT) still
// applies: the runtime collects sooner when the heap nears it.
func Set(floor uint64) (restore func()) {
	base := debug.SetGCPercent(100)
	debug.SetGCPercent(base)
	if base < 0 || floor == 0 {
		return func() {}
	}
	t := &tuner{floor: floor, base: base, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	t.adjust()
	t.arm()
	return t.stop
}

// percentFor returns the GC percent that makes the heap goal floor for a
// live heap of live bytes, or base when base's own goal clears floor.
func percentFor(base int, floor, live uint64) int {
	b := uint64(base)
	if live*(100+b)/100 >= floor {
		return base
	}
	// Small live heaps meet the runtime's minimum goal first; larger ones
	// the goal proportional to them. The smaller percent reaches floor.
	p := floor * 100 / heapMinimum
	if live > 0 {
		p = min(p, (floor-live)*100/live)
	}
	return int(min(max(p, b), math.MaxInt32))
}

type tuner struct {
	floor uint64
	base  int

	mu     sync.Mutex
	sample []metrics.Sample
	set    int // the percent last set; 0 before the first
	done   bool
}

// sentinel is allocated to be collected, so that its cleanup runs once
// after each cycle. Its pointer keeps it out of the tiny allocator's
// blocks, whose cleanups may never run.
type sentinel struct{ _ *byte }

func (t *tuner) arm() {
	runtime.AddCleanup(new(sentinel), (*tuner).cycle, t)
}

func (t *tuner) cycle() {
	if t.adjust() {
		t.arm()
	}
}

// adjust sets the GC percent for the live heap the last cycle measured,
// and reports false once stop has run.
func (t *tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	metrics.Read(t.sample)
	var live uint64
	if v := t.sample[0].Value; v.Kind() == metrics.KindUint64 {
		live = v.Uint64()
	}
	if p := percentFor(t.base, t.floor, live); p != t.set {
		t.set = p
		debug.SetGCPercent(p)
	}
	return true
}

func (t *tuner) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done {
		t.done = true
		debug.SetGCPercent(t.base)
	}
}

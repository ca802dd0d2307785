package main

import (
	"fmt"
	"sync/atomic"
)

// fanTable records, for each publication of a run with -rate, how long
// its first and its last delivery took: the spread between them is the
// time the router and the subscribers' reading take to fan one event out,
// the base under it is one delivery's path. Publications are numbered
// from 1 across publishers (the first element of the EVENT's arguments);
// those past the table's end are not recorded.
type fanTable []fanTimes

// fanTimes are one publication's fastest and slowest delivery, in
// nanoseconds; 0 until a delivery is recorded.
type fanTimes struct {
	first, last atomic.Int64
}

// newFanTable sizes a table for o's publications: with -rate, each
// publisher sends at most Rate a second plus one. Without a rate there
// is none (a flood's publications are too many to keep).
func newFanTable(o *options) fanTable {
	if o.Rate <= 0 {
		return nil
	}
	return make(fanTable, int(o.Rate*o.Duration.Seconds()+2)*o.Pubs)
}

// record counts a delivery of publication n that took ns.
func (t fanTable) record(n, ns int64) {
	if n < 1 || n > int64(len(t)) {
		return
	}
	ns = max(ns, 1) // 0 means none yet
	f := &t[n-1]
	for {
		cur := f.first.Load()
		if cur != 0 && cur <= ns || f.first.CompareAndSwap(cur, ns) {
			break
		}
	}
	for {
		cur := f.last.Load()
		if cur >= ns || f.last.CompareAndSwap(cur, ns) {
			break
		}
	}
}

// fanOut is the report: the latencies of the first and of the last
// delivery of each publication that was delivered at all.
type fanOut struct {
	First latency `json:"first"`
	Last  latency `json:"last"`
}

// summary returns the report of the first n publications, nil without
// a table.
func (t fanTable) summary(n int64) *fanOut {
	if t == nil {
		return nil
	}
	var first, last histogram
	for i := range min(n, int64(len(t))) {
		f := &t[i]
		if l := f.last.Load(); l > 0 {
			first.record(f.first.Load())
			last.record(l)
		}
	}
	return &fanOut{First: first.latency(), Last: last.latency()}
}

// String is the fan-out line of a report.
func (f *fanOut) String() string {
	return fmt.Sprintf("first delivery p50 %.2f ms, p99 %.2f ms; last p50 %.2f ms, p99 %.2f ms (%d publications)",
		f.First.P50, f.First.P99, f.Last.P50, f.Last.P99, f.Last.Samples)
}

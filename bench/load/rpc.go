package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// rpcResult is the report of the rpc mode.
type rpcResult struct {
	Mode        string           `json:"mode"`
	Serializer  string           `json:"serializer"`
	Callees     int              `json:"callees"`
	Callers     int              `json:"callers"`
	Inflight    int              `json:"inflight"`
	Seconds     float64          `json:"seconds"` // until the last result arrived
	Calls       int64            `json:"calls"`   // CALLs sent
	Results     int64            `json:"results"`
	ErrorCount  int64            `json:"error_count"`
	Unanswered  int64            `json:"unanswered"` // neither RESULT nor ERROR within the drain
	Invocations int64            `json:"invocations"`
	CallRate    float64          `json:"calls_per_s"` // results per second
	Latency     latency          `json:"latency"`
	Floor       *floorResult     `json:"floor,omitempty"` // with -floor
	CPU         cpuUsage         `json:"cpu"`             // from the first CALL to the last result
	Errors      map[string]int64 `json:"errors,omitempty"`
	Disconnects int              `json:"disconnects"`
	FirstEnd    string           `json:"first_disconnect,omitempty"`
}

func (r *rpcResult) failed() bool { return r.Disconnects > 0 }

func (r *rpcResult) summary(w io.Writer) {
	fmt.Fprintf(w, "rpc: %d caller(s) × %d in flight -> %d callee(s), %s, %.1fs\n",
		r.Callers, r.Inflight, r.Callees, r.Serializer, r.Seconds)
	fmt.Fprintf(w, "  calls       %d sent, %d results (%.0f calls/s), %d invocations\n",
		r.Calls, r.Results, r.CallRate, r.Invocations)
	fmt.Fprintf(w, "  latency     %s\n", r.Latency)
	if r.Floor != nil {
		r.Floor.summary(w)
	}
	r.CPU.summary(w)
	fmt.Fprintf(w, "  errors      %d, unanswered %d\n", r.ErrorCount, r.Unanswered)
	uris := make([]string, 0, len(r.Errors))
	for uri := range r.Errors {
		uris = append(uris, uri)
	}
	sort.Strings(uris)
	for _, uri := range uris {
		fmt.Fprintf(w, "    %s × %d\n", uri, r.Errors[uri])
	}
	fmt.Fprintf(w, "  disconnects %d", r.Disconnects)
	if r.FirstEnd != "" {
		fmt.Fprintf(w, " (first: %s)", r.FirstEnd)
	}
	fmt.Fprintln(w)
}

func procedure(i int) wamp.URI { return wamp.URI(fmt.Sprintf("bench.load.echo.%d", i)) }

// caller is one calling session; its reader both reads results and sends
// the next calls, so it needs no other goroutine.
type caller struct {
	p           transport.Peer
	proc        wamp.URI
	sent        int64
	results     int64
	outstanding int64
	hist        histogram
	errors      map[string]int64
	err         error
}

// callee is one session answering INVOCATIONs with their own arguments.
type callee struct {
	p           transport.Peer
	invocations atomic.Int64
	err         error
}

// runRPC keeps o.Inflight calls in flight from each of o.Callers callers
// for o.Duration; caller i calls callee i mod o.Callees.
func runRPC(ctx context.Context, o *options) (*rpcResult, error) {
	floor, err := o.measureFloor(ctx)
	if err != nil {
		return nil, err
	}
	calleePeers, err := openAll(ctx, o, o.urls, o.Callees, func(i int) wamp.Message {
		return &wamp.Register{Request: 1, Procedure: procedure(i)}
	})
	if err != nil {
		return nil, err
	}
	callerPeers, err := openAll(ctx, o, o.toURLs, o.Callers, nil)
	if err != nil {
		closeAll(calleePeers)
		return nil, err
	}
	o.settleCluster()
	var ending atomic.Bool
	var calleeWG sync.WaitGroup
	callees := make([]*callee, len(calleePeers))
	for i, p := range calleePeers {
		c := &callee{p: p}
		callees[i] = c
		calleeWG.Add(1)
		go func() {
			defer calleeWG.Done()
			c.serve(&ending)
		}()
	}

	meter, err := startCPU(o.PID, o.PeerPID)
	if err != nil {
		closeAll(callerPeers)
		closeAll(calleePeers)
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(o.Duration)
	var callerWG sync.WaitGroup
	callers := make([]*caller, len(callerPeers))
	for i, p := range callerPeers {
		c := &caller{p: p, proc: procedure(i % o.Callees), errors: map[string]int64{}}
		callers[i] = c
		callerWG.Add(1)
		go func() {
			defer callerWG.Done()
			c.call(o.Inflight, deadline, &ending)
		}()
	}
	// Callers return once their last call is answered; a call that never
	// is keeps its caller reading until the peers are closed.
	stop := context.AfterFunc(ctx, func() { closeAll(callerPeers) })
	defer stop()
	waitGroup(&callerWG, o.Duration+o.Drain)
	end := time.Now()
	var results int64
	for _, c := range callers {
		results += c.results
	}
	cpu, cpuErr := meter.stop("call", results)
	ending.Store(true)
	closeAll(callerPeers)
	closeAll(calleePeers)
	callerWG.Wait() // released by the closes
	waitGroup(&calleeWG, 5*time.Second)

	res := &rpcResult{
		Floor: floor, Mode: "rpc", Serializer: o.codec.Name(),
		Callees: o.Callees, Callers: o.Callers, Inflight: o.Inflight,
		Seconds: end.Sub(start).Seconds(),
		Errors:  map[string]int64{},
	}
	var hist histogram
	ended := func(err error) {
		if err != nil {
			res.Disconnects++
			if res.FirstEnd == "" {
				res.FirstEnd = err.Error()
			}
		}
	}
	for _, c := range callers {
		res.Calls += c.sent
		res.Results += c.results
		res.Unanswered += c.outstanding
		for uri, n := range c.errors {
			res.Errors[uri] += n
			res.ErrorCount += n
		}
		hist.merge(&c.hist)
		ended(c.err)
	}
	for _, c := range callees {
		res.Invocations += c.invocations.Load()
		ended(c.err)
	}
	res.CallRate = float64(res.Results) / res.Seconds
	res.Latency = hist.latency()
	res.CPU = cpu
	if cpuErr != nil {
		return nil, cpuErr
	}
	return res, nil
}

// call keeps inflight calls going until deadline, then waits for the
// outstanding ones.
func (c *caller) call(inflight int, deadline time.Time, ending *atomic.Bool) {
	var req int64
	send := func(now time.Time) bool {
		req++
		err := c.p.Send(&wamp.Call{Request: wamp.ID(req), Procedure: c.proc, Payload: wamp.Payload{Args: stampArgs(req, now)}})
		if err != nil {
			c.err = fmt.Errorf("caller: send: %w", err)
			return false
		}
		c.sent++
		c.outstanding++
		return true
	}
	now := time.Now()
	for range inflight {
		if !send(now) {
			return
		}
	}
	for c.outstanding > 0 {
		m, err := c.p.Read()
		if err != nil {
			if !ending.Load() {
				c.err = fmt.Errorf("caller: %w: %w", errEnded, err)
			}
			return
		}
		now = time.Now()
		switch m := m.(type) {
		case *wamp.Result:
			c.outstanding--
			c.results++
			if _, sent, ok := stampOf(&m.Payload); ok {
				c.hist.record(now.UnixNano() - sent)
			}
		case *wamp.ErrorMessage:
			c.outstanding--
			c.errors[string(m.Error)]++
		default:
			continue
		}
		if now.Before(deadline) && !send(now) {
			return
		}
	}
}

// serve answers every INVOCATION with a YIELD of its arguments, passed
// through still encoded.
func (c *callee) serve(ending *atomic.Bool) {
	for {
		m, err := c.p.Read()
		if err != nil {
			if !ending.Load() {
				c.err = fmt.Errorf("callee: %w: %w", errEnded, err)
			}
			return
		}
		inv, ok := m.(*wamp.Invocation)
		if !ok {
			continue
		}
		c.invocations.Add(1)
		if err := c.p.Send(&wamp.Yield{Request: inv.Request, Payload: inv.Payload}); err != nil {
			if !ending.Load() {
				c.err = fmt.Errorf("callee: send: %w", err)
			}
			return
		}
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// pubsubTopic is the one topic every publisher publishes to.
const pubsubTopic wamp.URI = "bench.load.topic"

// pubsubResult is the report of the pubsub mode.
type pubsubResult struct {
	Mode          string         `json:"mode"`
	Serializer    string         `json:"serializer"`
	Subscribers   int            `json:"subscribers"`
	Publishers    int            `json:"publishers"`
	Seconds       float64        `json:"seconds"`       // publishing time
	DrainSeconds  float64        `json:"drain_seconds"` // wait for the last events
	Published     int64          `json:"published"`
	Acked         int64          `json:"acked"` // PUBLISHED received
	Delivered     int64          `json:"delivered"`
	Expected      int64          `json:"expected"`
	Lost          int64          `json:"lost"`
	PublishedRate float64        `json:"published_per_s"`
	DeliveredRate float64        `json:"delivered_per_s"`
	Latency       latency        `json:"latency"`
	Floor         *floorResult   `json:"floor,omitempty"`   // with -floor
	FanOut        *fanOut        `json:"fan_out,omitempty"` // with -rate
	CPU           cpuUsage       `json:"cpu"`               // from the first PUBLISH to the end of the drain
	Disconnects   int            `json:"disconnects"`
	Errors        map[string]int `json:"errors,omitempty"`
	FirstEnd      string         `json:"first_disconnect,omitempty"`
}

func (r *pubsubResult) failed() bool { return r.Disconnects > 0 }

func (r *pubsubResult) summary(w io.Writer) {
	fmt.Fprintf(w, "pubsub: %d publisher(s) -> %d subscribers, %s, %.1fs (+%.2fs drain)\n",
		r.Publishers, r.Subscribers, r.Serializer, r.Seconds, r.DrainSeconds)
	fmt.Fprintf(w, "  published   %d (%.0f/s), acknowledged %d\n", r.Published, r.PublishedRate, r.Acked)
	fmt.Fprintf(w, "  delivered   %d of %d expected (%.0f events/s)\n", r.Delivered, r.Expected, r.DeliveredRate)
	fmt.Fprintf(w, "  lost        %d\n", r.Lost)
	fmt.Fprintf(w, "  latency     %s\n", r.Latency)
	if r.FanOut != nil {
		fmt.Fprintf(w, "  fan-out     %s\n", r.FanOut)
	}
	if r.Floor != nil {
		r.Floor.summary(w)
	}
	r.CPU.summary(w)
	fmt.Fprintf(w, "  disconnects %d", r.Disconnects)
	if r.FirstEnd != "" {
		fmt.Fprintf(w, " (first: %s)", r.FirstEnd)
	}
	fmt.Fprintln(w)
	for uri, n := range r.Errors {
		fmt.Fprintf(w, "  error       %s × %d\n", uri, n)
	}
}

// subscriber is one subscribing session and its reader's tallies.
type subscriber struct {
	p         transport.Peer
	delivered atomic.Int64 // read by publishers for the window
	hist      histogram    // owned by the reader until it returns
	err       error        // why the connection ended early, if it did
}

// publisher is one publishing session.
type publisher struct {
	p        transport.Peer
	acksSent int64        // owned by the publishing goroutine
	acked    atomic.Int64 // PUBLISHED received
	mu       sync.Mutex
	errors   map[string]int
	err      error // why the reader ended early, if it did
	sendErr  error // why publishing stopped early, if it did
}

// pubsubRun holds the state shared by one run's goroutines.
type pubsubRun struct {
	o         *options
	subs      []*subscriber
	pubs      []*publisher
	published atomic.Int64
	numbered  atomic.Int64 // publications numbered for fan, across publishers
	fan       fanTable
	ending    atomic.Bool // set before closing: reader errors are then expected
}

func (r *pubsubRun) delivered() int64 {
	var n int64
	for _, s := range r.subs {
		n += s.delivered.Load()
	}
	return n
}

// runPubSub publishes to one topic for o.Duration and counts what the
// subscribers receive.
func runPubSub(ctx context.Context, o *options) (*pubsubResult, error) {
	floor, err := o.measureFloor(ctx)
	if err != nil {
		return nil, err
	}
	r := &pubsubRun{o: o, fan: newFanTable(o)}
	subPeers, err := openAll(ctx, o, o.urls, o.Subs, func(i int) wamp.Message {
		return &wamp.Subscribe{Request: 1, Topic: pubsubTopic}
	})
	if err != nil {
		return nil, err
	}
	pubPeers, err := openAll(ctx, o, o.toURLs, o.Pubs, nil)
	if err != nil {
		closeAll(subPeers)
		return nil, err
	}
	o.settleCluster()
	var readers sync.WaitGroup
	for _, p := range subPeers {
		s := &subscriber{p: p}
		r.subs = append(r.subs, s)
		readers.Add(1)
		go func() {
			defer readers.Done()
			r.subscribe(s)
		}()
	}
	for _, p := range pubPeers {
		pub := &publisher{p: p, errors: map[string]int{}}
		r.pubs = append(r.pubs, pub)
		readers.Add(1)
		go func() {
			defer readers.Done()
			r.readAcks(pub)
		}()
	}

	meter, err := startCPU(o.PID, o.PeerPID)
	if err != nil {
		closeAll(subPeers)
		closeAll(pubPeers)
		return nil, err
	}
	start := time.Now()
	deadline := start.Add(o.Duration)
	var writers sync.WaitGroup
	for _, pub := range r.pubs {
		writers.Add(1)
		go func() {
			defer writers.Done()
			r.publish(ctx, pub, start, deadline)
		}()
	}
	writers.Wait()
	published := time.Now()

	// Drain: wait for the events still on their way.
	expected := r.published.Load() * int64(len(r.subs))
	drainUntil := published.Add(o.Drain)
	for r.delivered() < expected && time.Now().Before(drainUntil) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	drained := time.Now()
	cpu, cpuErr := meter.stop("event", r.delivered())

	r.ending.Store(true)
	closeAll(subPeers)
	closeAll(pubPeers)
	waitGroup(&readers, 5*time.Second)

	res := &pubsubResult{
		Floor: floor, Mode: "pubsub", Serializer: o.codec.Name(),
		Subscribers: len(r.subs), Publishers: len(r.pubs),
		Seconds:      published.Sub(start).Seconds(),
		DrainSeconds: drained.Sub(published).Seconds(),
		Published:    r.published.Load(),
		Expected:     expected,
		Errors:       map[string]int{},
	}
	var hist histogram
	for _, s := range r.subs {
		res.Delivered += s.delivered.Load()
		hist.merge(&s.hist)
		if s.err != nil {
			res.Disconnects++
			if res.FirstEnd == "" {
				res.FirstEnd = s.err.Error()
			}
		}
	}
	for _, pub := range r.pubs {
		res.Acked += pub.acked.Load()
		pub.mu.Lock()
		for uri, n := range pub.errors {
			res.Errors[uri] += n
		}
		pub.mu.Unlock()
		for _, err := range []error{pub.err, pub.sendErr} {
			if err != nil {
				res.Disconnects++
				if res.FirstEnd == "" {
					res.FirstEnd = err.Error()
				}
				break
			}
		}
	}
	res.Lost = max(expected-res.Delivered, 0)
	res.PublishedRate = float64(res.Published) / res.Seconds
	res.DeliveredRate = float64(res.Delivered) / drained.Sub(start).Seconds()
	res.Latency = hist.latency()
	res.FanOut = r.fan.summary(r.numbered.Load())
	res.CPU = cpu
	if cpuErr != nil {
		return nil, cpuErr
	}
	return res, nil
}

// subscribe is a subscriber's reader: it counts EVENTs and their latency.
func (r *pubsubRun) subscribe(s *subscriber) {
	for {
		m, err := s.p.Read()
		if err != nil {
			if !r.ending.Load() {
				s.err = fmt.Errorf("subscriber: %w: %w", errEnded, err)
			}
			return
		}
		ev, ok := m.(*wamp.Event)
		if !ok {
			continue
		}
		if n, sent, ok := stampOf(&ev.Payload); ok {
			took := time.Now().UnixNano() - sent
			s.hist.record(took)
			r.fan.record(n, took)
		}
		s.delivered.Add(1)
	}
}

// readAcks is a publisher's reader: it counts PUBLISHED and ERROR.
func (r *pubsubRun) readAcks(pub *publisher) {
	for {
		m, err := pub.p.Read()
		if err != nil {
			if !r.ending.Load() {
				pub.err = fmt.Errorf("publisher: %w: %w", errEnded, err)
			}
			return
		}
		switch m := m.(type) {
		case *wamp.Published:
			pub.acked.Add(1)
		case *wamp.ErrorMessage:
			pub.mu.Lock()
			pub.errors[string(m.Error)]++
			pub.mu.Unlock()
		}
	}
}

var (
	ackOptions = wamp.Dict{"acknowledge": true}
	// maxAcksOutstanding bounds what a publisher sends ahead of the
	// router: at most this many acknowledged publishes, so about
	// maxAcksOutstanding × AckEvery PUBLISHes, wait in the router.
	maxAcksOutstanding int64 = 2
)

// publish sends PUBLISHes until deadline, keeping within o.Rate, the
// delivery window and the acknowledgement window.
func (r *pubsubRun) publish(ctx context.Context, pub *publisher, start, deadline time.Time) {
	o := r.o
	subs := int64(len(r.subs))
	var seq, budget int64
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(deadline) {
			return
		}
		if o.Rate > 0 && float64(seq) >= o.Rate*now.Sub(start).Seconds() {
			time.Sleep(time.Millisecond)
			continue
		}
		if budget <= 0 && subs > 0 {
			// Deliveries outstanding over the whole run, split evenly.
			outstanding := r.published.Load()*subs - r.delivered()
			budget = (int64(o.Window) - outstanding) / subs / int64(len(r.pubs))
			if budget <= 0 && outstanding <= 0 {
				budget = 1 // a window smaller than the audience still lets one event through
			}
			if budget <= 0 {
				time.Sleep(100 * time.Microsecond)
				continue
			}
		}
		if pub.acksSent-pub.acked.Load() >= maxAcksOutstanding {
			select {
			case <-pub.p.Done():
				return
			default:
			}
			time.Sleep(100 * time.Microsecond)
			continue
		}
		seq++
		budget--
		var opts wamp.Dict
		if seq%int64(o.AckEvery) == 0 {
			opts = ackOptions
			pub.acksSent++
		}
		err := pub.p.Send(&wamp.Publish{Request: wamp.ID(seq), Options: opts, Topic: pubsubTopic,
			Payload: wamp.Payload{Args: stampArgs(r.numbered.Add(1), now)}})
		if err != nil {
			pub.sendErr = fmt.Errorf("publisher: send: %w", err)
			return
		}
		r.published.Add(1)
	}
}

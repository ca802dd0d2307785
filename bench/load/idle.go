package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/wamp"
)

// idleResult is the report of the idle mode.
type idleResult struct {
	Mode            string   `json:"mode"`
	Serializer      string   `json:"serializer"`
	Sessions        int      `json:"sessions"`
	ConnectSeconds  float64  `json:"connect_seconds"`
	RouterPID       int      `json:"router_pid,omitempty"`
	RouterRSSBefore int64    `json:"router_rss_before"` // bytes, 0 without -pid
	RouterRSSAfter  int64    `json:"router_rss_after"`
	BytesPerSession int64    `json:"bytes_per_session"`
	RouterMaxFiles  int64    `json:"router_max_files,omitempty"` // soft RLIMIT_NOFILE, -1 unlimited
	Spread          int      `json:"spread"`                     // destination addresses used
	CPU             cpuUsage `json:"cpu"`                        // while opening the sessions
	LoadRSS         int64    `json:"load_rss"`                   // this tool, with every session open
	Disconnects     int      `json:"disconnects"`
	FirstEnd        string   `json:"first_disconnect,omitempty"`
}

func (r *idleResult) failed() bool { return r.Disconnects > 0 }

func (r *idleResult) summary(w io.Writer) {
	fmt.Fprintf(w, "idle: %d sessions, each subscribed to its own topic, %s, opened in %.2fs\n",
		r.Sessions, r.Serializer, r.ConnectSeconds)
	if r.RouterPID > 0 {
		fmt.Fprintf(w, "  router RSS  %.1f MiB before, %.1f MiB after (pid %d)\n",
			mib(r.RouterRSSBefore), mib(r.RouterRSSAfter), r.RouterPID)
		fmt.Fprintf(w, "  per session %d bytes (%.1f KiB)\n", r.BytesPerSession, float64(r.BytesPerSession)/1024)
		fmt.Fprintf(w, "  router fds  limit %d\n", r.RouterMaxFiles)
	} else {
		fmt.Fprintln(w, "  router RSS  not measured (no -pid)")
	}
	fmt.Fprintf(w, "  load RSS    %.1f MiB, sessions spread over %d address(es)\n", mib(r.LoadRSS), r.Spread)
	r.CPU.summary(w)
	fmt.Fprintf(w, "  disconnects %d", r.Disconnects)
	if r.FirstEnd != "" {
		fmt.Fprintf(w, " (first: %s)", r.FirstEnd)
	}
	fmt.Fprintln(w)
}

// runIdle opens o.Sessions sessions that each subscribe to a topic of
// their own and then do nothing, and measures the router's RSS growth.
func runIdle(ctx context.Context, o *options) (*idleResult, error) {
	res := &idleResult{Mode: "idle", Serializer: o.codec.Name(), RouterPID: o.PID, Spread: len(o.urls)}
	var err error
	if o.PID > 0 {
		if res.RouterRSSBefore, err = rss(o.PID); err != nil {
			return nil, err
		}
		if res.RouterMaxFiles, err = fileLimit(o.PID); err != nil {
			return nil, err
		}
		if res.RouterMaxFiles >= 0 && res.RouterMaxFiles < int64(o.Sessions)+16 {
			return nil, fmt.Errorf("the router (pid %d) may open %d files, fewer than %d sessions need: start it after ulimit -n %d",
				o.PID, res.RouterMaxFiles, o.Sessions, o.Sessions+1000)
		}
	}
	meter, err := startCPU(o.PID, 0)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	peers, err := openAll(ctx, o, o.urls, o.Sessions, func(i int) wamp.Message {
		return &wamp.Subscribe{Request: 1, Topic: wamp.URI(fmt.Sprintf("bench.load.idle.%d", i))}
	})
	if err != nil {
		return nil, err
	}
	res.Sessions = len(peers)
	res.ConnectSeconds = time.Since(start).Seconds()
	if res.CPU, err = meter.stop("session", int64(res.Sessions)); err != nil {
		closeAll(peers)
		return nil, err
	}

	// A reader per session answers the router's pings and notices a
	// connection that ends.
	var ending atomic.Bool
	var readers sync.WaitGroup
	var mu sync.Mutex
	for _, p := range peers {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				if _, err := p.Read(); err != nil {
					if !ending.Load() {
						mu.Lock()
						res.Disconnects++
						if res.FirstEnd == "" {
							res.FirstEnd = err.Error()
						}
						mu.Unlock()
					}
					return
				}
			}
		}()
	}
	select {
	case <-time.After(o.Settle):
	case <-ctx.Done():
	}
	if o.PID > 0 {
		if res.RouterRSSAfter, err = rss(o.PID); err == nil && res.Sessions > 0 {
			res.BytesPerSession = (res.RouterRSSAfter - res.RouterRSSBefore) / int64(res.Sessions)
		}
	}
	res.LoadRSS, _ = rss(0)
	mu.Lock()
	ending.Store(true)
	mu.Unlock()
	closeAll(peers)
	waitGroup(&readers, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return res, nil
}

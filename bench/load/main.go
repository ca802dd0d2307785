// Command load drives a running Junction router (or any WAMP v2 router)
// over WebSocket and reports what the router delivers.
//
// It speaks WAMP through raw transport peers rather than the client
// package, so that the numbers describe the router, not a client library.
// Three modes:
//
//	go run ./bench/load -mode pubsub -subs 100 -pubs 1 -duration 10s
//	go run ./bench/load -mode rpc -callers 8 -inflight 16 -duration 10s
//	go run ./bench/load -mode idle -sessions 1000 -pid $(pgrep -n junction)
//
// With -pid it also reads the router's CPU time from /proc/PID/stat and
// reports it per operation beside its own.
//
// See bench/README.md for what each mode measures. The tool stops by
// itself: every phase is bounded in time and count. It exits 1 when a
// connection fails to open or ends early, 2 on bad flags.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/junction-run/junction/wamp/codec"
)

// maxDuration caps -duration, so that a typo cannot load a machine for
// hours.
const maxDuration = 120 * time.Second

// maxFloorRounds caps -floor: 20,000 round trips at 5 ms is 100 s a probe.
const maxFloorRounds = 20000

// options are the flags, shared by all modes. The test builds them
// directly.
type options struct {
	Mode       string
	URL        string
	Realm      string
	Serializer string
	Duration   time.Duration
	JSON       bool

	// pubsub
	Subs     int
	Pubs     int
	Rate     float64 // events/s per publisher; 0 means as fast as Window allows
	Window   int     // deliveries outstanding (published × subs − delivered)
	AckEvery int     // every Nth PUBLISH asks for acknowledge
	Drain    time.Duration

	// rpc
	Callees  int
	Callers  int
	Inflight int

	// idle
	Sessions int
	PID      int
	Settle   time.Duration

	// Floor is how many round trips each floor probe times before the
	// run (0: none); see floor.go.
	Floor int

	// DialConcurrency bounds how many connections are opened at once.
	DialConcurrency int
	// DialTimeout bounds opening one session (dial, HELLO, SUBSCRIBE or
	// REGISTER).
	DialTimeout time.Duration

	// Spread is how many consecutive IPv4 addresses, from the URL's
	// host on, sessions are spread over (see spreadURLs).
	Spread int

	// To is where publishers and callers connect, another node of a
	// cluster than -url's; PeerPID is that node's process, whose CPU
	// counts as the router's too.
	To      string
	PeerPID int

	codec  codec.Codec
	urls   []string // the URL, or Spread of them
	toURLs []string // To's, or urls
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.Mode, "mode", "pubsub", "load to apply: pubsub, rpc or idle")
	fs.StringVar(&o.URL, "url", "ws://127.0.0.1:8080/ws", "router WebSocket URL")
	fs.StringVar(&o.Realm, "realm", "realm1", "realm to join")
	fs.StringVar(&o.Serializer, "serializer", "json", "json, msgpack or cbor")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long to publish or call (at most 2m)")
	fs.BoolVar(&o.JSON, "json", false, "also print the result as one JSON object line")

	fs.IntVar(&o.Subs, "subs", 100, "pubsub: subscriber sessions")
	fs.IntVar(&o.Pubs, "pubs", 1, "pubsub: publisher sessions")
	fs.Float64Var(&o.Rate, "rate", 0, "pubsub: events per second per publisher (0: as fast as -window allows)")
	fs.IntVar(&o.Window, "window", 10000, "pubsub: most deliveries outstanding (published × subs − delivered) before publishers wait")
	fs.IntVar(&o.AckEvery, "ack-every", 100, "pubsub: ask for acknowledge on every Nth publish; publishers wait when two acks are outstanding")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "pubsub and rpc: how long to wait for outstanding events or results at the end")

	fs.IntVar(&o.Callees, "callees", 1, "rpc: callee sessions, each registering its own procedure")
	fs.IntVar(&o.Callers, "callers", 8, "rpc: caller sessions")
	fs.IntVar(&o.Inflight, "inflight", 16, "rpc: calls each caller keeps in flight")

	fs.IntVar(&o.Sessions, "sessions", 1000, "idle: sessions to open")
	fs.IntVar(&o.PID, "pid", 0, "router process ID whose CPU time (every mode), VmRSS and open-file limit (idle) to read (0: do not measure the router)")
	fs.DurationVar(&o.Settle, "settle", 2*time.Second, "idle: wait after connecting before reading RSS")

	fs.StringVar(&o.To, "to", "", "pubsub and rpc: URL the publishers or callers connect to, e.g. another node of a cluster (default: -url); subscribers and callees use -url")
	fs.IntVar(&o.PeerPID, "peer-pid", 0, "with -to: the other node's process ID, whose CPU time is added to the router's")
	fs.IntVar(&o.Spread, "spread", 1, "spread sessions round robin over this many consecutive IPv4 addresses from the -url host on (127.0.0.1, 127.0.0.2, ...); the router must listen on all of them, e.g. on 0.0.0.0")
	fs.IntVar(&o.Floor, "floor", 0, "pubsub and rpc: before the run, time this many loopback round trips between this tool and an echo child, through Go's poller and through blocking read(2), at the run's cadence (-rate, else 5 ms): the machine's floor, reported beside the latency")
	fs.IntVar(&o.DialConcurrency, "dial-concurrency", 64, "connections opened at once")
	fs.DurationVar(&o.DialTimeout, "dial-timeout", 10*time.Second, "bound on opening one session")
}

// settleCluster gives the nodes of a cluster time to learn of the
// subscriptions or registrations just made on another node (-to): they
// spread in the background, in milliseconds.
func (o *options) settleCluster() {
	if o.To != "" {
		time.Sleep(time.Second)
	}
}

// validate checks the flags and fills in the codec.
func (o *options) validate() error {
	c, err := codec.ByName(o.Serializer)
	if err != nil {
		return err
	}
	o.codec = c
	if o.Spread < 1 || o.Spread > 250 {
		return errors.New("-spread must be in [1, 250]")
	}
	if o.urls, err = spreadURLs(o.URL, o.Spread); err != nil {
		return err
	}
	o.toURLs = o.urls
	if o.To != "" {
		if o.toURLs, err = spreadURLs(o.To, o.Spread); err != nil {
			return err
		}
	}
	if o.PeerPID != 0 && (o.To == "" || o.PID == 0) {
		return errors.New("-peer-pid needs -to and -pid")
	}
	switch {
	case o.Duration <= 0 || o.Duration > maxDuration:
		return fmt.Errorf("-duration must be in (0, %s]", maxDuration)
	case o.DialConcurrency < 1 || o.DialTimeout <= 0:
		return errors.New("-dial-concurrency and -dial-timeout must be positive")
	case o.Drain < 0 || o.Drain > time.Minute:
		return errors.New("-drain must be in [0, 1m]")
	case o.Floor < 0 || o.Floor > maxFloorRounds:
		return fmt.Errorf("-floor must be in [0, %d]", maxFloorRounds)
	case o.Floor > 0 && o.Mode == "idle":
		return errors.New("-floor goes with pubsub and rpc, which report latency")
	}
	switch o.Mode {
	case "pubsub":
		if o.Subs < 0 || o.Pubs < 1 || o.Window < 1 || o.AckEvery < 1 || o.Rate < 0 {
			return errors.New("pubsub needs -subs >= 0, -pubs, -window and -ack-every >= 1, -rate >= 0")
		}
	case "rpc":
		if o.Callees < 1 || o.Callers < 1 || o.Inflight < 1 {
			return errors.New("rpc needs -callees, -callers and -inflight >= 1")
		}
	case "idle":
		if o.Sessions < 1 || o.Settle < 0 || o.Settle > 5*time.Minute {
			return errors.New("idle needs -sessions >= 1 and -settle in [0, 5m]")
		}
	default:
		return fmt.Errorf("unknown -mode %q: want pubsub, rpc or idle", o.Mode)
	}
	return nil
}

// sessionCount is how many connections the mode opens.
func (o *options) sessionCount() int {
	switch o.Mode {
	case "pubsub":
		return o.Subs + o.Pubs
	case "rpc":
		return o.Callees + o.Callers
	}
	return o.Sessions
}

// result is what every mode reports.
type result interface {
	// summary writes the human-readable report.
	summary(w io.Writer)
	// failed reports whether connections ended early.
	failed() bool
}

// runMode runs o.Mode against the router; o must be validated.
func runMode(ctx context.Context, o *options) (result, error) {
	switch o.Mode {
	case "pubsub":
		return runPubSub(ctx, o)
	case "rpc":
		return runRPC(ctx, o)
	default:
		return runIdle(ctx, o)
	}
}

// newFlagSet returns the command's flags, bound to o.
func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	o.register(fs)
	return fs
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "load: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 2
	}
	if err := raiseFileLimit(o.sessionCount() + 64); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := runMode(ctx, &o)
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 1
	}
	res.summary(stdout)
	if o.JSON {
		b, err := json.Marshal(res)
		if err != nil {
			fmt.Fprintf(stderr, "load: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	if res.failed() {
		fmt.Fprintln(stderr, "load: connections ended before the run did")
		return 1
	}
	return 0
}

func main() {
	if code, child := floorChild(); child {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

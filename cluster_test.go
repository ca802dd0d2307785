package junction

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/wamp"
)

// TestAppsInACluster: two instances of an app, each embedding a router,
// joined in a cluster by their settings: a procedure of one is called
// from the other, an event crosses, and a task enqueued on one is run by
// whichever instance's worker takes it, from the cluster's JetStream. The
// instances listen for routes on addresses of their own (127.0.0.6x),
// which no other test uses.
func TestAppsInACluster(t *testing.T) {
	peers := []string{"127.0.0.61:16222", "127.0.0.62:16222"}
	type instance struct {
		app   *Application
		ran   chan string
		queue *Queue
	}
	var insts []*instance
	for i, name := range []string{"a", "b"} {
		app, logs := newTestApp(t, "shop", WithSettings(func(s *Settings) {
			s.DataDir, s.ClusterListen, s.Peers, s.NodeName = t.TempDir(), peers[i], peers, name
		}))
		inst := &instance{app: app, ran: make(chan string, 4)}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("logs of %s:\n%s", name, logs.String())
			}
		})
		inst.queue = app.Queue("jobs")
		inst.queue.Task("square", func(n int) (int, error) {
			inst.ran <- name
			return n * n, nil
		})
		if name == "b" {
			app.Register("whoami", func() string { return "b" })
		}
		insts = append(insts, inst)
	}
	// Both at once: the queues' JetStream needs both nodes up.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, inst := range insts {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			errs[i] = inst.app.Start(ctx)
		})
	}
	wg.Wait()
	for i, inst := range insts {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := inst.app.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
	a, b := insts[0], insts[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for !slices.Equal(a.app.ClusterNodes(), []string{"a", "b"}) {
		if ctx.Err() != nil {
			t.Fatalf("a sees %v", a.app.ClusterNodes())
		}
		time.Sleep(10 * time.Millisecond)
	}

	// b's procedure, called from a once a knows of it.
	for {
		res, err := a.app.Call(ctx, "whoami")
		if err == nil {
			if res.Arg(0) != "b" {
				t.Fatalf("whoami: %v", res.Args)
			}
			break
		}
		if !errors.Is(err, wamp.ErrNoSuchProcedure) || ctx.Err() != nil {
			t.Fatalf("whoami: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A task enqueued on a, its result read on b.
	id, err := a.queue.Enqueue(ctx, "square", 7)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.queue.Result(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != queue.Done || res.Value != float64(49) && res.Value != int64(49) && res.Value != 49 {
		t.Fatalf("result %+v", res)
	}
}

func TestClusterSettingsErrors(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		set  func(*Settings)
		want string
	}{
		{nil, func(s *Settings) { s.ClusterListen = "127.0.0.63:16222" }, "built without the cluster's code"},
		{nil, func(s *Settings) { s.Peers = []string{"127.0.0.1:1"} }, "need --cluster-listen"},
		{[]Option{Clustered()}, func(s *Settings) { s.ClusterListen, s.Connect = "127.0.0.63:16222", "ws://127.0.0.1:1/ws" }, "excludes --connect"},
		{[]Option{Clustered()}, func(s *Settings) { s.ClusterListen, s.NodeName = "127.0.0.63:16222", "a b" }, `node name "a b"`},
	} {
		app, _ := newTestApp(t, "shop", append(c.opts, WithSettings(c.set))...)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := app.Start(ctx)
		cancel()
		if err == nil {
			app.Shutdown(context.Background())
			t.Errorf("%s: started", c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q, want one with %q", err, c.want)
		}
	}
}

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/router"
)

func quietRouter(t *testing.T) *router.Router {
	t.Helper()
	r, err := router.New(router.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return r
}

// startNodes starts n in-process nodes and waits until they see each
// other. With withData, each has a data dir and lists every node in its
// peers, as a JetStream cluster needs: the nodes then listen on fixed
// ports of addresses of their own (127.0.0.5x), which no other test uses.
func startNodes(t *testing.T, n int, withData bool) []*cluster.Node {
	t.Helper()
	var nodes []*cluster.Node
	var routes, all []string
	for i := range n {
		all = append(all, fmt.Sprintf("127.0.0.%d:16222", 51+i))
	}
	for i := range n {
		cfg := cluster.Config{Name: string(rune('a' + i)), Listen: "127.0.0.1:0", Peers: routes,
			Logger: slog.New(slog.DiscardHandler)}
		if withData {
			cfg.DataDir, cfg.Listen, cfg.Peers = t.TempDir(), all[i], all
		}
		node, err := cluster.Start(context.Background(), cfg, quietRouter(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		routes = append(routes, node.RouteAddr())
		nodes = append(nodes, node)
	}
	for _, node := range nodes {
		for deadline := time.Now().Add(20 * time.Second); len(node.Nodes()) != n; {
			if time.Now().After(deadline) {
				t.Fatalf("node %s sees %v", node.Name(), node.Nodes())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nodes
}

// TestJetStreamSurvivesANode: with a data dir, the embedded servers form
// a JetStream cluster; a stream replicated on three nodes takes writes
// and keeps its messages once one node is gone.
func TestJetStreamSurvivesANode(t *testing.T) {
	nodes := startNodes(t, 3, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	js, err := jetstream.New(nodes[0].Conn())
	if err != nil {
		t.Fatal(err)
	}
	var stream jetstream.Stream
	for {
		// The JetStream cluster elects its leader shortly after the
		// routes are up: until then, creating a stream fails or hangs,
		// hence a deadline per attempt.
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		stream, err = js.CreateStream(actx, jetstream.StreamConfig{Name: "JOBS", Subjects: []string{"jobs.>"}, Replicas: 3})
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create an R3 stream: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := js.Publish(ctx, "jobs.one", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := nodes[2].Close(); err != nil {
		t.Fatal(err)
	}
	for {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := js.Publish(actx, "jobs.two", []byte("2"), jetstream.WithMsgID("two"))
		acancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("publish with a node gone: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2", info.State.Msgs)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  cluster.Config
		want string
	}{
		{cluster.Config{Name: "a b", Listen: "127.0.0.1:0"}, `node name "a b"`},
		{cluster.Config{Name: "a"}, "--cluster-listen is required"},
		{cluster.Config{Name: "a", Listen: "127.0.0.1:0", NATS: []string{"nats://127.0.0.1:4222"}}, "excludes --cluster-listen"},
		{cluster.Config{Name: "a", NATS: []string{"http://x"}}, `NATS URL "http://x"`},
		{cluster.Config{Name: "a", Listen: "127.0.0.1"}, `address "127.0.0.1"`},
		{cluster.Config{Name: "a", Listen: "127.0.0.1:0", Peers: []string{"x:99999"}}, `address "x:99999"`},
		{cluster.Config{Name: "a", Listen: "127.0.0.1:0", DataDir: "/tmp/x"}, "needs its nodes listed in --peers"},
		{cluster.Config{Name: "a", Listen: "127.0.0.1:0", Beacon: time.Second, DeadAfter: time.Second}, "dead_after 1s"},
	} {
		err := c.cfg.Validate()
		if !errors.Is(err, cluster.ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error with %q", c.cfg, err, c.want)
		}
	}
	if err := (cluster.Config{Listen: "127.0.0.1:0"}).Validate(); err != nil {
		t.Errorf("a default node name: %v", err)
	}
}

// TestCloseTellsThePeers: a node that leaves is forgotten at once, not
// after the dead time.
func TestCloseTellsThePeers(t *testing.T) {
	nodes := startNodes(t, 2, false)
	start := time.Now()
	if err := nodes[1].Close(); err != nil {
		t.Fatal(err)
	}
	for len(nodes[0].Nodes()) != 1 {
		if time.Since(start) > cluster.DefaultDeadAfter {
			t.Fatalf("a node that left is still seen after %v", time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

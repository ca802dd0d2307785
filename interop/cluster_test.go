package interop

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// startCluster serves n routers joined in a cluster, each at its own
// ws://127.0.0.1:PORT/ws, and returns their URLs once every node sees the
// others.
func startCluster(t *testing.T, n int) []string {
	t.Helper()
	var urls, routes []string
	var nodes []*cluster.Node
	for i := range n {
		r, err := router.New(router.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		cfg := cluster.Config{Name: string(rune('a' + i)), Listen: "127.0.0.1:0", Peers: routes,
			Logger: slog.New(slog.DiscardHandler)}
		node, err := cluster.Start(context.Background(), cfg, r)
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, node.RouteAddr())
		nodes = append(nodes, node)
		mux := http.NewServeMux()
		mux.Handle("/ws", r)
		srv := httptest.NewServer(mux)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.Stop(ctx); err != nil {
				t.Errorf("router stop: %v", err)
			}
			if err := node.Close(); err != nil {
				t.Errorf("node close: %v", err)
			}
			srv.Close()
		})
		urls = append(urls, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws")
	}
	for _, node := range nodes {
		for deadline := time.Now().Add(20 * time.Second); len(node.Nodes()) != n; {
			if time.Now().After(deadline) {
				t.Fatalf("node %s sees %v", node.Name(), node.Nodes())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return urls
}

// settleOn waits until s's node knows a callee of every procedure and a
// subscriber of every topic.
func settleOn(t *testing.T) func(s *client.Session, procs, topics []wamp.URI) {
	return func(s *client.Session, procs, topics []wamp.URI) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wait := func(lookup wamp.URI, uri wamp.URI) {
			for {
				res, err := s.Call(ctx, lookup, wamp.List{string(uri)}, nil, nil)
				if err != nil {
					t.Fatalf("%s %s: %v", lookup, uri, err)
				}
				if res.Arg(0) != nil {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		for _, p := range procs {
			wait("wamp.registration.lookup", p)
		}
		for _, tp := range topics {
			wait("wamp.subscription.lookup", tp)
		}
	}
}

// TestAutobahnAcrossNodes: Autobahn|JS on one node of a cluster and the Go
// client on another call and publish to each other, on every pair of
// serializers: payloads cross the cluster in the serializer they came in
// and reach the other side in its own.
func TestAutobahnAcrossNodes(t *testing.T) {
	requireNode(t)
	urls := startCluster(t, 3)
	for i, jsSer := range serializers {
		for j, goSer := range serializers {
			t.Run("js="+jsSer+"/go="+goSer, func(t *testing.T) {
				// Every pair of nodes, in both directions, in turn.
				jsURL, goURL := urls[(i+j)%3], urls[(i+j+1+j%2)%3]
				if jsURL == goURL {
					t.Fatal("the two sides are on one node")
				}
				goAndAutobahnOn(t, jsURL, goURL, jsSer, goSer, settleOn(t))
			})
		}
	}
}

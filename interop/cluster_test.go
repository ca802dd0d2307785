package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
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

// unregisteredEverywhere waits until no node at urls has procs
// registered.
func unregisteredEverywhere(t *testing.T, urls []string, procs ...wamp.URI) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, url := range urls {
		s := dialGo(t, ctx, url, "json")
		for _, p := range procs {
			for {
				res, err := s.Call(ctx, "wamp.registration.lookup", wamp.List{string(p)}, nil, nil)
				if err != nil {
					t.Fatalf("lookup %s: %v", p, err)
				}
				if res.Arg(0) == nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
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
				// The previous pair's registrations leave every node in
				// the background, after its sessions closed.
				unregisteredEverywhere(t, urls, "com.example.interop.go.echo", "com.example.interop.js.echo")
				goAndAutobahnOn(t, jsURL, goURL, jsSer, goSer, settleOn(t))
			})
		}
	}
}

// startNodeProcess runs `junction router` as a node of a cluster, in its
// own process, and returns its WebSocket URL and route address.
func startNodeProcess(t *testing.T, name string, peers ...string) (url, routes string) {
	t.Helper()
	args := []string{"router", "--listen", "127.0.0.1:0", "--cluster-listen", "127.0.0.1:0", "--node-name", name}
	if len(peers) > 0 {
		args = append(args, "--peers", strings.Join(peers, ","))
	}
	cmd := exec.Command(junctionBinary(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	type found struct{ url, routes string }
	ready := make(chan found, 1)
	go func() {
		urlRe, routesRe := regexp.MustCompile(`url=(ws://\S+)`), regexp.MustCompile(`routes=(\S+)`)
		var f found
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := routesRe.FindStringSubmatch(sc.Text()); m != nil {
				f.routes = m[1]
			}
			if m := urlRe.FindStringSubmatch(sc.Text()); m != nil && f.url == "" {
				f.url = m[1]
				ready <- f
			}
		}
	}()
	select {
	case f := <-ready:
		return f.url, f.routes
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not announce its listener", name)
	}
	return "", ""
}

// TestAutobahnAcrossNodeProcesses: the same conversation across three
// `junction router` processes joined in a cluster.
func TestAutobahnAcrossNodeProcesses(t *testing.T) {
	requireNode(t)
	a, routes := startNodeProcess(t, "a")
	b, _ := startNodeProcess(t, "b", routes)
	c, _ := startNodeProcess(t, "c", routes)
	for _, url := range []string{a, b, c} {
		health := strings.Replace(strings.TrimSuffix(url, "/ws"), "ws://", "http://", 1) + "/healthz"
		for deadline := time.Now().Add(20 * time.Second); ; {
			var body struct{ Nodes []string }
			resp, err := http.Get(health)
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
			}
			if err == nil && len(body.Nodes) == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s sees %v (%v)", health, body.Nodes, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, tc := range []struct{ jsURL, goURL, jsSer, goSer string }{
		{a, b, "json", "json"}, {b, c, "msgpack", "cbor"}, {c, a, "cbor", "msgpack"},
	} {
		t.Run("js="+tc.jsSer+"/go="+tc.goSer, func(t *testing.T) {
			unregisteredEverywhere(t, []string{a, b, c}, "com.example.interop.go.echo", "com.example.interop.js.echo")
			goAndAutobahnOn(t, tc.jsURL, tc.goURL, tc.jsSer, tc.goSer, settleOn(t))
		})
	}
}

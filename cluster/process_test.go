package cluster_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// The tests here run `junction router` nodes as real OS processes,
// clustered through their embedded NATS servers on loopback, and drive
// them with WAMP clients, killing and stopping nodes as a failure would.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// junctionBin builds cmd/junction once per test binary.
func junctionBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "junction-cluster-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "junction")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/junction-run/junction/cmd/junction").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// node is one `junction router` process of a test cluster.
type node struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	url    string // ws://.../ws
	health string
	routes string // the address its peers route to
	exited chan struct{}
	mu     sync.Mutex
	logs   []string
}

// startNode runs a node; extra are more command-line arguments (--peers,
// --nats...). It returns once the node listens.
func startNode(t *testing.T, name string, extra ...string) *node {
	t.Helper()
	args := append([]string{"router", "--listen", "127.0.0.1:0", "--log-level", "info"}, extra...)
	switch {
	case slices.Contains(extra, "--config"), slices.Contains(extra, "--node-name"): // the caller says it all
	case slices.Contains(extra, "--nats"):
		args = append(args, "--node-name", name)
	default:
		args = append(args, "--node-name", name, "--cluster-listen", "127.0.0.1:0")
	}
	cmd := exec.Command(junctionBin(t), args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, name: name, cmd: cmd, exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		routesRe, urlRe := regexp.MustCompile(`routes=(\S+)`), regexp.MustCompile(`url=(ws://\S+)`)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.logs = append(n.logs, line)
			if m := routesRe.FindStringSubmatch(line); m != nil {
				n.routes = m[1]
			}
			if m := urlRe.FindStringSubmatch(line); m != nil && n.url == "" {
				n.url = m[1]
				n.health = strings.Replace(strings.TrimSuffix(m[1], "/ws"), "ws://", "http://", 1) + "/healthz"
				close(ready)
			}
			n.mu.Unlock()
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-n.exited
		if t.Failed() {
			n.mu.Lock()
			t.Logf("logs of node %s:\n%s", name, strings.Join(n.logs, "\n"))
			n.mu.Unlock()
		}
	})
	select {
	case <-ready:
	case <-n.exited:
		t.Fatalf("node %s exited: %v\n%s", name, cmd.ProcessState, strings.Join(n.logs, "\n"))
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not start", name)
	}
	return n
}

// logged reports whether node n logged a line containing s.
func (n *node) logged(s string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.ContainsFunc(n.logs, func(l string) bool { return strings.Contains(l, s) })
}

// nodes returns the nodes node n sees, from its /healthz.
func (n *node) nodes() []string {
	n.t.Helper()
	resp, err := http.Get(n.health)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status string   `json:"status"`
		Nodes  []string `json:"nodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 || body.Status != "ok" {
		n.t.Fatalf("healthz of %s: %d %v %+v", n.name, resp.StatusCode, err, body)
	}
	return body.Nodes
}

// waitNodes waits until n sees exactly the nodes named, and returns how
// long that took.
func (n *node) waitNodes(names ...string) time.Duration {
	n.t.Helper()
	slices.Sort(names)
	start := time.Now()
	for deadline := start.Add(20 * time.Second); ; {
		got := n.nodes()
		if slices.Equal(got, names) {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("node %s sees %v, want %v", n.name, got, names)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *node) dial(ctx context.Context) *client.Session {
	n.t.Helper()
	s, err := client.Dial(ctx, n.url, client.Config{})
	if err != nil {
		n.t.Fatalf("dial %s: %v", n.name, err)
	}
	n.t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// waitCallees waits until s's node sees want callees for proc.
func waitCallees(t *testing.T, ctx context.Context, s *client.Session, proc wamp.URI, want int) {
	t.Helper()
	waitMembers(t, ctx, s, "registration", "callees", proc, want)
}

// waitSubscribers waits until s's node sees want subscribers of topic.
func waitSubscribers(t *testing.T, ctx context.Context, s *client.Session, topic wamp.URI, want int) {
	t.Helper()
	waitMembers(t, ctx, s, "subscription", "subscribers", topic, want)
}

// waitMembers waits until the meta API of s's node counts want members
// (callees, subscribers) of the kind's (registration, subscription) uri.
func waitMembers(t *testing.T, ctx context.Context, s *client.Session, kind, members string, uri wamp.URI, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		got := 0
		res, err := s.Call(ctx, wamp.URI("wamp."+kind+".lookup"), wamp.List{string(uri)}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id := res.Arg(0); id != nil {
			res, err := s.Call(ctx, wamp.URI("wamp."+kind+".count_"+members), wamp.List{id}, nil, nil)
			if err == nil {
				n, _ := wamp.AsInt64(res.Arg(0))
				got = int(n)
			}
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s, want %d", uri, got, members, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func echo(name string) client.InvocationHandler {
	return func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: append(wamp.List{name}, inv.Args...)}}, nil
	}
}

// TestThreeNodes: pub/sub and RPC across three router processes, then a
// node killed (SIGKILL), found dead within the documented bound, its
// registrations gone and its sessions' testaments published once; then
// restarted and rejoined with no manual step; then a node stopped
// (SIGSTOP) longer than the detection time and continued, a partition
// that heals with no duplicate registration left.
func TestThreeNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := startNode(t, "a")
	b := startNode(t, "b", "--peers", a.routes)
	c := startNode(t, "c", "--peers", a.routes)
	for _, n := range []*node{a, b, c} {
		n.waitNodes("a", "b", "c")
	}

	onA, onB, onC := a.dial(ctx), b.dial(ctx), c.dial(ctx)

	// RPC: a callee on c, a caller on a.
	if _, err := onC.Register(ctx, "com.ex.echo", echo("c"), nil); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, ctx, onA, "com.ex.echo", 1)
	res, err := onA.Call(ctx, "com.ex.echo", wamp.List{"hi"}, nil, nil)
	if err != nil || res.Arg(0) != "c" || res.Arg(1) != "hi" {
		t.Fatalf("call across nodes: %v %v", res, err)
	}

	// A shared registration with callees on b and c, in roundrobin.
	for _, s := range []*client.Session{onB, onC} {
		name := map[*client.Session]string{onB: "b", onC: "c"}[s]
		if _, err := s.Register(ctx, "com.ex.shared", echo(name), &client.RegisterOptions{Invoke: "roundrobin"}); err != nil {
			t.Fatal(err)
		}
		waitCallees(t, ctx, onA, "com.ex.shared", map[string]int{"b": 1, "c": 2}[name])
	}
	var served []any
	for range 4 {
		res, err := onA.Call(ctx, "com.ex.shared", nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		served = append(served, res.Arg(0))
	}
	if !slices.Equal(served, []any{"b", "c", "b", "c"}) {
		t.Fatalf("roundrobin across nodes served %v", served)
	}

	// Pub/sub: a subscriber on b, a publisher on a.
	events := make(chan string, 16)
	if _, err := onB.Subscribe(ctx, "com.ex.news", func(_ context.Context, e *client.Event) {
		s, _ := e.Arg(0).(string)
		events <- s
	}, nil); err != nil {
		t.Fatal(err)
	}
	waitSubscribers(t, ctx, onA, "com.ex.news", 1)
	if _, err := onA.Publish(ctx, "com.ex.news", wamp.List{"first"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	if got := <-events; got != "first" {
		t.Fatalf("event %q", got)
	}

	// c's session leaves a testament; a watcher on b waits for it.
	wills := make(chan string, 4)
	if _, err := onB.Subscribe(ctx, "com.ex.will", func(_ context.Context, e *client.Event) {
		s, _ := e.Arg(0).(string)
		wills <- s
	}, nil); err != nil {
		t.Fatal(err)
	}
	waitSubscribers(t, ctx, onC, "com.ex.will", 1)
	if _, err := onC.Call(ctx, "wamp.session.add_testament", wamp.List{"com.ex.will", wamp.List{"c is gone"}, wamp.Dict{}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	// The meta API does not show testaments; a registration made after
	// it, once seen on a and b, says they have it too: a node's state
	// changes reach its peers in order.
	if _, err := onC.Register(ctx, "com.ex.after-will", echo("c"), nil); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, ctx, onA, "com.ex.after-will", 1)
	waitCallees(t, ctx, onB, "com.ex.after-will", 1)

	// c dies.
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	took := a.waitNodes("a", "b")
	b.waitNodes("a", "b")
	t.Logf("a found c dead after %v (beacon 1s, dead after 3s)", took)
	for deadline := time.Now().Add(10 * time.Second); !a.logged(`msg="router: cluster node left" node=c self=a`); {
		if time.Now().After(deadline) {
			t.Fatal("a did not log c's leaving")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if took > 5*time.Second {
		t.Errorf("death found after %v, documented bound 5s", took)
	}
	if _, err := onA.Call(ctx, "com.ex.echo", nil, nil, nil); !errors.Is(err, wamp.ErrNoSuchProcedure) {
		t.Fatalf("calling the dead node's procedure: %v", err)
	}
	res, err = onA.Call(ctx, "com.ex.shared", nil, nil, nil)
	if err != nil || res.Arg(0) != "b" {
		t.Fatalf("the shared registration's survivor: %v %v", res, err)
	}
	select {
	case w := <-wills:
		if w != "c is gone" {
			t.Fatalf("testament %q", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dead node's testament was not published")
	}
	// Sessions on the survivors were not disturbed.
	for _, s := range []*client.Session{onA, onB} {
		select {
		case <-s.Done():
			t.Fatalf("a session of a survivor ended: %v", s.Err())
		default:
		}
	}
	if _, err := onA.Publish(ctx, "com.ex.news", wamp.List{"after"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	if got := <-events; got != "after" {
		t.Fatalf("event %q", got)
	}
	select {
	case w := <-wills:
		t.Fatalf("testament published twice: %q", w)
	default:
	}

	// c comes back, on a new port, and rejoins.
	c = startNode(t, "c", "--peers", a.routes)
	for _, n := range []*node{a, b, c} {
		n.waitNodes("a", "b", "c")
	}
	onC = c.dial(ctx)
	if _, err := onC.Register(ctx, "com.ex.echo", echo("c2"), nil); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, ctx, onA, "com.ex.echo", 1)
	if res, err := onA.Call(ctx, "com.ex.echo", nil, nil, nil); err != nil || res.Arg(0) != "c2" {
		t.Fatalf("call to the restarted node: %v %v", res, err)
	}

	// A partition: b stops for longer than the detection time.
	if err := b.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	a.waitNodes("a", "c")
	waitCallees(t, ctx, onA, "com.ex.shared", 0)
	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{a, b, c} {
		n.waitNodes("a", "b", "c")
	}
	// b's session is still there, and so is its registration: once, on
	// every node.
	waitCallees(t, ctx, onA, "com.ex.shared", 1)
	waitCallees(t, ctx, onC, "com.ex.shared", 1)
	waitCallees(t, ctx, onB, "com.ex.shared", 1)
	if res, err := onA.Call(ctx, "com.ex.shared", nil, nil, nil); err != nil || res.Arg(0) != "b" {
		t.Fatalf("call after the partition healed: %v %v", res, err)
	}
}

// TestExternalNATS: nodes joined through a separately run nats-server
// (--nats), with no embedded server.
func TestExternalNATS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	natsURL := startNATSServer(t)
	a := startNode(t, "a", "--nats", natsURL)
	b := startNode(t, "b", "--nats", natsURL)
	a.waitNodes("a", "b")
	b.waitNodes("a", "b")
	onA, onB := a.dial(ctx), b.dial(ctx)
	if _, err := onB.Register(ctx, "com.ex.echo", echo("b"), nil); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, ctx, onA, "com.ex.echo", 1)
	if res, err := onA.Call(ctx, "com.ex.echo", wamp.List{1}, nil, nil); err != nil || res.Arg(0) != "b" {
		t.Fatalf("call through external NATS: %v %v", res, err)
	}
	got := make(chan any, 1)
	if _, err := onA.Subscribe(ctx, "com.ex.news", func(_ context.Context, e *client.Event) { got <- e.Arg(0) }, nil); err != nil {
		t.Fatal(err)
	}
	waitSubscribers(t, ctx, onB, "com.ex.news", 1)
	if _, err := onB.Publish(ctx, "com.ex.news", wamp.List{"x"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	if v := <-got; v != "x" {
		t.Fatalf("event %v", v)
	}
}

// startNATSServer builds the nats-server of go.mod and runs it on a
// loopback port of its choosing; it returns its URL.
func startNATSServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", "-1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`Listening for client connections on (\S+)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return "nats://" + m[1]
		}
	}
	t.Fatal("nats-server did not say where it listens")
	return ""
}

// TestLinkedRouters: two separate routers (no cluster) joined by a link
// in their configuration files: an exported topic crosses, an imported
// procedure is called across. The leaf node listener is on an address of
// its own (127.0.0.71), which no other test uses.
func TestLinkedRouters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	x := startNode(t, "x", "--config", write("x.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
links:
  - {name: x, peer: y, data_dir: x-link, listen: "127.0.0.71:17422", token: s3cret,
     export_topics: [com.ex.news], export_procedures: [com.ex.echo]}
`))
	y := startNode(t, "y", "--config", write("y.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
links:
  - {name: y, peer: x, data_dir: y-link, remote: "nats-leaf://127.0.0.71:17422", token: s3cret,
     import_topics: [com.ex.news], import_procedures: [com.ex.echo]}
`))
	onX, onY := x.dial(ctx), y.dial(ctx)
	if _, err := onX.Register(ctx, "com.ex.echo", echo("x"), nil); err != nil {
		t.Fatal(err)
	}
	for {
		res, err := onY.Call(ctx, "com.ex.echo", wamp.List{"hi"}, nil, nil)
		if err == nil {
			if res.Arg(0) != "x" || res.Arg(1) != "hi" {
				t.Fatalf("call across the link: %v", res.Args)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("call across the link: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := make(chan any, 16)
	if _, err := onY.Subscribe(ctx, "com.ex.news", func(_ context.Context, e *client.Event) { got <- e.Arg(0) }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := onX.Publish(ctx, "com.ex.news", wamp.List{"linked"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != "linked" {
			t.Fatalf("event %v", v)
		}
	case <-ctx.Done():
		t.Fatal("the exported event did not cross the link")
	}
}

// TestPeerNotUpYet: a node whose peer is not up serves on its own, and
// joins the peer when it comes. The peer's route address is one of its
// own (127.0.0.72), which no other test uses.
func TestPeerNotUpYet(t *testing.T) {
	b := startNode(t, "b", "--node-name", "b", "--cluster-listen", "127.0.0.1:0", "--peers", "127.0.0.72:16222")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	onB := b.dial(ctx)
	if _, err := onB.Call(ctx, "wamp.session.count", nil, nil, nil); err != nil {
		t.Fatalf("b alone: %v", err)
	}
	b.waitNodes("b")
	a := startNode(t, "a", "--node-name", "a", "--cluster-listen", "127.0.0.72:16222")
	a.waitNodes("a", "b")
	b.waitNodes("a", "b")
}

package interop

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// serializers are those Autobahn|JS speaks in Node: JSON built in,
// MessagePack through msgpack5 and CBOR through cbor, both dependencies of
// the autobahn package.
var serializers = []string{"json", "msgpack", "cbor"}

// scriptTimeout bounds one Node run; the scripts give up after 10 s.
const scriptTimeout = 20 * time.Second

// The payload every scenario sends, as the scripts print it: byte strings
// are {"$bytes": base64}. Autobahn|JS's JSON serializer has no byte strings
// of its own; the scripts give it a replacer and reviver applying the WAMP
// convention ("\u0000" + base64), so binary values are checked on every
// serializer.
const (
	wantArgs   = `[1,"two",3.5,true,null,[1,2],{"x":"y"},"ünïcødé ✓",-7,9007199254740991,{"$bytes":"AAEC/w=="}]`
	wantKwargs = `{"a":1,"b":"bee","nested":{"list":[1,"x"],"bytes":{"$bytes":"aGVsbG8="}},"empty":{}}`
)

// goArgs and goKwargs are the same payload as Go values.
func goArgs() wamp.List {
	return wamp.List{1, "two", 3.5, true, nil, wamp.List{1, 2}, wamp.Dict{"x": "y"}, "ünïcødé ✓", -7,
		int64(9007199254740991), []byte{0, 1, 2, 255}}
}

func goKwargs() wamp.Dict {
	return wamp.Dict{"a": 1, "b": "bee", "nested": wamp.Dict{"list": wamp.List{1, "x"}, "bytes": []byte("hello")},
		"empty": wamp.Dict{}}
}

// requireNode skips the test, or fails it under CI, if Node or the npm
// dependencies are missing.
func requireNode(t *testing.T) {
	t.Helper()
	var missing string
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not on PATH"
	} else if _, err := os.Stat(filepath.Join("node_modules", "autobahn", "package.json")); err != nil {
		missing = "interop/node_modules/autobahn is missing"
	}
	if missing == "" {
		return
	}
	msg := missing + ": install Node.js and run npm install in interop/ to run the Autobahn|JS interop tests"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startRouter serves a fresh router at ws://127.0.0.1:PORT/ws.
func startRouter(t *testing.T) string {
	t.Helper()
	r, err := router.New(router.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("router stop: %v", err)
		}
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// node starts js/<script>.js against url with the serializer.
func node(ctx context.Context, script, url, serializer string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "node", filepath.Join("js", script+".js"), url, serializer)
	cmd.WaitDelay = time.Second
	return cmd
}

// runScript runs a scenario to its end and returns its result line.
func runScript(t *testing.T, script, url, serializer string) any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	return resultLine(t, node(ctx, script, url, serializer))
}

// resultLine runs cmd, a scenario, to its end and returns its last output
// line decoded; the test fails with its output if it fails.
func resultLine(t *testing.T, cmd *exec.Cmd) any {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", strings.Join(cmd.Args, " "), err, out, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return decodeLine(t, lines[len(lines)-1])
}

func decodeLine(t *testing.T, line string) any {
	t.Helper()
	var v any
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("bad result line %q: %v", line, err)
	}
	return normalize(t, v)
}

// normalize maps what a codec or encoding/json decoded onto one form:
// every number a float64, byte strings {"$bytes": base64}, lists []any
// and dictionaries map[string]any.
func normalize(t *testing.T, v any) any {
	t.Helper()
	rv := reflect.ValueOf(v)
	switch x := v.(type) {
	case nil, bool, string:
		return v
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			t.Fatalf("number %s: %v", x, err)
		}
		return f
	case []byte:
		return map[string]any{"$bytes": base64.StdEncoding.EncodeToString(x)}
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalize(t, e)
		}
		return l
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalize(t, e)
		}
		return m
	}
	switch {
	case rv.CanInt():
		return float64(rv.Int())
	case rv.CanUint():
		return float64(rv.Uint())
	case rv.CanFloat():
		return rv.Float()
	}
	t.Fatalf("unexpected value %#v (%T)", v, v)
	return nil
}

// want decodes a JSON literal into the form normalize returns.
func want(t *testing.T, literal string) any {
	t.Helper()
	return decodeLine(t, literal)
}

func check(t *testing.T, what string, got, wantV any) {
	t.Helper()
	if !reflect.DeepEqual(got, wantV) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(wantV)
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// TestAutobahn runs each Autobahn|JS scenario on each serializer, against
// a router of its own.
func TestAutobahn(t *testing.T) {
	requireNode(t)
	payload := fmt.Sprintf(`{"args":%s,"kwargs":%s}`, wantArgs, wantKwargs)
	scenarios := []struct {
		script string
		check  func(t *testing.T, got any)
	}{
		{"pubsub", func(t *testing.T, got any) {
			check(t, "event", got, want(t, payload))
		}},
		{"publish_ack", func(t *testing.T, got any) {
			m, _ := got.(map[string]any)
			for _, k := range []string{"unheard", "heard"} {
				id, ok := m[k].(float64)
				if !ok || id < 1 || id > 1<<53 || id != float64(int64(id)) {
					t.Errorf("%s publication ID %v is not a WAMP ID (result %v)", k, m[k], got)
				}
			}
		}},
		{"exclude_me", func(t *testing.T, got any) {
			check(t, "events received by the publisher", got, want(t, `{"events":[["included"]]}`))
		}},
		{"rpc", func(t *testing.T, got any) {
			args := strings.TrimSuffix(wantArgs, "]") + `,"echoed"]`
			kwargs := `{"callee":true,` + strings.TrimPrefix(wantKwargs, "{")
			check(t, "result", got, want(t, fmt.Sprintf(`{"args":%s,"kwargs":%s}`, args, kwargs)))
		}},
		{"rpc_error", func(t *testing.T, got any) {
			check(t, "error", got, want(t, `{"error":"com.example.error","args":["a"],"kwargs":{"k":1}}`))
		}},
		{"no_such_procedure", func(t *testing.T, got any) {
			m, _ := got.(map[string]any)
			check(t, "error URI", m["error"], "wamp.error.no_such_procedure")
		}},
		{"already_exists", func(t *testing.T, got any) {
			m, _ := got.(map[string]any)
			check(t, "error URI", m["error"], "wamp.error.procedure_already_exists")
			check(t, "first registration's answer", m["still"], "first")
		}},
	}
	for _, sc := range scenarios {
		for _, ser := range serializers {
			t.Run(sc.script+"/"+ser, func(t *testing.T) {
				t.Parallel()
				sc.check(t, runScript(t, sc.script, startRouter(t), ser))
			})
		}
	}
}

// TestGoAndAutobahn has a Go client and Autobahn|JS call and publish to
// each other through the router, on every pair of serializers, so that
// the router's translations between serializers are covered too.
func TestGoAndAutobahn(t *testing.T) {
	requireNode(t)
	for _, jsSer := range serializers {
		for _, goSer := range serializers {
			t.Run("js="+jsSer+"/go="+goSer, func(t *testing.T) {
				t.Parallel()
				goAndAutobahn(t, jsSer, goSer)
			})
		}
	}
}

func goAndAutobahn(t *testing.T, jsSer, goSer string) {
	url := startRouter(t)
	goAndAutobahnOn(t, url, url, jsSer, goSer, nil)
}

// goAndAutobahnOn is the conversation with Autobahn|JS connected to jsURL
// and the Go client to goURL: two nodes of a cluster, or one router.
// settle, if not nil, is called before a side uses what the other
// registered or subscribed, with the session it will use and the
// procedures and topics it needs: a cluster spreads them in the
// background.
func goAndAutobahnOn(t *testing.T, jsURL, goURL, jsSer, goSer string, settle func(s *client.Session, procs, topics []wamp.URI)) {
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	sess := dialGo(t, ctx, goURL, goSer)

	echo := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: inv.Values}, nil
	}
	if _, err := sess.Register(ctx, "com.example.interop.go.echo", echo, nil); err != nil {
		t.Fatal(err)
	}
	jsEvents := make(chan client.Values, 1)
	onEvent := func(_ context.Context, e *client.Event) {
		select {
		case jsEvents <- e.Values:
		default:
			t.Errorf("unexpected second event %v %v", e.Args, e.Kwargs)
		}
	}
	if _, err := sess.Subscribe(ctx, "com.example.interop.js.event", onEvent, nil); err != nil {
		t.Fatal(err)
	}

	if settle != nil {
		// Autobahn's node must know the Go side's before Autobahn uses it.
		settle(dialGo(t, ctx, jsURL, goSer), []wamp.URI{"com.example.interop.go.echo"}, []wamp.URI{"com.example.interop.js.event"})
	}
	peer := startNode(t, "peer", jsURL, jsSer)
	peer.expect(`{"ready":true}`)
	if settle != nil {
		settle(sess, []wamp.URI{"com.example.interop.js.echo"}, []wamp.URI{"com.example.interop.go.event"})
	}

	payload := want(t, fmt.Sprintf(`{"args":%s,"kwargs":%s}`, wantArgs, wantKwargs))

	// Go calls Autobahn.
	res, err := sess.Call(ctx, "com.example.interop.js.echo", goArgs(), goKwargs(), nil)
	if err != nil {
		peer.fail("call com.example.interop.js.echo: %v", err)
	}
	check(t, "Go's call of the Autobahn procedure", values(t, res.Values), payload)

	// Autobahn publishes to Go.
	select {
	case v := <-jsEvents:
		check(t, "event from Autobahn received by Go", values(t, v), payload)
	case <-ctx.Done():
		peer.fail("timed out waiting for Autobahn's event")
	}

	// Go publishes to Autobahn, which then ends.
	if _, err := sess.Publish(ctx, "com.example.interop.go.event", goArgs(), goKwargs(),
		&client.PublishOptions{Acknowledge: true}); err != nil {
		peer.fail("publish: %v", err)
	}
	got := peer.result()
	check(t, "Autobahn's call of the Go procedure", got.(map[string]any)["call"], payload)
	check(t, "event from Go received by Autobahn", got.(map[string]any)["event"], payload)
}

// values is what a Go client received, in the form normalize returns.
func values(t *testing.T, v client.Values) any {
	t.Helper()
	return normalize(t, map[string]any{"args": orEmpty(v.Args), "kwargs": orEmptyDict(v.Kwargs)})
}

func orEmpty(l wamp.List) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func orEmptyDict(d wamp.Dict) map[string]any {
	if d == nil {
		return map[string]any{}
	}
	return d
}

package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

func TestMainUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "junction v"},
		{[]string{"help"}, 0, "junction router [flags]"},
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"router", "--no-such-flag"}, 2, "junction router: unknown flag --no-such-flag\nrun 'junction router --help' for usage\n"},
		{[]string{"router", "--log-level", "loud"}, 2, `invalid value "loud" for --log-level: want debug, info, warn or error`},
		{[]string{"router", "--realm", "bad realm"}, 2, `invalid realm name: "bad realm"`},
		{[]string{"router", "extra"}, 2, `unexpected argument "extra": router takes no arguments`},
		{[]string{"router", "--listen", "256.0.0.1:99999"}, 2, `invalid value "256.0.0.1:99999" for --listen: port "99999" is not a number from 0 to 65535`},
		{[]string{"router", "--listen", "256.0.0.1:80"}, 1, "listen websocket 256.0.0.1:80 (--listen):"},
		{[]string{"router", "--max-message-size", "10"}, 2, `invalid value "10" for --max-message-size: want 1024 bytes (1 KiB) to 1073741824 (1 GiB)`},
	} {
		var out bytes.Buffer
		code := Main(tc.args, &out, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.out) {
			t.Errorf("junction %v: exit %d, output %q; want exit %d and %q", tc.args, code, out.String(), tc.code, tc.out)
		}
	}
}

func TestDemoOnce(t *testing.T) {
	var out, errs bytes.Buffer
	if code := Main([]string{"demo", "--once", "--listen", "127.0.0.1:0"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{`bob:   received "rpc next", n=3`, "demo.add(2, 3) = 5", "wamp.error.no_such_procedure", "is done: 49"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	// Its --help says it logs at warn: the app's info lines stay out.
	if strings.Contains(errs.String(), "level=INFO") {
		t.Errorf("the demo logged at info by default:\n%s", errs.String())
	}
}

// TestDemoAppHTTP drives the demo app's HTTP routes: an RPC behind a
// route, a task enqueued and its result, and a bad request.
func TestDemoAppHTTP(t *testing.T) {
	app, password, err := demoApp(slog.New(slog.DiscardHandler), "127.0.0.1:0", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	base := "http://" + app.Addr().String()
	get := func(method, path string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("GET", "/api/add?a=2&b=40"); code != 200 || !strings.Contains(body, `"sum":42`) {
		t.Errorf("GET /api/add: %d %s", code, body)
	}
	if code, body := get("GET", "/api/add?a=x"); code != 400 || !strings.Contains(body, "want integers a and b") {
		t.Errorf("GET /api/add?a=x: %d %s", code, body)
	}
	code, body := get("POST", "/api/square?n=12")
	var queued struct{ Task string }
	if code != 202 || json.Unmarshal([]byte(body), &queued) != nil || queued.Task == "" {
		t.Fatalf("POST /api/square: %d %s", code, body)
	}
	if code, body := get("GET", "/api/tasks/"+queued.Task); code != 200 || !strings.Contains(body, `"value":144`) || !strings.Contains(body, `"state":"done"`) {
		t.Errorf("GET /api/tasks/ID: %d %s", code, body)
	}
	if code, body := get("GET", "/api/tasks/unknown"); code != 404 || !strings.Contains(body, "task not found") {
		t.Errorf("GET /api/tasks/unknown: %d %s, want 404", code, body)
	}
	if code, body := get("GET", "/"); code != 200 || !strings.Contains(body, "/api/add") {
		t.Errorf("GET /: %d %s", code, body)
	}
	// The web admin is on, with the password the demo made.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for pw, want := range map[string]int{password: http.StatusSeeOther, "wrong": http.StatusUnauthorized} {
		resp, err := noRedirect.PostForm(base+"/admin/login", url.Values{"username": {"admin"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("admin login with %q: %d, want %d", pw, resp.StatusCode, want)
		}
	}
}

// TestRouterProcess runs the real binary: health check, a session, and a
// clean stop on SIGTERM that says GOODBYE to the session and exits 0,
// even when a second signal follows at once (as timeout(1) sends it).
func TestRouterProcess(t *testing.T) {
	bin := junctionBinary(t)
	cmd := exec.Command(bin, "router", "--listen", "127.0.0.1:0", "--realm", "second", "--realm", "second")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := bufio.NewScanner(stderr)
	var url string
	for logs.Scan() {
		if m := regexp.MustCompile(`url=(ws://\S+)`).FindStringSubmatch(logs.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		t.Fatal("router did not log its URL")
	}
	go io.Copy(io.Discard, stderr)

	health := strings.Replace(strings.TrimSuffix(url, "/ws"), "ws://", "http://", 1) + "/healthz"
	resp, err := http.Get(health)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, url, client.Config{Realm: "second"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Dial(ctx, url, client.Config{Realm: "third"}); !errors.Is(err, wamp.ErrNoSuchRealm) {
		t.Fatalf("joining an unknown realm: %v", err)
	}
	first, err := client.Dial(ctx, url, client.Config{Realm: "realm1"}) // always served
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close(ctx)
	for _, sig := range []os.Signal{syscall.SIGTERM, syscall.SIGINT} {
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("session not ended by the router's stop")
	}
	var werr *wamp.Error
	if !errors.As(s.Err(), &werr) || werr.URI != wamp.URICloseSystemShutdown {
		t.Fatalf("session ended with %v, want GOODBYE %s (router exit: %v)", s.Err(), wamp.URICloseSystemShutdown, cmd.Wait())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("router exit: %v", err)
	}
}

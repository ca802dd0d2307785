package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

func TestRawSocketFlag(t *testing.T) {
	for _, tc := range []struct{ in, network, address string }{
		{"127.0.0.1:8081", "tcp", "127.0.0.1:8081"},
		{"tcp://[::1]:0", "tcp", "[::1]:0"},
		{":8081", "tcp", ":8081"},
		{"unix:/run/junction.sock", "unix", "/run/junction.sock"},
		{"unix:///run/junction.sock", "unix", "/run/junction.sock"},
		{"unix:junction.sock", "unix", "junction.sock"},
	} {
		network, address, err := rawSocketAddr(tc.in)
		if err != nil || network != tc.network || address != tc.address {
			t.Errorf("%q: %s %s %v; want %s %s", tc.in, network, address, err, tc.network, tc.address)
		}
	}
	file := filepath.Join(t.TempDir(), "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"router", "--rawsocket", "unix:"}, 2, `invalid value "unix:" for --rawsocket: want unix:PATH`},
		{[]string{"router", "--rawsocket", "8081"}, 2, `invalid value "8081" for --rawsocket: want HOST:PORT`},
		// --listen on a free port: the default 8080 may be taken by
		// anything else on the machine, another test among them.
		{[]string{"router", "--listen", "127.0.0.1:0", "--rawsocket", "unix:" + file}, 1, "exists and is not a socket"},
	} {
		var out bytes.Buffer
		code := Main(tc.args, &out, &out)
		if code != tc.code || !strings.Contains(out.String(), tc.out) {
			t.Errorf("junction %v: exit %d, output %q; want exit %d and %q", tc.args, code, out.String(), tc.code, tc.out)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Fatalf("the file in the way was touched: %q, %v", b, err)
	}
}

// TestRouterProcessRawSocket runs the real binary with a TCP and a Unix
// RawSocket listener (replacing a stale socket file): a callee on one and
// a caller and subscriber on the other talk through the router, and
// SIGTERM says GOODBYE to both and removes the socket file.
func TestRouterProcessRawSocket(t *testing.T) {
	bin := junctionBinary(t)
	dir, err := os.MkdirTemp("", "junction") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "j.sock")
	stale, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	cmd := exec.Command(bin, "router", "--listen", "127.0.0.1:0", "--rawsocket", "127.0.0.1:0", "--rawsocket", "unix:"+sock)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := bufio.NewScanner(stderr)
	urls := map[string]string{}
	for len(urls) < 3 && logs.Scan() {
		if m := regexp.MustCompile(`msg="router listening" url=((\w+):\S+)`).FindStringSubmatch(logs.Text()); m != nil {
			urls[m[2]] = m[1]
		}
	}
	go io.Copy(io.Discard, stderr)
	if urls["tcp"] == "" || urls["unix"] != "unix://"+sock {
		t.Fatalf("router announced %v; want a tcp:// URL and unix://%s", urls, sock)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	callee, err := client.Dial(ctx, urls["tcp"], client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	caller, err := client.Dial(ctx, urls["unix"], client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(ctx, "cli.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, _ := inv.ArgInt(0)
		b, _ := inv.ArgInt(1)
		return &client.Result{Values: client.Values{Args: wamp.List{a + b}}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := caller.Call(ctx, "cli.add", wamp.List{2, 3}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := wamp.AsInt64(res.Arg(0)); n != 5 {
		t.Fatalf("cli.add(2, 3) = %v", res.Arg(0))
	}
	got := make(chan *client.Event, 1)
	if _, err := caller.Subscribe(ctx, "cli.news", func(_ context.Context, e *client.Event) { got <- e }, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Publish(ctx, "cli.news", wamp.List{"over tcp"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Arg(0) != "over tcp" {
			t.Fatalf("event %v", e.Arg(0))
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}

	cmd.Process.Signal(syscall.SIGTERM)
	for _, s := range []*client.Session{callee, caller} {
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("session not ended by the router's stop")
		}
		var werr *wamp.Error
		if !errors.As(s.Err(), &werr) || werr.URI != wamp.URICloseSystemShutdown {
			t.Fatalf("session ended with %v, want GOODBYE %s", s.Err(), wamp.URICloseSystemShutdown)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("router exit: %v", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket file left behind: %v", err)
	}
}

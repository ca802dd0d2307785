package interop

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
)

// python is Debian's Python, where python3-autobahn installs (not a
// pyenv or virtualenv python3 that may come first on PATH).
const python = "/usr/bin/python3"

// requirePython skips the test, or fails it under CI, without
// Autobahn|Python and its serializers.
func requirePython(t *testing.T) {
	t.Helper()
	err := exec.Command(python, "-c", "import autobahn, cbor2, msgpack").Run()
	if err == nil {
		return
	}
	msg := "Autobahn|Python is missing (" + err.Error() + "): apt-get install python3-autobahn python3-cbor2 python3-msgpack"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// startRawSocketRouter serves a fresh router over RawSocket on TCP and a
// Unix socket, and over WebSocket, and returns the three URLs as
// scenario.py takes them.
func startRawSocketRouter(t *testing.T) map[string]string {
	t.Helper()
	r, err := router.New(router.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "py") // short: socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unix, err := net.Listen("unix", filepath.Join(dir, "r.sock"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", r)
	ws := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	for _, l := range []net.Listener{tcp, unix} {
		go func() { done <- transport.ServeRawSocket(ctx, l, transport.Config{}, r.Attach) }()
	}
	t.Cleanup(func() {
		cancel()
		stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelStop()
		if err := r.Stop(stop); err != nil {
			t.Errorf("router stop: %v", err)
		}
		ws.Close()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("ServeRawSocket: %v", err)
			}
		}
		os.RemoveAll(dir)
	})
	return map[string]string{
		"rawsocket-tcp":  "rs://" + tcp.Addr().String(),
		"rawsocket-unix": "unix:" + unix.Addr().String(),
		"websocket":      "ws" + strings.TrimPrefix(ws.URL, "http") + "/ws",
	}
}

// TestAutobahnPython runs Autobahn|Python (Debian's python3-autobahn) over
// RawSocket on TCP and on a Unix socket, and over WebSocket, on every
// serializer: pub/sub, RPC, errors and progressive results.
func TestAutobahnPython(t *testing.T) {
	requirePython(t)
	for _, tr := range []string{"rawsocket-tcp", "rawsocket-unix", "websocket"} {
		for _, ser := range serializers {
			t.Run(tr+"/"+ser, func(t *testing.T) {
				t.Parallel()
				urls := startRawSocketRouter(t) // a router each: the scenarios use the same URIs
				ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
				defer cancel()
				cmd := exec.CommandContext(ctx, python, filepath.Join("python", "scenario.py"), urls[tr], ser)
				cmd.WaitDelay = time.Second
				check(t, "what Autobahn|Python saw", resultLine(t, cmd), want(t, `{
					"published": true,
					"event": {"args": [1, "two", {"three": 3}], "kwargs": {"k": "v"}},
					"call": {"sum": 5},
					"fail": {"error": "com.example.py.error", "args": ["bad", 42]},
					"nobody": "wamp.error.no_such_procedure",
					"stream": {"chunks": [1, 2, 3], "final": "final"}
				}`))
			})
		}
	}
}

// Command processes is seed 002's three-part app in one binary, split
// over processes so that a CPU-heavy component cannot slow the web:
//
//   - the main process serves HTTP (/ping, POST /signin) and the router;
//   - process "auth" runs auth.signin, which hashes the password with a
//     real cost (PBKDF2-SHA256, --cost iterations), on one core;
//   - process "audit" handles auth.signedin and counts sign-ins in the
//     "cache" service;
//   - the "cache" service is an external program the app supervises:
//     this same binary run as "cache-server", a tiny counter store on a
//     Unix socket.
//
// SHOP_SINGLE=1 runs auth and audit in the main process instead, for the
// comparison in README.md.
package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/junction-run/junction"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "cache-server" {
		if err := serveCache(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "cache-server:", err)
			os.Exit(1)
		}
		return
	}
	newApp(os.Getenv("SHOP_SINGLE") == "1").Run()
}

type config struct {
	Cost int `help:"PBKDF2 iterations of one sign-in: its CPU cost"`
}

// cacheSocket is where the cache service listens: made once by the main
// process and inherited by its children through the environment.
func cacheSocket() string {
	if p := os.Getenv("SHOP_CACHE_SOCKET"); p != "" {
		return p
	}
	p := filepath.Join(os.TempDir(), "shop-cache-"+strconv.Itoa(os.Getpid())+".sock")
	os.Setenv("SHOP_CACHE_SOCKET", p)
	return p
}

func newApp(single bool) *junction.Application {
	app := junction.New("shop")
	cfg := &config{Cost: 600_000}
	app.AddSettings(cfg)
	sock := cacheSocket()
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	app.Service("cache", []string{exe, "cache-server", sock}, junction.ReadyWhen(junction.LogLine("^cache ready$")))
	cache := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}

	app.HTTP.Get("/ping", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "pong\n") })
	app.HTTP.Post("/signin", func(w http.ResponseWriter, r *http.Request) {
		res, err := junction.AppFrom(r.Context()).Call(r.Context(), "auth.signin", r.FormValue("user"), r.FormValue("password"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		token, _ := junction.Arg[string](&res.Values, 0)
		io.WriteString(w, token+"\n")
	})
	app.HTTP.Get("/signins", func(w http.ResponseWriter, r *http.Request) {
		res, err := junction.AppFrom(r.Context()).Call(r.Context(), "audit.count")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		n, _ := junction.Arg[int](&res.Values, 0)
		fmt.Fprintln(w, n)
	})

	auth := app.Process("auth")
	auth.On(junction.Starting, func(context.Context, ...any) error {
		// Hashing gets one core; the other stays the web's.
		runtime.GOMAXPROCS(1)
		return nil
	})
	signin := func(ctx context.Context, user, password string) (string, error) {
		if user == "" || password == "" {
			return "", junction.Error("shop.error.bad_credentials", "user and password are required")
		}
		key, err := pbkdf2.Key(sha256.New, password, []byte("shop:"+user), cfg.Cost, 32)
		if err != nil {
			return "", err
		}
		app := junction.AppFrom(ctx)
		return hex.EncodeToString(key[:8]), app.Publish(ctx, "auth.signedin", user, app.ProcessName())
	}
	if single {
		app.Register("auth.signin", signin)
	} else {
		auth.Register("auth.signin", signin)
	}

	app.Subscribe("auth.signedin", func(ctx context.Context, user, from string) error {
		resp, err := cache.Post("http://cache/incr", "text/plain", nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	app.Register("audit.count", func(ctx context.Context) (int, error) {
		resp, err := cache.Get("http://cache/get")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return 0, err
		}
		return strconv.Atoi(string(b))
	})
	if !single {
		app.Processes(map[string][]string{"audit": {"subscribe:auth.signedin", "register:audit.count"}})
	}
	return app
}

// serveCache is the cache service: a counter over HTTP on a Unix socket.
func serveCache(sock string) error {
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	n := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /incr", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprint(w, n)
	})
	fmt.Println("cache ready")
	err = http.Serve(ln, mux)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

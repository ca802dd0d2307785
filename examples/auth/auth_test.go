// Package auth_test runs the three programs of the auth example as three
// OS processes, as on three machines, and checks the deployment end to
// end, a router crash included.
package auth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/examples/internal/proctest"
	"github.com/junction-run/junction/wamp"
)

func TestAuth(t *testing.T) {
	bin := t.TempDir()
	proctest.Build(t, bin, "./router", "./authsvc", "./web")

	// Machine 1: the router, on a port it must get back after a crash.
	routerAddr := proctest.FreeAddr(t)
	ws := "ws://" + routerAddr + "/ws"
	router := proctest.Start(t, filepath.Join(bin, "router"), "run", "--listen", routerAddr)
	router.URL(t)
	// Machines 2 and 3.
	authsvc := proctest.Start(t, filepath.Join(bin, "authsvc"), "run", "--connect", ws)
	web := proctest.Start(t, filepath.Join(bin, "web"), "run", "--connect", ws, "--listen", "127.0.0.1:0")
	authsvc.URL(t)
	signinURL := web.URL(t) + "api/auth/"

	signedin := subscribe(t, ws)
	t.Run("signin", func(t *testing.T) {
		token := signin(t, signinURL, "application/json", `{"username": "alice", "password": "wonderland"}`)
		if len(token) < 20 {
			t.Errorf("token %q is too short to be a secret", token)
		}
		signedin.next(t, 1)
		signin(t, signinURL, "application/x-www-form-urlencoded", "username=bob&password=builder")
		signedin.next(t, 2)
	})
	t.Run("bad password", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", signinURL, "application/json", `{"username": "alice", "password": "guess"}`)
		proctest.Expect(t, res, body, 401, "application/json", "")
		checkError(t, body, "invalid username or password", 401)
		// Events come in order: had the failed signin published, its
		// event would come before bob's.
		signin(t, signinURL, "application/json", `{"username": "bob", "password": "builder"}`)
		signedin.next(t, 2)
	})
	t.Run("unknown user", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", signinURL, "application/x-www-form-urlencoded", "username=mallory&password=x")
		proctest.Expect(t, res, body, 401, "application/json", "")
		checkError(t, body, "invalid username or password", 401)
	})
	t.Run("missing password", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", signinURL, "application/json", `{"username": "alice"}`)
		proctest.Expect(t, res, body, 400, "application/json", "")
		checkError(t, body, "username and password are required", 400)
	})
	t.Run("static page", func(t *testing.T) {
		res, body := proctest.Do(t, "GET", web.URL(t), "", "")
		proctest.Expect(t, res, body, 200, "text/html", "")
	})
	if t.Failed() {
		return
	}

	// The router crashes: the web app answers 503 at once...
	router.Kill(t)
	alice := `{"username": "alice", "password": "wonderland"}`
	poll(t, 5*time.Second, "503 while the router is down", func() bool {
		res, body := proctest.Do(t, "POST", signinURL, "application/json", alice)
		if res.StatusCode != 503 {
			return false
		}
		checkError(t, body, "the auth service cannot be reached right now; try again in a few seconds", 503)
		return true
	})

	// ... and once the router is back, the web app and the auth service
	// rejoin it on their own and signin works end to end again.
	router = proctest.Start(t, filepath.Join(bin, "router"), "run", "--listen", routerAddr)
	router.URL(t)
	signedin = subscribe(t, ws)
	poll(t, 20*time.Second, "signin to work again after the router restarted", func() bool {
		res, _ := proctest.Do(t, "POST", signinURL, "application/json", alice)
		return res.StatusCode == 200
	})
	signedin.skipTo(t, 1)
	signin(t, signinURL, "application/x-www-form-urlencoded", "username=bob&password=builder")
	signedin.next(t, 2)

	web.Terminate(t)
	authsvc.Terminate(t)
	router.Terminate(t)
}

// signin signs in and returns the token.
func signin(t *testing.T, url, contentType, body string) string {
	t.Helper()
	res, got := proctest.Do(t, "POST", url, contentType, body)
	proctest.Expect(t, res, got, 200, "application/json", "")
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(got), &v); err != nil || v.Token == "" {
		t.Fatalf("signin answered %s: want {\"token\": ...}", got)
	}
	return v.Token
}

// checkError checks a JSON error response of the web app.
func checkError(t *testing.T, body, message string, status int) {
	t.Helper()
	var v struct {
		Error  string
		Status int
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("error response %s: %v", body, err)
	}
	if v.Error != message || v.Status != status {
		t.Errorf("error response %s: want error %q, status %d", body, message, status)
	}
}

// poll calls f every 50 ms until it returns true, failing the test
// after limit.
func poll(t *testing.T, limit time.Duration, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// events are the user ids of the auth.signedin events a Go client
// received.
type events chan int64

// subscribe joins the router at url as a Go client and subscribes to
// auth.signedin.
func subscribe(t *testing.T, url string) events {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sess, err := client.Dial(ctx, url, client.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { sess.Close(context.Background()) })
	ch := make(events, 64)
	_, err = sess.Subscribe(ctx, "auth.signedin", func(_ context.Context, e *client.Event) {
		id, ok := wamp.AsInt64(e.Arg(0))
		if !ok {
			t.Errorf("auth.signedin event with args %v: want a user id", e.Args)
		}
		select {
		case ch <- id:
		default:
			t.Errorf("more auth.signedin events than expected; dropped that of user %d", id)
		}
	}, nil)
	if err != nil {
		t.Fatalf("subscribe to auth.signedin: %v", err)
	}
	return ch
}

// next checks that the next event is that of user id.
func (ch events) next(t *testing.T, id int64) {
	t.Helper()
	select {
	case got := <-ch:
		if got != id {
			t.Errorf("auth.signedin event for user %d, want %d", got, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no auth.signedin event for user %d within 5 s", id)
	}
}

// skipTo waits for the event of user id, skipping others.
func (ch events) skipTo(t *testing.T, id int64) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("no auth.signedin event for user %d within 5 s", id)
		}
	}
}

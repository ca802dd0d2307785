package interop

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

var (
	buildOnce   sync.Once
	junctionBin string
	buildErr    error
)

// junctionBinary builds cmd/junction once for the package's tests.
func junctionBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "junction-interop-")
		if err != nil {
			buildErr = err
			return
		}
		junctionBin = filepath.Join(dir, "junction")
		out, err := exec.Command("go", "build", "-o", junctionBin, "../cmd/junction").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/junction: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return junctionBin
}

// startRouterProcess runs `junction router --config FILE --listen
// 127.0.0.1:0` (and extra arguments) as its own process and returns its
// WebSocket URL.
func startRouterProcess(t *testing.T, config string, extra ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(junctionBinary(t), append([]string{"router", "--config", file, "--listen", "127.0.0.1:0"}, extra...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="router listening" url=(ws://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case url := <-found:
		return url
	case <-time.After(15 * time.Second):
		t.Fatal("junction router did not announce its listener")
	}
	return ""
}

// TestAutobahnAuthenticatesAgainstTheRouterProcess runs the real
// `junction router --config` with a node file and has Autobahn|JS
// authenticate with ticket, WAMP-CRA plain and salted, and cryptosign,
// then be refused outside com.example.
func TestAutobahnAuthenticatesAgainstTheRouterProcess(t *testing.T) {
	requireNode(t)
	alice := hex.EncodeToString(seedKey(t, aliceSeed).Public().(ed25519.PublicKey))
	url := startRouterProcess(t, `
listeners:
  - type: websocket
    address: 127.0.0.1:8080
realms:
  - name: authrealm
    ticket:
      principals:
        joe: {ticket: secret-ticket, role: user}
    wampcra:
      principals:
        peter: {secret: secret-cra, role: user}
        salty: {secret: secret-cra, role: user, salt: salt123}
    cryptosign:
      principals:
        alice: {authorized_keys: [`+alice+`], role: user}
    roles:
      - name: user
        permissions:
          - {uri: com.example., match: prefix, call: true, register: true, publish: true, subscribe: true}
`)
	// joe, from Go, provides com.example.echo.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	joe, err := client.Dial(ctx, url, client.Config{Realm: "authrealm", AuthID: "joe",
		Auth: []client.Authenticator{client.TicketAuth("secret-ticket")}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer joe.Close(context.Background())
	echo := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: append(wamp.List{"echo"}, inv.Args...)}}, nil
	}
	if _, err := joe.Register(ctx, "com.example.echo", echo, nil); err != nil {
		t.Fatal(err)
	}

	calls := []string{"com.example.echo", "org.example.other"}
	for _, c := range []authSpec{
		{Method: "ticket", AuthID: "joe", Ticket: "secret-ticket", Calls: calls},
		{Method: "wampcra", AuthID: "peter", Secret: "secret-cra", Calls: calls},
		{Method: "wampcra", AuthID: "salty", Secret: "secret-cra", Calls: calls},
		{Method: "cryptosign", AuthID: "alice", Seed: aliceSeed, Calls: calls},
	} {
		t.Run(c.Method+"/"+c.AuthID, func(t *testing.T) {
			c.Realm = "authrealm"
			got := runAuthJoin(t, url, "json", c)
			check(t, "WELCOME", got["welcome"], map[string]any{"authid": c.AuthID, "authrole": "user",
				"authmethod": c.Method, "authprovider": "static"})
			answers, _ := got["calls"].([]any)
			if len(answers) != 2 {
				t.Fatalf("calls %v", got["calls"])
			}
			check(t, "allowed call", answers[0], map[string]any{"args": []any{"echo", "from autobahn"}})
			check(t, "denied call", answers[1].(map[string]any)["error"], "wamp.error.not_authorized")
		})
	}
	t.Run("ticket/wrong", func(t *testing.T) {
		got := runAuthJoin(t, url, "json", authSpec{Realm: "authrealm", Method: "ticket", AuthID: "joe", Ticket: "nope"})
		check(t, "refusal", got, map[string]any{"abort": "wamp.error.authentication_failed", "message": "authentication failed", "challenged": true})
	})
	t.Run("anonymous", func(t *testing.T) {
		got := runAuthJoin(t, url, "json", authSpec{Realm: "authrealm", Method: "anonymous"})
		check(t, "refusal", got["abort"], "wamp.error.no_auth_method")
	})
}

// TestMain removes the junction binary built by junctionBinary.
func TestMain(m *testing.M) {
	code := m.Run()
	if junctionBin != "" {
		os.RemoveAll(filepath.Dir(junctionBin))
	}
	os.Exit(code)
}

package interop

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// The Ed25519 seeds of the cryptosign tests: alice's key is authorized,
// mallory's is not.
var (
	aliceSeed   = strings.Repeat("01", 32)
	mallorySeed = strings.Repeat("02", 32)
)

func seedKey(t *testing.T, seed string) ed25519.PrivateKey {
	t.Helper()
	b, err := hex.DecodeString(seed)
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(b)
}

// startAuthRouter serves realm authrealm: joe (ticket), peter (wampcra),
// salty and sally (salted wampcra, with the default and other PBKDF2
// parameters) and alice (cryptosign), all users, who may call, register,
// publish and subscribe under com.example. and nothing else. A Go session
// (joe's) registers com.example.echo.
func startAuthRouter(t *testing.T) string {
	t.Helper()
	alice := hex.EncodeToString(seedKey(t, aliceSeed).Public().(ed25519.PublicKey))
	r, err := router.New(router.Config{Logger: slog.New(slog.DiscardHandler), RealmConfigs: []router.RealmConfig{{
		Name: "authrealm",
		Ticket: &router.TicketAuth{Principals: map[string]router.TicketPrincipal{
			"joe": {Ticket: "secret-ticket", Role: "user"},
		}},
		WAMPCRA: &router.WAMPCRAAuth{Principals: map[string]router.WAMPCRAPrincipal{
			"peter": {Secret: "secret-cra", Role: "user"},
			"salty": {Secret: "secret-cra", Role: "user", Salt: "salt123"},
			"sally": {Secret: "sally-pw", Role: "user", Salt: "NaCl", Iterations: 100, KeyLen: 16},
		}},
		Cryptosign: &router.CryptosignAuth{Principals: map[string]router.CryptosignPrincipal{
			"alice": {AuthorizedKeys: []string{alice}, Role: "user"},
		}},
		Roles: []router.Role{{Name: "user", Permissions: []router.Permission{
			{URI: "com.example.", Match: "prefix", Call: true, Register: true, Publish: true, Subscribe: true},
		}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	peer, err := r.LocalPeer()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := client.Join(ctx, peer, client.Config{Realm: "authrealm", AuthID: "joe",
		Auth: []client.Authenticator{client.TicketAuth("secret-ticket")}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close(context.Background()) })
	echo := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: append(wamp.List{"echo"}, inv.Args...)}}, nil
	}
	if _, err := sess.Register(ctx, "com.example.echo", echo, nil); err != nil {
		t.Fatal(err)
	}
	return url
}

// authSpec is what js/auth_join.js does.
type authSpec struct {
	Realm  string   `json:"realm"`
	Method string   `json:"method"`
	AuthID string   `json:"authid,omitempty"`
	Ticket string   `json:"ticket,omitempty"`
	Secret string   `json:"secret,omitempty"`
	Seed   string   `json:"seed,omitempty"`
	Calls  []string `json:"calls,omitempty"`
}

// runAuthJoin runs js/auth_join.js with spec and returns its result.
func runAuthJoin(t *testing.T, url, serializer string, spec authSpec) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	arg, _ := json.Marshal(spec)
	cmd := exec.CommandContext(ctx, "node", filepath.Join("js", "auth_join.js"), url, serializer, string(arg))
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node auth_join.js %s: %v\nstdout: %s\nstderr: %s", arg, err, out, stderr.Bytes())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	m, _ := decodeLine(t, lines[len(lines)-1]).(map[string]any)
	return m
}

// TestAutobahnAuthentication has Autobahn|JS authenticate with ticket,
// WAMP-CRA (plain, and salted with its own key derivation) and
// WAMP-Cryptosign (its tweetnacl signatures), succeed with the right
// credential and be refused with a wrong one, on every serializer; once
// in, it may call under com.example. and nothing else.
func TestAutobahnAuthentication(t *testing.T) {
	requireNode(t)
	const failed = "wamp.error.authentication_failed"
	for _, c := range []struct {
		name   string
		spec   authSpec
		authid string // "" when refused
	}{
		{"ticket", authSpec{Method: "ticket", AuthID: "joe", Ticket: "secret-ticket",
			Calls: []string{"com.example.echo", "org.example.other"}}, "joe"},
		{"ticket/wrong", authSpec{Method: "ticket", AuthID: "joe", Ticket: "wrong"}, ""},
		{"wampcra", authSpec{Method: "wampcra", AuthID: "peter", Secret: "secret-cra"}, "peter"},
		{"wampcra/wrong", authSpec{Method: "wampcra", AuthID: "peter", Secret: "wrong"}, ""},
		{"wampcra/unknown", authSpec{Method: "wampcra", AuthID: "nobody", Secret: "secret-cra"}, ""},
		{"wampcra/salted", authSpec{Method: "wampcra", AuthID: "salty", Secret: "secret-cra"}, "salty"},
		{"wampcra/salted 100x16", authSpec{Method: "wampcra", AuthID: "sally", Secret: "sally-pw"}, "sally"},
		{"wampcra/salted wrong", authSpec{Method: "wampcra", AuthID: "salty", Secret: "wrong"}, ""},
		{"cryptosign", authSpec{Method: "cryptosign", AuthID: "alice", Seed: aliceSeed}, "alice"},
		{"cryptosign/no authid", authSpec{Method: "cryptosign", Seed: aliceSeed, Calls: []string{"com.example.echo"}}, "alice"},
		{"cryptosign/wrong key", authSpec{Method: "cryptosign", AuthID: "alice", Seed: mallorySeed}, ""},
	} {
		for _, ser := range serializers {
			t.Run(c.name+"/"+ser, func(t *testing.T) {
				t.Parallel()
				spec := c.spec
				spec.Realm = "authrealm"
				got := runAuthJoin(t, startAuthRouter(t), ser, spec)
				if c.authid == "" {
					check(t, "refusal", got, map[string]any{"abort": failed, "message": "authentication failed", "challenged": true})
					return
				}
				check(t, "WELCOME", got["welcome"], map[string]any{"authid": c.authid, "authrole": "user",
					"authmethod": c.spec.Method, "authprovider": "static"})
				challenge, _ := got["challenge"].(map[string]any)
				switch c.spec.AuthID {
				case "salty":
					check(t, "salt", challenge["salt"], "salt123")
					check(t, "PBKDF2 parameters", []any{challenge["iterations"], challenge["keylen"]}, []any{1000.0, 32.0})
				case "sally":
					check(t, "PBKDF2 parameters", []any{challenge["iterations"], challenge["keylen"]}, []any{100.0, 16.0})
				}
				calls, _ := got["calls"].([]any)
				if len(calls) != len(c.spec.Calls) {
					t.Fatalf("calls %v, want answers to %v", got["calls"], c.spec.Calls)
				}
				for i, uri := range c.spec.Calls {
					call, _ := calls[i].(map[string]any)
					if uri == "com.example.echo" {
						check(t, "call "+uri, call, map[string]any{"args": []any{"echo", "from autobahn"}})
					} else {
						check(t, "call "+uri, call["error"], "wamp.error.not_authorized")
					}
				}
			})
		}
	}
}

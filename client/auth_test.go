package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/internal/testcert"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

var (
	aliceKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	daveKey    = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	malloryKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
)

func pubHex(k ed25519.PrivateKey) string { return hex.EncodeToString(k.Public().(ed25519.PublicKey)) }

// authRealm is realm "auth": static principals joe (ticket), peter and
// salty (wampcra), alice (cryptosign), the backend that serves the
// dynamic authenticators com.example.auth.<method>, and roles user and
// backend. Anonymous sessions are refused.
func authRealm() router.RealmConfig {
	return router.RealmConfig{
		Name: "auth",
		Ticket: &router.TicketAuth{Principals: map[string]router.TicketPrincipal{
			"joe":     {Ticket: "secret-ticket", Role: "user"},
			"backend": {Ticket: "backend-ticket", Role: "backend"},
		}, Authenticator: "com.example.auth.ticket"},
		WAMPCRA: &router.WAMPCRAAuth{Principals: map[string]router.WAMPCRAPrincipal{
			"peter": {Secret: "secret-cra", Role: "user"},
			"salty": {Secret: "secret-cra", Role: "user", Salt: "salt123", Iterations: 100, KeyLen: 16},
		}, Authenticator: "com.example.auth.wampcra"},
		Cryptosign: &router.CryptosignAuth{Principals: map[string]router.CryptosignPrincipal{
			"alice": {AuthorizedKeys: []string{pubHex(aliceKey)}, Role: "user"},
		}, Authenticator: "com.example.auth.cryptosign"},
		Roles: []router.Role{
			{Name: "user", Permissions: []router.Permission{{URI: "com.example.app.", Match: "prefix", Call: true, Register: true}}},
			{Name: "backend", Permissions: []router.Permission{{URI: "com.example.auth.", Match: "prefix", Register: true}}},
		},
	}
}

// authRouter is a router serving authRealm, reached as kind says.
type authRouter struct {
	t    *testing.T
	r    *router.Router
	kind string
	url  string
	// calls records the arguments of the dynamic authenticators' calls.
	mu    sync.Mutex
	calls []wamp.List
}

func newAuthRouter(t *testing.T, kind string, edit func(*router.RealmConfig)) *authRouter {
	t.Helper()
	rc := authRealm()
	if edit != nil {
		edit(&rc)
	}
	r, err := router.New(router.Config{RealmConfigs: []router.RealmConfig{rc}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ar := &authRouter{t: t, r: r, kind: kind}
	var srv *httptest.Server
	if kind != "local" {
		srv = httptest.NewServer(r)
		ar.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.Stop(ctx)
		if srv != nil {
			srv.Close()
		}
	})
	return ar
}

// join joins realm "auth" with cfg; the session is closed at cleanup.
func (ar *authRouter) join(cfg Config) (*Session, error) {
	ar.t.Helper()
	ctx := testContext(ar.t)
	cfg.Realm = "auth"
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	var s *Session
	var err error
	if ar.kind == "local" {
		peer, perr := ar.r.LocalPeer()
		if perr != nil {
			ar.t.Fatal(perr)
		}
		s, err = Join(ctx, peer, cfg)
	} else {
		c, _ := codec.ByName(ar.kind)
		cfg.Transport.Serializers = []codec.Codec{c}
		s, err = Dial(ctx, ar.url, cfg)
	}
	if err == nil {
		ar.t.Cleanup(func() { closeSession(ar.t, s) })
	}
	return s, err
}

// serveAuthenticators joins as the backend and registers the dynamic
// authenticators:
//
//   - ticket: dan with "dan-ticket" is a user (a string answer); dora with
//     "dora-ticket" is a user known as dora@example, with authextra (a
//     dict answer); vip gets role vip; anyone else is refused;
//   - wampcra: carl's secret is "carl-secret", sally's password
//     "sally-pw" is salted; anyone else is refused;
//   - cryptosign: dave's key is a user's; any other key is refused.
func (ar *authRouter) serveAuthenticators() {
	ar.t.Helper()
	backend, err := ar.join(Config{AuthID: "backend", Auth: []Authenticator{TicketAuth("backend-ticket")}})
	if err != nil {
		ar.t.Fatalf("backend: %v", err)
	}
	denied := &wamp.Error{URI: "com.example.denied", Args: wamp.List{"no such user"}}
	register := func(method string, decide func(authid string, details wamp.Dict) (any, error)) {
		h := func(_ context.Context, inv *Invocation) (*Result, error) {
			ar.mu.Lock()
			ar.calls = append(ar.calls, inv.Args)
			ar.mu.Unlock()
			authid, _ := inv.ArgString(1)
			details, _ := inv.Arg(2).(wamp.Dict)
			v, err := decide(authid, details)
			if err != nil {
				return nil, err
			}
			return &Result{Values: Values{Args: wamp.List{v}}}, nil
		}
		if _, err := backend.Register(testContext(ar.t), wamp.URI("com.example.auth."+method), h, nil); err != nil {
			ar.t.Fatalf("register %s authenticator: %v", method, err)
		}
	}
	register("ticket", func(authid string, d wamp.Dict) (any, error) {
		ticket, _ := wamp.DictString(d, "ticket")
		switch {
		case authid == "dan" && ticket == "dan-ticket":
			return "user", nil
		case authid == "dora" && ticket == "dora-ticket":
			return wamp.Dict{"role": "user", "authid": "dora@example", "extra": wamp.Dict{"greeting": "hi"}}, nil
		case authid == "vip":
			return "vip", nil
		}
		return nil, denied
	})
	register("wampcra", func(authid string, _ wamp.Dict) (any, error) {
		switch authid {
		case "carl":
			return wamp.Dict{"role": "user", "secret": "carl-secret"}, nil
		case "sally":
			return wamp.Dict{"role": "user", "secret": "sally-pw", "salt": "NaCl", "iterations": 100, "keylen": 20}, nil
		}
		return nil, denied
	})
	register("cryptosign", func(_ string, d wamp.Dict) (any, error) {
		if key, _ := wamp.DictString(d, "pubkey"); key == pubHex(daveKey) {
			return wamp.Dict{"role": "user"}, nil
		}
		return nil, denied
	})
}

// lastCall returns the arguments of the latest authenticator call.
func (ar *authRouter) lastCall() wamp.List {
	ar.mu.Lock()
	defer ar.mu.Unlock()
	if len(ar.calls) == 0 {
		ar.t.Fatal("no authenticator was called")
	}
	return ar.calls[len(ar.calls)-1]
}

// checkWelcome checks the session's authentication details.
func checkWelcome(t *testing.T, s *Session, authid, authrole, authmethod, authprovider string) {
	t.Helper()
	d := s.Details()
	for k, want := range map[string]string{"authid": authid, "authrole": authrole, "authmethod": authmethod, "authprovider": authprovider} {
		if got, _ := wamp.DictString(d, k); got != want {
			t.Errorf("WELCOME %s = %q, want %q", k, got, want)
		}
	}
}

type authCase struct {
	name     string
	dynamic  bool // needs the dynamic authenticators
	cfg      Config
	want     wamp.URI // "" for success
	authid   string   // on success
	provider string
}

func authCases() []authCase {
	cs := func(k ed25519.PrivateKey) []Authenticator { return []Authenticator{CryptosignAuth(k)} }
	return []authCase{
		{name: "ticket", cfg: Config{AuthID: "joe", Auth: []Authenticator{TicketAuth("secret-ticket")}}, authid: "joe", provider: "static"},
		{name: "ticket/wrong", cfg: Config{AuthID: "joe", Auth: []Authenticator{TicketAuth("wrong")}}, want: wamp.URIAuthenticationFailed},
		{name: "ticket/unknown", cfg: Config{AuthID: "nobody", Auth: []Authenticator{TicketAuth("secret-ticket")}}, want: wamp.URIAuthenticationFailed},
		{name: "wampcra", cfg: Config{AuthID: "peter", Auth: []Authenticator{WAMPCRAAuth("secret-cra")}}, authid: "peter", provider: "static"},
		{name: "wampcra/salted", cfg: Config{AuthID: "salty", Auth: []Authenticator{WAMPCRAAuth("secret-cra")}}, authid: "salty", provider: "static"},
		{name: "wampcra/wrong", cfg: Config{AuthID: "peter", Auth: []Authenticator{WAMPCRAAuth("wrong")}}, want: wamp.URIAuthenticationFailed},
		{name: "wampcra/salted wrong", cfg: Config{AuthID: "salty", Auth: []Authenticator{WAMPCRAAuth("wrong")}}, want: wamp.URIAuthenticationFailed},
		{name: "wampcra/unknown", cfg: Config{AuthID: "nobody", Auth: []Authenticator{WAMPCRAAuth("secret-cra")}}, want: wamp.URIAuthenticationFailed},
		{name: "cryptosign", cfg: Config{AuthID: "alice", Auth: cs(aliceKey)}, authid: "alice", provider: "static"},
		{name: "cryptosign/no authid", cfg: Config{Auth: cs(aliceKey)}, authid: "alice", provider: "static"},
		{name: "cryptosign/wrong key", cfg: Config{AuthID: "alice", Auth: cs(malloryKey)}, want: wamp.URIAuthenticationFailed},
		{name: "cryptosign/unknown key", cfg: Config{Auth: cs(malloryKey)}, want: wamp.URIAuthenticationFailed},
		{name: "preference", cfg: Config{AuthID: "joe", Auth: []Authenticator{TicketAuth("secret-ticket"), WAMPCRAAuth("x")}}, authid: "joe", provider: "static"},

		{name: "dynamic ticket/role", dynamic: true, cfg: Config{AuthID: "dan", Auth: []Authenticator{TicketAuth("dan-ticket")}}, authid: "dan", provider: "dynamic"},
		{name: "dynamic ticket/dict", dynamic: true, cfg: Config{AuthID: "dora", Auth: []Authenticator{TicketAuth("dora-ticket")}}, authid: "dora@example", provider: "dynamic"},
		{name: "dynamic ticket/error", dynamic: true, cfg: Config{AuthID: "dan", Auth: []Authenticator{TicketAuth("wrong")}}, want: wamp.URIAuthenticationFailed},
		{name: "dynamic ticket/no callee", cfg: Config{AuthID: "dan", Auth: []Authenticator{TicketAuth("dan-ticket")}}, want: wamp.URIAuthenticationFailed},
		{name: "dynamic ticket/no such role", dynamic: true, cfg: Config{AuthID: "vip", Auth: []Authenticator{TicketAuth("x")}}, want: wamp.URINoSuchRole},
		{name: "dynamic wampcra", dynamic: true, cfg: Config{AuthID: "carl", Auth: []Authenticator{WAMPCRAAuth("carl-secret")}}, authid: "carl", provider: "dynamic"},
		{name: "dynamic wampcra/salted", dynamic: true, cfg: Config{AuthID: "sally", Auth: []Authenticator{WAMPCRAAuth("sally-pw")}}, authid: "sally", provider: "dynamic"},
		{name: "dynamic wampcra/wrong", dynamic: true, cfg: Config{AuthID: "carl", Auth: []Authenticator{WAMPCRAAuth("wrong")}}, want: wamp.URIAuthenticationFailed},
		{name: "dynamic wampcra/error", dynamic: true, cfg: Config{AuthID: "zed", Auth: []Authenticator{WAMPCRAAuth("x")}}, want: wamp.URIAuthenticationFailed},
		{name: "dynamic wampcra/no callee", cfg: Config{AuthID: "carl", Auth: []Authenticator{WAMPCRAAuth("carl-secret")}}, want: wamp.URIAuthenticationFailed},
		{name: "dynamic cryptosign", dynamic: true, cfg: Config{AuthID: "dave", Auth: cs(daveKey)}, authid: "dave", provider: "dynamic"},
		{name: "dynamic cryptosign/no authid", dynamic: true, cfg: Config{Auth: cs(daveKey)}, authid: pubHex(daveKey), provider: "dynamic"},
		{name: "dynamic cryptosign/error", dynamic: true, cfg: Config{AuthID: "dave", Auth: cs(malloryKey)}, want: wamp.URIAuthenticationFailed},
		{name: "dynamic cryptosign/no callee", cfg: Config{AuthID: "dave", Auth: cs(daveKey)}, want: wamp.URIAuthenticationFailed},

		{name: "no auth method", cfg: Config{AuthID: "x", Auth: []Authenticator{&fixedAuth{method: "scram"}}}, want: wamp.URINoAuthMethod},
		{name: "anonymous refused", cfg: Config{}, want: wamp.URINoAuthMethod},
	}
}

func TestAuthenticate(t *testing.T) {
	for _, kind := range []string{"local", "json", "cbor"} {
		for _, c := range authCases() {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				ar := newAuthRouter(t, kind, nil)
				if c.dynamic {
					ar.serveAuthenticators()
				}
				s, err := ar.join(c.cfg)
				if c.want != "" {
					if !errors.Is(err, &wamp.Error{URI: c.want}) {
						t.Fatalf("join: %v, want %s", err, c.want)
					}
					if c.want == wamp.URIAuthenticationFailed {
						if msg := err.(*wamp.Error).Kwargs["message"]; msg != "authentication failed" {
							t.Errorf("ABORT message %q says more than that authentication failed", msg)
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("join: %v", err)
				}
				checkWelcome(t, s, c.authid, "user", c.cfg.Auth[0].Method(), c.provider)
			})
		}
	}
}

func TestDynamicAuthenticatorArguments(t *testing.T) {
	ar := newAuthRouter(t, "json", nil)
	ar.serveAuthenticators()
	s, err := ar.join(Config{AuthID: "dora", Auth: []Authenticator{TicketAuth("dora-ticket")}})
	if err != nil {
		t.Fatal(err)
	}
	if extra, _ := wamp.DictDict(s.Details(), "authextra"); extra["greeting"] != "hi" {
		t.Errorf("WELCOME authextra %v", s.Details()["authextra"])
	}
	args := ar.lastCall()
	details, _ := args[2].(wamp.Dict)
	if args[0] != "auth" || args[1] != "dora" {
		t.Errorf("authenticator called with realm %v, authid %v", args[0], args[1])
	}
	if id, _ := wamp.DictInt(details, "session"); wamp.ID(id) != s.ID() {
		t.Errorf("details.session %v, want %d", details["session"], s.ID())
	}
	tr, _ := wamp.DictDict(details, "transport")
	for k, want := range map[string]any{"authmethod": "ticket", "authid": "dora", "ticket": "dora-ticket"} {
		if details[k] != want {
			t.Errorf("details.%s = %v, want %v", k, details[k], want)
		}
	}
	if tr["type"] != "websocket" || tr["serializer"] != "json" || !strings.HasPrefix(tr["peer"].(string), "127.0.0.1:") {
		t.Errorf("details.transport %v", tr)
	}

	if _, err := ar.join(Config{Auth: []Authenticator{CryptosignAuth(daveKey)}}); err != nil {
		t.Fatal(err)
	}
	details, _ = ar.lastCall()[2].(wamp.Dict)
	extra, _ := wamp.DictDict(details, "authextra")
	if details["pubkey"] != pubHex(daveKey) || extra["pubkey"] != pubHex(daveKey) {
		t.Errorf("cryptosign details %v", details)
	}
}

// TestListenerAuthMethods checks that a listener's AuthMethods restrict
// what its connections may use.
func TestListenerAuthMethods(t *testing.T) {
	r, err := router.New(router.Config{RealmConfigs: []router.RealmConfig{authRealm()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r.Handler(router.Listener{Name: "tickets", AuthMethods: []string{"ticket"}}))
	t.Cleanup(func() { r.Stop(context.Background()); srv.Close() })
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx := testContext(t)
	_, err = Dial(ctx, url, Config{Realm: "auth", AuthID: "peter", Auth: []Authenticator{WAMPCRAAuth("secret-cra")}})
	if !errors.Is(err, &wamp.Error{URI: wamp.URINoAuthMethod}) {
		t.Fatalf("wampcra through a tickets-only listener: %v", err)
	}
	s, err := Dial(ctx, url, Config{Realm: "auth", AuthID: "joe", Auth: []Authenticator{WAMPCRAAuth("x"), TicketAuth("secret-ticket")}})
	if err != nil {
		t.Fatal(err)
	}
	checkWelcome(t, s, "joe", "user", "ticket", "static")
	closeSession(t, s)
}

// TestReconnectAuthenticates checks that each connection authenticates.
func TestReconnectAuthenticates(t *testing.T) {
	ar := newAuthRouter(t, "local", nil)
	ar.serveAuthenticators()
	var mu sync.Mutex
	var peers []transport.Peer
	dial := func(context.Context) (transport.Peer, error) {
		p, err := ar.r.LocalPeer()
		mu.Lock()
		peers = append(peers, p)
		mu.Unlock()
		return p, err
	}
	joined := make(chan wamp.ID, 2)
	cfg := Config{Realm: "auth", AuthID: "dan", Auth: []Authenticator{TicketAuth("dan-ticket")},
		Reconnect: &ReconnectConfig{MinDelay: time.Millisecond}, Logger: slog.New(slog.DiscardHandler),
		OnConnect: func(s *Session) { joined <- s.ID() }}
	s, err := dialSession(testContext(t), dial, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeSession(t, s) })
	first := <-joined
	mu.Lock()
	peers[0].Close()
	mu.Unlock()
	select {
	case second := <-joined:
		if second == first {
			t.Errorf("the same session ID %d after reconnecting", second)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no reconnection")
	}
	checkWelcome(t, s, "dan", "user", "ticket", "dynamic")
	ar.mu.Lock()
	n := len(ar.calls)
	ar.mu.Unlock()
	if n != 2 {
		t.Errorf("the authenticator was called %d times, want 2", n)
	}
}

// TestCryptosignChannelBinding authenticates over wss://, with the
// signature bound to the TLS connection.
func TestCryptosignChannelBinding(t *testing.T) {
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Leaf(2, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(router.Config{RealmConfigs: []router.RealmConfig{authRealm()}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(r)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(func() { r.Stop(context.Background()); srv.Close() })
	url := "wss" + strings.TrimPrefix(srv.URL, "https")
	for _, c := range []struct {
		binding string
		version uint16
		ok      bool
	}{
		{"tls-unique", tls.VersionTLS12, true},
		{"tls-exporter", tls.VersionTLS12, true},
		{"tls-exporter", tls.VersionTLS13, true},
		{"tls-unique", tls.VersionTLS13, false},
		{"", tls.VersionTLS13, true},
	} {
		t.Run(c.binding+"/"+tls.VersionName(c.version), func(t *testing.T) {
			cfg := Config{Realm: "auth", AuthID: "alice",
				Auth:      []Authenticator{&Cryptosign{Key: aliceKey, ChannelBinding: c.binding}},
				Transport: transport.Config{TLS: &tls.Config{RootCAs: ca.Pool(), MaxVersion: c.version}}}
			s, err := Dial(testContext(t), url, cfg)
			if !c.ok {
				if !errors.Is(err, wamp.ErrAuthenticationFailed) || !strings.Contains(err.Error(), c.binding) {
					t.Fatalf("join: %v, want authentication_failed naming %s", err, c.binding)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkWelcome(t, s, "alice", "user", "cryptosign", "static")
			closeSession(t, s)
		})
	}
}

// TestCryptosignVectors checks signatures against the test vectors of
// the WAMP specification (WAMP-Cryptosign, "Test Vectors"): Ed25519
// signatures are deterministic.
func TestCryptosignVectors(t *testing.T) {
	for i, v := range []struct{ channelID, privateKey, challenge, signature string }{
		{"", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
			"b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
			"d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"},
		{"", "6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
			"b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
			"7beb282184baadd08f166f16dd683b39cab53816ed81e6955def951cb2ddad1ec184e206746fd82bda075af03711d3d5658fc84a76196b0fa8d1ebc92ef9f30bb05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2"},
		{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff",
			"d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
			"b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
			"305aaa3ac25e98f651427688b3fc43fe7d8a68a7ec1d7d61c61517c519bd4a427c3015599d83ca28b4c652333920223844ef0725eb5dc2febfd6af7677b73f01d0852a29b460fc92ec943242ac638a053bbacc200512b18b30d15083cbdc9282"},
		{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff",
			"6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
			"b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
			"ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d"},
	} {
		seed, _ := hex.DecodeString(v.privateKey)
		challenge, _ := hex.DecodeString(v.challenge)
		var id []byte
		if v.channelID != "" {
			id, _ = hex.DecodeString(v.channelID)
		}
		if got := signChallenge(ed25519.NewKeyFromSeed(seed), challenge, id); got != v.signature {
			t.Errorf("vector %d: signature\n%s, want\n%s", i, got, v.signature)
		}
	}
}

// TestWAMPCRASignatureMatchesAutobahn checks WAMP-CRA signatures against
// those Autobahn|JS 26.3.1 computes (auth_cra.sign, with derive_key for a
// salted secret, run under Node).
func TestWAMPCRASignatureMatchesAutobahn(t *testing.T) {
	for _, c := range []struct {
		secret string
		extra  wamp.Dict
		want   string
	}{
		{"secret-cra", wamp.Dict{"challenge": `{"authid":"peter"}`}, "EE0QplIbkKjIdHANfzAAzyeUKFI/r6Dprtl5WDcl3OE="},
		{"secret-cra", wamp.Dict{"challenge": `{"authid":"peter"}`, "salt": "salt123", "iterations": int64(1000), "keylen": int64(32)},
			"rnz3ZROtGhXTax/VkJVOwjxSFaT5AhaYXGAUrWpuJrM="},
		// Autobahn's defaults: 1000 iterations, 32 bytes.
		{"secret-cra", wamp.Dict{"challenge": `{"authid":"peter"}`, "salt": "salt123"}, "rnz3ZROtGhXTax/VkJVOwjxSFaT5AhaYXGAUrWpuJrM="},
		{"pässwörd", wamp.Dict{"challenge": "chal", "salt": "sälz", "iterations": 100.0, "keylen": uint64(30)},
			"pZ6+eZD6pU/sL03ppSJX63RCgd5nz2Fg/hkcH18me4A="},
	} {
		got, _, err := WAMPCRAAuth(c.secret).Authenticate(context.Background(), &Challenge{Method: "wampcra", Extra: c.extra})
		if err != nil || got != c.want {
			t.Errorf("%v: signature %q (%v), Autobahn's %q", c.extra, got, err, c.want)
		}
	}
	if _, _, err := WAMPCRAAuth("x").Authenticate(context.Background(), &Challenge{Extra: wamp.Dict{}}); !errors.Is(err, ErrProtocol) {
		t.Errorf("no challenge: %v", err)
	}
}

func TestHelloAuthDetails(t *testing.T) {
	cfg := Config{AuthID: "alice", Auth: []Authenticator{TicketAuth("t"), CryptosignAuth(aliceKey),
		&fixedAuth{method: "x", extra: wamp.Dict{"pubkey": "overridden", "other": 1}}}}
	d := cfg.withDefaults().helloDetails()
	if d["authid"] != "alice" {
		t.Errorf("authid %v", d["authid"])
	}
	if m, _ := d["authmethods"].(wamp.List); len(m) != 3 || m[0] != "ticket" || m[1] != "cryptosign" || m[2] != "x" {
		t.Errorf("authmethods %v", d["authmethods"])
	}
	extra, _ := wamp.DictDict(d, "authextra")
	if extra["pubkey"] != pubHex(aliceKey) || extra["other"] != 1 {
		t.Errorf("authextra %v", extra)
	}
	if v, ok := extra["channel_binding"]; !ok || v != nil {
		t.Errorf("channel_binding %v", v)
	}
	// Without Auth, nothing changes.
	d = Config{}.withDefaults().helloDetails()
	for _, k := range []string{"authid", "authmethods", "authextra"} {
		if _, ok := d[k]; ok {
			t.Errorf("HELLO without Auth has %s", k)
		}
	}
	for _, bad := range [][]Authenticator{{nil}, {&fixedAuth{}}, {&Cryptosign{Key: aliceKey[:10]}}} {
		if _, err := Join(context.Background(), nil, Config{Auth: bad}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Auth %v: %v", bad, err)
		}
	}
}

// TestChallengeUnanswered plays the router: a CHALLENGE for a method not
// offered, or one whose Authenticator fails, ends the join with an ABORT
// telling the router why.
func TestChallengeUnanswered(t *testing.T) {
	failing := &fixedAuth{method: "ticket", err: errors.New("no ticket at hand")}
	for _, c := range []struct {
		name string
		auth []Authenticator
		want error
	}{
		{"not offered", nil, ErrProtocol},
		{"authenticator fails", []Authenticator{failing}, failing.err},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, server := transport.Pipe(transport.Config{})
			defer server.Close()
			go func() {
				server.Read() // HELLO
				server.Send(&wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{}})
			}()
			_, err := Join(testContext(t), client, Config{Auth: c.auth, Logger: slog.New(slog.DiscardHandler)})
			if !errors.Is(err, c.want) {
				t.Fatalf("join: %v, want %v", err, c.want)
			}
			m, _ := server.Read()
			if a, ok := m.(*wamp.Abort); !ok || a.Reason != "wamp.error.cannot_authenticate" {
				t.Errorf("router got %#v, want ABORT wamp.error.cannot_authenticate", m)
			}
		})
	}
}

// fixedAuth is an Authenticator of the tests' choosing.
type fixedAuth struct {
	method string
	extra  wamp.Dict
	err    error
}

func (a *fixedAuth) Method() string       { return a.method }
func (a *fixedAuth) AuthExtra() wamp.Dict { return a.extra }
func (a *fixedAuth) Authenticate(context.Context, *Challenge) (string, wamp.Dict, error) {
	return "", nil, a.err
}

package router

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// The keys of the tests: alice's is authorized, mallory's is not.
var (
	aliceKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	alicePub   = hex.EncodeToString(aliceKey.Public().(ed25519.PublicKey))
	malloryKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	malloryPub = hex.EncodeToString(malloryKey.Public().(ed25519.PublicKey))
)

// authRealm is realm "auth" with every method and static principals:
// joe (ticket), peter and salty (wampcra, salty's secret salted), alice
// (cryptosign); anonymous sessions are guests.
func authRealm() RealmConfig {
	return RealmConfig{
		Name:      "auth",
		Anonymous: &AnonymousAuth{Role: "guest"},
		Ticket: &TicketAuth{Principals: map[string]TicketPrincipal{
			"joe": {Ticket: "secret-ticket", Role: "user"},
		}},
		WAMPCRA: &WAMPCRAAuth{Principals: map[string]WAMPCRAPrincipal{
			"peter": {Secret: "secret-cra", Role: "user"},
			"salty": {Secret: "secret-cra", Role: "user", Salt: "salt123", Iterations: 1000, KeyLen: 32},
		}},
		Cryptosign: &CryptosignAuth{Principals: map[string]CryptosignPrincipal{
			"alice": {AuthorizedKeys: []string{alicePub}, Role: "user"},
		}},
		Roles: []Role{
			{Name: "user", Permissions: []Permission{
				{URI: "com.example.", Match: "prefix", Call: true, Register: true, Publish: true, Subscribe: true},
				{URI: "wamp.session.get", Call: true},
			}},
			{Name: "guest"},
		},
	}
}

// newAuthHarness serves realm1 (open) and authRealm, as changed by edit.
func newAuthHarness(t *testing.T, edit func(*RealmConfig)) *harness {
	rc := authRealm()
	if edit != nil {
		edit(&rc)
	}
	return newHarness(t, Config{Realms: []string{"realm1"}, RealmConfigs: []RealmConfig{rc}})
}

func clientRoles() wamp.Dict {
	return wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}, "publisher": wamp.Dict{}, "subscriber": wamp.Dict{}}
}

// hello connects and sends HELLO for realm "auth" with details.
func (h *harness) hello(kind string, details wamp.Dict) *peer {
	h.t.Helper()
	return helloOn(h.connect(kind), details)
}

func helloOn(p *peer, details wamp.Dict) *peer {
	p.t.Helper()
	d := wamp.Dict{"roles": clientRoles()}
	maps.Copy(d, details)
	p.send(&wamp.Hello{Realm: "auth", Details: d})
	return p
}

// methods is HELLO.Details.authmethods.
func methods(m ...string) wamp.List {
	l := make(wamp.List, len(m))
	for i, s := range m {
		l[i] = s
	}
	return l
}

// expectAbort reads an ABORT with reason, then the end of the connection.
func (p *peer) expectAbort(reason wamp.URI) *wamp.Abort {
	p.t.Helper()
	a := expect[*wamp.Abort](p)
	if a.Reason != reason {
		p.t.Fatalf("ABORT %s %v, want %s", a.Reason, a.Details, reason)
	}
	p.ended()
	return a
}

// welcomed reads a WELCOME and checks its authentication details.
func (p *peer) welcomed(authid, authrole, authmethod, authprovider string) *wamp.Welcome {
	p.t.Helper()
	return p.welcomedAs(expect[*wamp.Welcome](p), authid, authrole, authmethod, authprovider)
}

func (p *peer) welcomedAs(w *wamp.Welcome, authid, authrole, authmethod, authprovider string) *wamp.Welcome {
	p.t.Helper()
	for k, want := range map[string]string{"authid": authid, "authrole": authrole, "authmethod": authmethod, "authprovider": authprovider} {
		if got, _ := wamp.DictString(w.Details, k); got != want {
			p.t.Errorf("WELCOME %s = %q, want %q", k, got, want)
		}
	}
	p.id = w.Session
	return w
}

// craSign signs a WAMP-CRA challenge with the HMAC key, as a client does.
func craSign(key []byte, challenge string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(challenge))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// craAnswer answers a wampcra CHALLENGE with the secret (the password of
// a salted one) and returns the challenge decoded.
func (p *peer) craAnswer(secret string) map[string]any {
	p.t.Helper()
	c := expect[*wamp.Challenge](p)
	if c.AuthMethod != "wampcra" {
		p.t.Fatalf("CHALLENGE %s, want wampcra", c.AuthMethod)
	}
	challenge, _ := wamp.DictString(c.Extra, "challenge")
	salt, _ := wamp.DictString(c.Extra, "salt")
	it, _ := wamp.DictInt(c.Extra, "iterations")
	kl, _ := wamp.DictInt(c.Extra, "keylen")
	p.send(&wamp.Authenticate{Signature: craSign(wampcraKey(secret, salt, int(it), int(kl)).key, challenge), Extra: wamp.Dict{}})
	var fields map[string]any
	if err := json.Unmarshal([]byte(challenge), &fields); err != nil {
		p.t.Fatalf("challenge %q is not JSON: %v", challenge, err)
	}
	fields["$salted"] = salt != ""
	return fields
}

// csAnswer answers a cryptosign CHALLENGE, signing with key the
// challenge XOR channelID (nil: no binding).
func (p *peer) csAnswer(key ed25519.PrivateKey, channelID []byte) *wamp.Challenge {
	p.t.Helper()
	c := expect[*wamp.Challenge](p)
	s, _ := wamp.DictString(c.Extra, "challenge")
	challenge, err := hex.DecodeString(s)
	if c.AuthMethod != "cryptosign" || err != nil || len(challenge) != 32 {
		p.t.Fatalf("CHALLENGE %s %v, want cryptosign with 32 bytes", c.AuthMethod, c.Extra)
	}
	msg := challenge
	if channelID != nil {
		msg = make([]byte, 32)
		for i := range msg {
			msg[i] = challenge[i] ^ channelID[i]
		}
	}
	p.send(&wamp.Authenticate{Signature: hex.EncodeToString(append(ed25519.Sign(key, msg), msg...)), Extra: wamp.Dict{}})
	return c
}

func TestOpenRealmUnchanged(t *testing.T) {
	h := newAuthHarness(t, nil)
	p := h.connect("local")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles(), "authid": "whoever",
		"authmethods": methods("ticket")}})
	p.welcomed("whoever", "anonymous", "anonymous", "static")
}

func TestTicketAuth(t *testing.T) {
	h := newAuthHarness(t, nil)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p := h.hello(kind, wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
			c := expect[*wamp.Challenge](p)
			if c.AuthMethod != "ticket" || len(c.Extra) != 0 {
				t.Fatalf("CHALLENGE %s %v, want ticket {}", c.AuthMethod, c.Extra)
			}
			p.send(&wamp.Authenticate{Signature: "secret-ticket", Extra: wamp.Dict{}})
			w := p.welcomed("joe", "user", "ticket", "static")
			if _, ok := w.Details["authextra"]; ok {
				t.Errorf("WELCOME has authextra %v", w.Details["authextra"])
			}
		})
	}
}

// TestFailuresLookAlike checks that an unknown authid and a wrong secret
// get the same answers, for every method.
func TestFailuresLookAlike(t *testing.T) {
	h := newAuthHarness(t, nil)
	type try struct {
		name string
		run  func(p *peer)
	}
	ticket := func(authid, ticket string) try {
		return try{authid + "/" + ticket, func(p *peer) {
			helloOn(p, wamp.Dict{"authmethods": methods("ticket"), "authid": authid})
			expect[*wamp.Challenge](p)
			p.send(&wamp.Authenticate{Signature: ticket, Extra: wamp.Dict{}})
		}}
	}
	cra := func(authid, secret string) try {
		return try{authid + "/" + secret, func(p *peer) {
			helloOn(p, wamp.Dict{"authmethods": methods("wampcra"), "authid": authid})
			p.craAnswer(secret)
		}}
	}
	cs := func(authid string, key ed25519.PrivateKey) try {
		return try{authid + "/key", func(p *peer) {
			helloOn(p, wamp.Dict{"authmethods": methods("cryptosign"), "authid": authid,
				"authextra": wamp.Dict{"pubkey": hex.EncodeToString(key.Public().(ed25519.PublicKey))}})
			p.csAnswer(key, nil)
		}}
	}
	for method, tries := range map[string][]try{
		"ticket":     {ticket("joe", "wrong"), ticket("nobody", "secret-ticket"), ticket("", "secret-ticket")},
		"wampcra":    {cra("peter", "wrong"), cra("salty", "wrong"), cra("nobody", "secret-cra")},
		"cryptosign": {cs("alice", malloryKey), cs("nobody", aliceKey), cs("", malloryKey)},
	} {
		t.Run(method, func(t *testing.T) {
			var first *wamp.Abort
			for _, tr := range tries {
				p := h.connect("local")
				tr.run(p)
				a := p.expectAbort(wamp.URIAuthenticationFailed)
				if first == nil {
					first = a
				} else if !reflect.DeepEqual(a, first) {
					t.Errorf("%s: ABORT %v, want the same as the first: %v", tr.name, a, first)
				}
			}
		})
	}
}

func TestWAMPCRAAuth(t *testing.T) {
	h := newAuthHarness(t, nil)
	for _, kind := range kinds {
		for _, authid := range []string{"peter", "salty"} {
			t.Run(kind+"/"+authid, func(t *testing.T) {
				p := h.hello(kind, wamp.Dict{"authmethods": methods("wampcra"), "authid": authid})
				fields := p.craAnswer("secret-cra")
				w := p.welcomed(authid, "user", "wampcra", "static")
				if fields["$salted"] != (authid == "salty") {
					t.Errorf("challenge salted: %v", fields["$salted"])
				}
				for k, want := range map[string]any{"authid": authid, "authrole": "user", "authmethod": "wampcra",
					"authprovider": "static", "session": float64(w.Session)} {
					if fields[k] != want {
						t.Errorf("challenge %s = %v, want %v", k, fields[k], want)
					}
				}
				if n, _ := fields["nonce"].(string); len(n) < 16 {
					t.Errorf("challenge nonce %q too short", n)
				}
				ts, _ := fields["timestamp"].(string)
				if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || time.Since(at) > time.Minute || !strings.HasSuffix(ts, "Z") {
					t.Errorf("challenge timestamp %q: %v", ts, err)
				}
			})
		}
	}
}

// TestWAMPCRADecoy checks the challenge an unknown authid gets: shaped as
// a real one, salted as the realm's salted secrets are, with a salt that
// does not change from one try to the next.
func TestWAMPCRADecoy(t *testing.T) {
	h := newAuthHarness(t, nil)
	challenge := func(authid string) *wamp.Challenge {
		p := h.hello("local", wamp.Dict{"authmethods": methods("wampcra"), "authid": authid})
		c := expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "x", Extra: wamp.Dict{}})
		p.expectAbort(wamp.URIAuthenticationFailed)
		return c
	}
	real, decoy, again, other := challenge("salty"), challenge("nobody"), challenge("nobody"), challenge("someone")
	if !reflect.DeepEqual(slices.Sorted(maps.Keys(real.Extra)), slices.Sorted(maps.Keys(decoy.Extra))) {
		t.Errorf("decoy extra has keys %v, a real one %v", slices.Sorted(maps.Keys(decoy.Extra)), slices.Sorted(maps.Keys(real.Extra)))
	}
	if decoy.Extra["salt"] != again.Extra["salt"] || decoy.Extra["salt"] == other.Extra["salt"] {
		t.Errorf("decoy salts: %v, %v again, %v for another authid", decoy.Extra["salt"], again.Extra["salt"], other.Extra["salt"])
	}
	var fields map[string]any
	json.Unmarshal([]byte(decoy.Extra["challenge"].(string)), &fields)
	if fields["authid"] != "nobody" || fields["authrole"] != "user" || fields["authprovider"] != "static" {
		t.Errorf("decoy challenge %v", fields)
	}
}

// TestWAMPCRAKeyMatchesAutobahn checks the salted key and the signature
// against what Autobahn|JS 26.3.1 computes (auth_cra.derive_key and
// auth_cra.sign, run under Node).
func TestWAMPCRAKeyMatchesAutobahn(t *testing.T) {
	for _, c := range []struct {
		secret, salt     string
		iterations, len  int
		key, challenge   string
		signature        string
		unsaltedSigValue string
	}{
		{"secret-cra", "salt123", 1000, 32, "TPbLnbFc+uILhRtN9a5ysVLEYGS7J+M0GW5tmYlme4E=", `{"authid":"peter"}`,
			"rnz3ZROtGhXTax/VkJVOwjxSFaT5AhaYXGAUrWpuJrM=", "EE0QplIbkKjIdHANfzAAzyeUKFI/r6Dprtl5WDcl3OE="},
		{"pässwörd", "sälz", 100, 30, "k5bEH+zVwz9RcQAqcT8itjIJ06yyPoz5/C8CSpsz", "chal",
			"pZ6+eZD6pU/sL03ppSJX63RCgd5nz2Fg/hkcH18me4A=", ""},
	} {
		k := wampcraKey(c.secret, c.salt, c.iterations, c.len)
		if string(k.key) != c.key {
			t.Errorf("derived key %s, Autobahn's %s", k.key, c.key)
		}
		if sig := craSign(k.key, c.challenge); sig != c.signature {
			t.Errorf("salted signature %s, Autobahn's %s", sig, c.signature)
		}
		if c.unsaltedSigValue != "" {
			if sig := craSign(wampcraKey(c.secret, "", 0, 0).key, c.challenge); sig != c.unsaltedSigValue {
				t.Errorf("signature %s, Autobahn's %s", sig, c.unsaltedSigValue)
			}
		}
	}
	if d := wampcraKey("secret-cra", "salt123", 0, 0); string(d.key) != "TPbLnbFc+uILhRtN9a5ysVLEYGS7J+M0GW5tmYlme4E=" ||
		d.iterations != 1000 || d.keylen != 32 {
		t.Errorf("defaults: %+v", d)
	}
}

func TestCryptosignAuth(t *testing.T) {
	h := newAuthHarness(t, nil)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			// With the authid, and without: the key names its principal.
			for _, authid := range []string{"alice", ""} {
				details := wamp.Dict{"authmethods": methods("cryptosign"), "authextra": wamp.Dict{"pubkey": alicePub}}
				if authid != "" {
					details["authid"] = authid
				}
				p := h.hello(kind, details)
				c := p.csAnswer(aliceKey, nil)
				// Sent as null; a decoder reads a null detail as absent.
				if v := c.Extra["channel_binding"]; v != nil {
					t.Errorf("CHALLENGE channel_binding %v, want null", v)
				}
				p.welcomed("alice", "user", "cryptosign", "static")
			}
		})
	}
	t.Run("upper-case key and signature alone", func(t *testing.T) {
		p := h.hello("local", wamp.Dict{"authmethods": methods("cryptosign"),
			"authextra": wamp.Dict{"pubkey": strings.ToUpper(alicePub)}})
		c := expect[*wamp.Challenge](p)
		challenge, _ := hex.DecodeString(c.Extra["challenge"].(string))
		p.send(&wamp.Authenticate{Signature: hex.EncodeToString(ed25519.Sign(aliceKey, challenge)), Extra: wamp.Dict{}})
		p.welcomed("alice", "user", "cryptosign", "static")
	})
	t.Run("signature of another challenge", func(t *testing.T) {
		p := h.hello("local", wamp.Dict{"authmethods": methods("cryptosign"), "authextra": wamp.Dict{"pubkey": alicePub}})
		expect[*wamp.Challenge](p)
		other := bytes.Repeat([]byte{7}, 32)
		p.send(&wamp.Authenticate{Signature: hex.EncodeToString(append(ed25519.Sign(aliceKey, other), other...)), Extra: wamp.Dict{}})
		p.expectAbort(wamp.URIAuthenticationFailed)
	})
	for name, extra := range map[string]wamp.Dict{
		"no pubkey":    {},
		"short pubkey": {"pubkey": alicePub[:62]},
		"not hex":      {"pubkey": strings.Repeat("z", 64)},
	} {
		t.Run(name, func(t *testing.T) {
			p := h.hello("local", wamp.Dict{"authmethods": methods("cryptosign"), "authextra": extra})
			a := p.expectAbort(wamp.URIAuthenticationFailed)
			if msg, _ := a.Details["message"].(string); !strings.Contains(msg, "pubkey") {
				t.Errorf("ABORT message %q does not say what is wrong", msg)
			}
		})
	}
	t.Run("channel binding without TLS", func(t *testing.T) {
		for _, binding := range []string{"tls-unique", "tls-exporter", "tls-other"} {
			p := h.hello("json", wamp.Dict{"authmethods": methods("cryptosign"),
				"authextra": wamp.Dict{"pubkey": alicePub, "channel_binding": binding}})
			a := p.expectAbort(wamp.URIAuthenticationFailed)
			if msg, _ := a.Details["message"].(string); !strings.Contains(msg, binding) {
				t.Errorf("ABORT message %q does not name the binding", msg)
			}
		}
	})
}

func TestAuthMethodChoice(t *testing.T) {
	h := newAuthHarness(t, nil)
	t.Run("client's preference", func(t *testing.T) {
		p := h.hello("local", wamp.Dict{"authmethods": methods("scram", "wampcra", "ticket"), "authid": "peter"})
		p.craAnswer("secret-cra")
		p.welcomed("peter", "user", "wampcra", "static")
	})
	t.Run("no authmethods is anonymous", func(t *testing.T) {
		p := h.hello("local", wamp.Dict{"authid": "joe"})
		w := expect[*wamp.Welcome](p)
		// An anonymous session of a configured realm does not choose its
		// authid.
		p.welcomedAs(w, strconv.FormatUint(uint64(w.Session), 10), "guest", "anonymous", "static")
	})
	t.Run("none available", func(t *testing.T) {
		p := h.hello("local", wamp.Dict{"authmethods": methods("scram", "tls")})
		a := p.expectAbort(wamp.URINoAuthMethod)
		if msg, _ := a.Details["message"].(string); !strings.Contains(msg, "scram") {
			t.Errorf("ABORT message %q", msg)
		}
	})
	t.Run("anonymous switched off", func(t *testing.T) {
		h := newAuthHarness(t, func(rc *RealmConfig) { rc.Anonymous = nil })
		h.hello("local", nil).expectAbort(wamp.URINoAuthMethod)
		h.hello("local", wamp.Dict{"authmethods": methods("anonymous")}).expectAbort(wamp.URINoAuthMethod)
	})
	t.Run("listener", func(t *testing.T) {
		l := Listener{Name: "tickets only", AuthMethods: []string{"ticket"}}
		attach := func() *peer {
			client, server := transport.Pipe(transport.Config{})
			go h.r.AttachFrom(server, l)
			return wrapPeer(t, client)
		}
		helloOn(attach(), wamp.Dict{"authmethods": methods("wampcra", "anonymous"), "authid": "peter"}).
			expectAbort(wamp.URINoAuthMethod)
		p := helloOn(attach(), wamp.Dict{"authmethods": methods("wampcra", "ticket"), "authid": "joe"})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "secret-ticket", Extra: wamp.Dict{}})
		p.welcomed("joe", "user", "ticket", "static")
	})
}

// wrapPeer drives the client end of a connection made by the test.
func wrapPeer(t *testing.T, p transport.Peer) *peer {
	pp := &peer{t: t, p: p, in: make(chan wamp.Message, 1024), errc: make(chan error, 1)}
	go func() {
		for {
			m, err := p.Read()
			if err != nil {
				pp.errc <- err
				close(pp.in)
				return
			}
			pp.in <- m
		}
	}()
	t.Cleanup(func() { p.Close() })
	return pp
}

func TestNoSuchRole(t *testing.T) {
	// peter's role is not one of the realm's.
	edit := func(rc *RealmConfig) {
		p := rc.WAMPCRA.Principals["peter"]
		p.Role = "admin"
		rc.WAMPCRA.Principals["peter"] = p
	}
	h := newAuthHarness(t, edit)
	p := h.hello("local", wamp.Dict{"authmethods": methods("wampcra"), "authid": "peter"})
	p.craAnswer("secret-cra")
	a := p.expectAbort(wamp.URINoSuchRole)
	if msg, _ := a.Details["message"].(string); !strings.Contains(msg, "admin") {
		t.Errorf("ABORT message %q", msg)
	}
	// Anonymous too.
	h = newAuthHarness(t, func(rc *RealmConfig) { edit(rc); rc.Anonymous.Role = "nobody" })
	h.hello("local", nil).expectAbort(wamp.URINoSuchRole)

	// A dynamic authorizer decides what any role may do.
	h = newAuthHarness(t, func(rc *RealmConfig) { edit(rc); rc.Authorizer = "com.example.authorize" })
	p = h.hello("local", wamp.Dict{"authmethods": methods("wampcra"), "authid": "peter"})
	p.craAnswer("secret-cra")
	p.welcomed("peter", "admin", "wampcra", "static")
}

func TestWelcomeAndSessionMeta(t *testing.T) {
	h := newAuthHarness(t, nil)
	p := h.hello("json", wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "secret-ticket", Extra: wamp.Dict{}})
	p.welcomed("joe", "user", "ticket", "static")
	got := p.meta("wamp.session.get", wamp.List{p.id}, nil)
	d, _ := got[0].(wamp.Dict)
	for k, want := range map[string]string{"authid": "joe", "authrole": "user", "authmethod": "ticket", "authprovider": "static", "realm": "auth"} {
		if d[k] != want {
			t.Errorf("wamp.session.get %s = %v, want %s", k, d[k], want)
		}
	}
}

func TestHelloTimeout(t *testing.T) {
	rc := authRealm()
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{rc}, Limits: Limits{HelloTimeout: 100 * time.Millisecond}})
	for _, kind := range []string{"json", "local"} {
		t.Run(kind+"/silent", func(t *testing.T) {
			p := h.connect(kind)
			start := time.Now()
			a := p.expectAbort(wamp.URITimeout)
			if d := time.Since(start); d < 80*time.Millisecond {
				t.Errorf("closed after %v", d)
			}
			if msg, _ := a.Details["message"].(string); !strings.Contains(msg, "100ms") {
				t.Errorf("ABORT message %q", msg)
			}
		})
		t.Run(kind+"/no AUTHENTICATE", func(t *testing.T) {
			p := h.hello(kind, wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
			expect[*wamp.Challenge](p)
			p.expectAbort(wamp.URITimeout)
		})
		t.Run(kind+"/in time", func(t *testing.T) {
			p := h.hello(kind, wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
			expect[*wamp.Challenge](p)
			p.send(&wamp.Authenticate{Signature: "secret-ticket", Extra: wamp.Dict{}})
			p.welcomed("joe", "user", "ticket", "static")
			// The timeout no longer applies once the session is open.
			p.quiet()
			time.Sleep(150 * time.Millisecond)
			p.quiet()
		})
	}
	if got := (&Router{}).helloTimeout(); got != 10*time.Second {
		t.Errorf("default HELLO timeout %v", got)
	}
	if got := (&Router{cfg: Config{Limits: Limits{HelloTimeout: -1}}}).helloTimeout(); got != 0 {
		t.Errorf("negative HELLO timeout gives %v, want none", got)
	}
}

func TestAuthProtocolViolation(t *testing.T) {
	h := newAuthHarness(t, nil)
	p := h.hello("local", wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Publish{Request: 1, Topic: "com.example.x"})
	p.expectAbort(wamp.URIProtocolViolation)

	// A client that gives up: no answer.
	p = h.hello("local", wamp.Dict{"authmethods": methods("ticket"), "authid": "joe"})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Abort{Details: wamp.Dict{}, Reason: "wamp.error.cannot_authenticate"})
	p.ended()
}

// lockedBuffer is a log destination the test may read while the router
// writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFailureReasonLogged checks that the router logs what the client is
// not told.
func TestFailureReasonLogged(t *testing.T) {
	var logs lockedBuffer
	h := newHarness(t, Config{RealmConfigs: []RealmConfig{authRealm()}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for authid, want := range map[string]string{"joe": `wrong ticket for authid \"joe\"`, "nobody": `no ticket principal \"nobody\"`} {
		p := h.hello("local", wamp.Dict{"authmethods": methods("ticket"), "authid": authid})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "wrong", Extra: wamp.Dict{}})
		p.expectAbort(wamp.URIAuthenticationFailed)
		if got := logs.String(); !strings.Contains(got, want) || !strings.Contains(got, "level=INFO") {
			t.Errorf("logs lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(logs.String(), "secret-ticket") {
		t.Error("a ticket was logged")
	}
}

package router

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// TestCryptosignSpecVectors checks verification against the test vectors
// of the WAMP specification (WAMP-Cryptosign, "Test Vectors").
func TestCryptosignSpecVectors(t *testing.T) {
	for i, v := range []struct{ channelID, privateKey, challenge, signature string }{
		{"", "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
			"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"b32675b221f08593213737bef8240e7c15228b07028e19595294678c90d11c0cae80a357331bfc5cc9fb71081464e6e75013517c2cf067ad566a6b7b728e5d03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
		{"", "d511fe78e23934b3dadb52fcd022974b80bd92bccc7c5cf404e46cc0a8a2f5cd",
			"b26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d",
			"d4209ad10d5aff6bfbc009d7e924795de138a63515efc7afc6b01b7fe5201372190374886a70207b042294af5bd64ce725cd8dceb344e6d11c09d1aaaf4d660fb26c1f87c13fc1da14997f1b5a71995dff8fbe0a62fae8473c7bdbd05bfb607d"},
		{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff",
			"4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510",
			"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
			"9b6f41540c9b95b4b7b281c3042fa9c54cef43c842d62ea3fd6030fcb66e70b3e80d49d44c29d1635da9348d02ec93f3ed1ef227dfb59a07b580095c2b82f80f9d16ca518aa0c2b707f2b2a609edeca73bca8dd59817a633f35574ac6fd80d00"},
		{"62e935ae755f3d48f80d4d59f6121358c435722a67e859cc0caa8b539027f2ff",
			"6e1fde9cf9e2359a87420b65a87dc0c66136e66945196ba2475990d8a0c3a25b",
			"b05e6b8ad4d69abf74aa3be3c0ee40ae07d66e1895b9ab09285a2f1192d562d2",
			"ee3c7644fd8070532bc1fde3d70d742267da545d8c8f03e63bda63f1ad4214f4d2c4bfdb4eb9526def42deeb7e31602a6ff99eba893e0a4ad4d45892ca75e608d2b75e24a189a7f78ca776ba36fc53f6c3e31c32f251f2c524f0a44202f2902d"},
	} {
		seed, _ := hex.DecodeString(v.privateKey)
		pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
		msg, _ := hex.DecodeString(v.challenge)
		if v.channelID != "" {
			id, _ := hex.DecodeString(v.channelID)
			for j := range msg {
				msg[j] ^= id[j]
			}
		}
		sig, _ := hex.DecodeString(v.signature)
		if !verifyCryptosign(pub, msg, sig) {
			t.Errorf("vector %d: signature refused", i)
		}
		sig[0] ^= 1
		if verifyCryptosign(pub, msg, sig) {
			t.Errorf("vector %d: altered signature accepted", i)
		}
	}
}

// tlsStates returns the states of both ends of a real TLS connection of
// the given version, made over an in-memory pipe.
func tlsStates(t *testing.T, version uint16) (client, server *tls.ConnectionState) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
	cli := tls.Client(b, &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	cs, ss := cli.ConnectionState(), srv.ConnectionState()
	return &cs, &ss
}

// tlsPeer is a peer that reports a TLS state of the test's choosing.
type tlsPeer struct {
	transport.Peer
	cs *tls.ConnectionState
}

func (p tlsPeer) Info() transport.Info {
	i := p.Peer.Info()
	i.TLS = p.cs
	return i
}

func TestCryptosignChannelBinding(t *testing.T) {
	h := newAuthHarness(t, nil)
	tls12c, tls12s := tlsStates(t, tls.VersionTLS12)
	tls13c, tls13s := tlsStates(t, tls.VersionTLS13)
	other13c, _ := tlsStates(t, tls.VersionTLS13)
	for _, c := range []struct {
		name         string
		binding      string
		client, serv *tls.ConnectionState
		want         wamp.URI // "" for WELCOME
	}{
		{"tls-unique on TLS 1.2", "tls-unique", tls12c, tls12s, ""},
		{"tls-exporter on TLS 1.2", "tls-exporter", tls12c, tls12s, ""},
		{"tls-exporter on TLS 1.3", "tls-exporter", tls13c, tls13s, ""},
		{"tls-unique on TLS 1.3", "tls-unique", tls13c, tls13s, wamp.URIAuthenticationFailed},
		{"another connection's binding", "tls-exporter", other13c, tls13s, wamp.URIAuthenticationFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			client, server := transport.Pipe(transport.Config{})
			go h.r.Attach(tlsPeer{server, c.serv})
			p := helloOn(wrapPeer(t, client), wamp.Dict{"authmethods": methods("cryptosign"),
				"authextra": wamp.Dict{"pubkey": alicePub, "channel_binding": c.binding}})
			if c.binding == "tls-unique" && c.want != "" {
				// Refused before any CHALLENGE: the connection cannot bind.
				p.expectAbort(c.want)
				return
			}
			id, err := transport.ChannelBinding(c.client, c.binding)
			if err != nil {
				t.Fatal(err)
			}
			ch := p.csAnswer(aliceKey, id)
			if ch.Extra["channel_binding"] != c.binding {
				t.Errorf("CHALLENGE channel_binding %v, want %s", ch.Extra["channel_binding"], c.binding)
			}
			if c.want != "" {
				p.expectAbort(c.want)
				return
			}
			p.welcomed("alice", "user", "cryptosign", "static")
		})
	}
	t.Run("unbound signature on a bound challenge", func(t *testing.T) {
		client, server := transport.Pipe(transport.Config{})
		go h.r.Attach(tlsPeer{server, tls13s})
		p := helloOn(wrapPeer(t, client), wamp.Dict{"authmethods": methods("cryptosign"),
			"authextra": wamp.Dict{"pubkey": alicePub, "channel_binding": "tls-exporter"}})
		p.csAnswer(aliceKey, nil)
		p.expectAbort(wamp.URIAuthenticationFailed)
	})
}

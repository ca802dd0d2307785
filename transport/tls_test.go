package transport

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/internal/testcert"
	"github.com/junction-run/junction/wamp/codec"
)

// testTLS returns a server configuration with a certificate for
// 127.0.0.1 and a client configuration trusting its CA.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
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
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: ca.Pool()}
}

// TestDialTLS echoes over RawSocket over TLS (rss:// and tcps://) and over
// wss://, trusting the test's CA through Config.TLS; without it the
// certificate is refused.
func TestDialTLS(t *testing.T) {
	server, client := testTLS(t)
	l := tls.NewListener(listen(t, "tcp"), server)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeRawSocket(ctx, l, Config{}, func(p Peer) {
			echoBack(p)
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	wss := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := Upgrade(w, r, Config{})
		if err != nil {
			return
		}
		echoBack(p)
	}))
	wss.TLS = server
	wss.StartTLS()
	t.Cleanup(wss.Close)
	addr := l.Addr().String()
	urls := []string{"rss://" + addr, "tcps://" + addr, "wss" + strings.TrimPrefix(wss.URL, "https")}
	for _, url := range urls {
		p, err := Dial(context.Background(), url, Config{TLS: client, Serializers: []codec.Codec{codec.MsgPack}})
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		echo(t, p, 3)
		p.Close()
	}
	for _, url := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := Dial(ctx, url, Config{})
		cancel()
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s without the CA: %v, want a certificate error", url, err)
		}
	}
	// A RawSocket client that does not speak TLS fails its handshake
	// alone.
	if _, err := Dial(context.Background(), "tcp://"+addr, Config{WriteTimeout: time.Second}); err == nil {
		t.Error("plain RawSocket to a TLS listener succeeded")
	}
	p, err := Dial(context.Background(), "rss://"+addr, Config{TLS: client})
	if err != nil {
		t.Fatal(err)
	}
	echo(t, p, 1)
	p.Close()
}

func TestTLSClientConfigServerName(t *testing.T) {
	for _, tc := range []struct {
		cfg        *tls.Config
		addr, want string
	}{
		{nil, "127.0.0.1:8443", "127.0.0.1"},
		{&tls.Config{}, "[::1]:8443", "::1"},
		{&tls.Config{ServerName: "router.example"}, "127.0.0.1:8443", "router.example"},
		{nil, "noport", "noport"},
	} {
		if got := tlsClientConfig(tc.cfg, tc.addr).ServerName; got != tc.want {
			t.Errorf("%v %s: ServerName %q, want %q", tc.cfg, tc.addr, got, tc.want)
		}
	}
}

package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/testcert"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// tlsNode writes a CA-signed certificate for 127.0.0.1 (serial 2) and a
// configuration with a wss and a RawSocket-over-TLS listener into dir; it
// returns the configuration's path and the CA.
func tlsNode(t *testing.T, dir string) (string, *testcert.CA) {
	t.Helper()
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	writeLeaf(t, ca, dir, 2)
	return writeFile(t, dir, "node.yaml", `
listeners:
  - type: websocket
    address: 127.0.0.1:0
    tls: {cert: router.crt, key: router.key}
  - type: rawsocket
    address: 127.0.0.1:0
    tls:
      cert: router.crt
      key: router.key
open_realms: [realm1]
`), ca
}

// writeLeaf writes a certificate for 127.0.0.1 with serial to
// dir/router.crt and its key to dir/router.key.
func writeLeaf(t *testing.T, ca *testcert.CA, dir string, serial int64) {
	t.Helper()
	certPEM, keyPEM, err := ca.Leaf(serial, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// A reload between the two writes would fail on the pair's mismatch
	// and keep the old certificate.
	writeFile(t, dir, "router.key", string(keyPEM))
	writeFile(t, dir, "router.crt", string(certPEM))
}

// servedSerial is the serial number of the certificate a new TLS
// connection to the listener at url gets.
func servedSerial(t *testing.T, url string, roots *x509.CertPool) string {
	t.Helper()
	addr := regexp.MustCompile(`^\w+://([^/]+)`).FindStringSubmatch(url)[1]
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestTLSListeners: Go clients trusting the test's CA join over wss://
// and RawSocket over TLS (rss://) and call each other; a reload swaps the
// certificate new connections get while the sessions in place go on; a
// bad new file keeps the current certificate.
func TestTLSListeners(t *testing.T) {
	dir := t.TempDir()
	file, ca := tlsNode(t, dir)
	var logs logBuffer
	s := startRouter(t, &logs, "--config", file)
	urls := s.urls()
	if len(urls) != 2 || !strings.HasPrefix(urls[0], "wss://127.0.0.1:") || !strings.HasSuffix(urls[0], "/ws") || !strings.HasPrefix(urls[1], "rss://127.0.0.1:") {
		t.Fatalf("listening on %v", urls)
	}
	if !strings.Contains(logs.String(), "serial=2") {
		t.Fatalf("the certificate in use is not logged:\n%s", logs.String())
	}
	tcfg := transport.Config{TLS: &tls.Config{RootCAs: ca.Pool()}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(url string) *client.Session {
		t.Helper()
		sess, err := client.Dial(ctx, url, client.Config{Transport: tcfg})
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		t.Cleanup(func() { sess.Close(context.Background()) })
		return sess
	}
	callee, caller := dial(urls[0]), dial(urls[1])
	if _, err := callee.Register(ctx, "tls.echo", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: inv.Args}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	call := func(who *client.Session, arg string) {
		t.Helper()
		res, err := who.Call(ctx, "tls.echo", wamp.List{arg}, nil, nil)
		if err != nil || res.Arg(0) != arg {
			t.Fatalf("call: %v, %v", res, err)
		}
	}
	call(caller, "over rss")
	for _, url := range urls {
		if got := servedSerial(t, url, ca.Pool()); got != "2" {
			t.Fatalf("%s serves serial %s, want 2", url, got)
		}
	}

	writeLeaf(t, ca, dir, 3)
	s.reloadCertificates()
	for _, url := range urls {
		if got := servedSerial(t, url, ca.Pool()); got != "3" {
			t.Fatalf("after reload, %s serves serial %s, want 3", url, got)
		}
	}
	if !strings.Contains(logs.String(), `msg="TLS certificate reloaded"`) {
		t.Fatalf("reload not logged:\n%s", logs.String())
	}
	call(caller, "after reload") // the sessions in place go on
	call(dial(urls[0]), "new wss session")
	call(dial(urls[1]), "new rss session")

	writeFile(t, dir, "router.crt", "garbage")
	s.reloadCertificates()
	if !strings.Contains(logs.String(), "TLS certificate not reloaded; the current one stays in use") {
		t.Fatalf("failed reload not logged:\n%s", logs.String())
	}
	for _, url := range urls {
		if got := servedSerial(t, url, ca.Pool()); got != "3" {
			t.Fatalf("after a failed reload, %s serves serial %s, want 3", url, got)
		}
	}
	call(caller, "after a failed reload")

	// A client that does not trust the CA is refused, and nobody else
	// notices.
	if _, err := client.Dial(ctx, urls[1], client.Config{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("dial without the CA: %v", err)
	}
	call(caller, "still here")
}

// TestRouterProcessSIGHUP runs the real binary with TLS listeners: SIGHUP
// reloads the certificate files without ending the session in place.
func TestRouterProcessSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file, ca := tlsNode(t, dir)
	bin := junctionBinary(t)
	cmd := exec.Command(bin, "router", "--config", file)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stderr)
	}()
	waitLog := func(pattern string) []string {
		t.Helper()
		re := regexp.MustCompile(pattern)
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("router exited before logging %q", pattern)
				}
				if m := re.FindStringSubmatch(l); m != nil {
					return m
				}
			case <-timeout:
				t.Fatalf("no log line %q", pattern)
			}
		}
	}
	url := waitLog(`msg="router listening" url=(wss://\S+)`)[1]
	waitLog(`msg="router listening" url=rss://`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := client.Dial(ctx, url, client.Config{Transport: transport.Config{TLS: &tls.Config{RootCAs: ca.Pool()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx)
	if _, err := sess.Publish(ctx, "tls.ping", nil, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	writeLeaf(t, ca, dir, 7)
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(`msg="TLS certificate reloaded".* serial=7`)
	waitLog(`msg="TLS certificate reloaded".* serial=7`) // both listeners
	if got := servedSerial(t, url, ca.Pool()); got != "7" {
		t.Fatalf("after SIGHUP, serial %s, want 7", got)
	}
	if _, err := sess.Publish(ctx, "tls.ping", nil, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatalf("session after SIGHUP: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("router exit: %v", err)
	}
}

package irc

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/junction-run/junction/internal/daemontest"
	"github.com/junction-run/junction/internal/testcert"
)

// ngircd is a real IRC server (Debian's ngircd) run by a test on free
// loopback ports, which it can stop and start again on the same ports.
type ngircd struct {
	t       *testing.T
	dir     string
	Addr    string // plain IRC, host:port
	TLSAddr string // IRC over TLS
	CAFile  string // the CA of its certificate

	proc daemontest.Process
}

// needNgircd returns ngircd's path.
func needNgircd(t *testing.T) string { return daemontest.Need(t, "ngircd", "ngircd") }

// startNgircd starts a server, stopped at cleanup.
func startNgircd(t *testing.T) *ngircd {
	t.Helper()
	bin := needNgircd(t)
	s := &ngircd{t: t, dir: t.TempDir()}
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Leaf(2, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s.CAFile = filepath.Join(s.dir, "ca.pem")
	for name, data := range map[string][]byte{"ca.pem": ca.PEM, "cert.pem": cert, "key.pem": key} {
		if err := os.WriteFile(filepath.Join(s.dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var lastErr error
	for range 5 { // a port taken between freePort and ngircd's bind: another pair
		port, tlsPort := daemontest.FreePort(t), daemontest.FreePort(t)
		s.Addr, s.TLSAddr = "127.0.0.1:"+port, "127.0.0.1:"+tlsPort
		conf := fmt.Sprintf(`[Global]
Name = irc.junction.test
Info = Junction test server
Listen = 127.0.0.1
Ports = %s
MotdPhrase = "Junction test server"
PidFile = %s/ngircd.pid
[Limits]
MaxConnectionsIP = 0
PingTimeout = 120
PongTimeout = 60
[Options]
PAM = no
Ident = no
DNS = no
[SSL]
CertFile = %s/cert.pem
KeyFile = %s/key.pem
Ports = %s
`, port, s.dir, s.dir, s.dir, tlsPort)
		if err := os.WriteFile(filepath.Join(s.dir, "ngircd.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		if lastErr = s.start(bin); lastErr == nil {
			t.Logf("ngircd on %s (TLS %s)", s.Addr, s.TLSAddr)
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("ngircd did not start: %v\n%s", lastErr, s.logs())
	return nil
}

func (s *ngircd) logs() string { return s.proc.Logs() }

// start runs ngircd and waits until both ports answer.
func (s *ngircd) start(bin string) error {
	s.proc.Name, s.proc.Argv = "ngircd", []string{bin, "--nodaemon", "--config", filepath.Join(s.dir, "ngircd.conf")}
	return s.proc.Start(s.Addr, s.TLSAddr)
}

// Stop stops the server and waits for it to exit.
func (s *ngircd) Stop() { s.proc.Stop() }

// Restart starts the stopped server again on the same ports.
func (s *ngircd) Restart() {
	s.t.Helper()
	var err error
	for range 50 { // the old ports may linger a moment
		if err = s.start(needNgircd(s.t)); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("ngircd did not start again: %v", err)
}

// ircClient is a plain IRC client for the tests, written on the socket.
type ircClient struct {
	t     *testing.T
	nick  string
	conn  net.Conn
	lines chan ircmsg.Message
}

// dialClient connects and registers as nick.
func dialClient(t *testing.T, addr, nick string) *ircClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &ircClient{t: t, nick: nick, conn: conn, lines: make(chan ircmsg.Message, 1000)}
	t.Cleanup(func() { conn.Close() })
	go c.read()
	c.send("NICK %s", nick)
	c.send("USER %s 0 * :%s", nick, nick)
	c.expect("welcome", func(m ircmsg.Message) bool { return m.Command == "001" })
	return c
}

func (c *ircClient) read() {
	defer close(c.lines)
	sc := bufio.NewScanner(c.conn)
	for sc.Scan() {
		m, err := ircmsg.ParseLine(sc.Text())
		if err != nil {
			continue
		}
		if m.Command == "PING" {
			fmt.Fprintf(c.conn, "PONG :%s\r\n", m.Params[len(m.Params)-1])
			continue
		}
		c.lines <- m
	}
}

func (c *ircClient) send(format string, args ...any) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.conn, format+"\r\n", args...); err != nil {
		c.t.Fatalf("%s: send: %v", c.nick, err)
	}
}

// expect returns the first message that matches, failing the test after
// a deadline.
func (c *ircClient) expect(what string, match func(ircmsg.Message) bool) ircmsg.Message {
	c.t.Helper()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case m, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("%s: connection closed waiting for %s", c.nick, what)
			}
			if match(m) {
				return m
			}
		case <-t.C:
			c.t.Fatalf("%s: timed out waiting for %s", c.nick, what)
		}
	}
}

func (c *ircClient) join(channel string) {
	c.t.Helper()
	c.send("JOIN %s", channel)
	c.expect("the end of NAMES of "+channel, func(m ircmsg.Message) bool { return m.Command == "366" })
}

// privmsgs collects the PRIVMSGs received until a PONG for a PING sent
// now: everything the server relayed before has arrived.
func (c *ircClient) privmsgs() []ircmsg.Message {
	c.t.Helper()
	token := fmt.Sprintf("sync-%d", time.Now().UnixNano())
	c.send("PING :%s", token)
	var out []ircmsg.Message
	c.expect("PONG "+token, func(m ircmsg.Message) bool {
		if m.Command == "PRIVMSG" {
			out = append(out, m)
		}
		return m.Command == "PONG" && m.Params[len(m.Params)-1] == token
	})
	return out
}

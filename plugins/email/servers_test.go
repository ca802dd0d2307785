package email

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/junction-run/junction/internal/daemontest"
	"github.com/junction-run/junction/internal/testcert"
)

// shortTempDir is a temporary directory with a short path (Unix socket
// paths are short), readable by the servers' unprivileged users.
func shortTempDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// daemon is a server process run in the foreground by a test.
type daemon struct {
	t    *testing.T
	name string
	argv []string
	wait []string // addresses that answer once it is up
	p    daemontest.Process
}

func (d *daemon) logs() string { return d.p.Logs() }

// Start runs it and waits until its addresses answer.
func (d *daemon) Start() {
	d.t.Helper()
	d.p.Name, d.p.Argv = d.name, d.argv
	if err := d.p.Start(d.wait...); err != nil {
		d.t.Fatal(err)
	}
	d.t.Logf("%s up on %v", d.name, d.wait)
}

// Stop stops it and waits until its ports are free again.
func (d *daemon) Stop() {
	d.p.Stop()
	daemontest.WaitClosed(d.t, d.wait...)
}

// dovecot is Debian's IMAP server with its LMTP and submission
// services: every user's password is "secret", mail is kept in a
// temporary directory, and submission (STARTTLS, or implicit TLS on
// Submissions) relays to opensmtpd.
type dovecot struct {
	*daemon
	IMAP, IMAPS, LMTP       string
	Submission, Submissions string
	CAFile                  string
}

// startMail starts dovecot and opensmtpd on free loopback ports:
// opensmtpd relays mail for @app.test to appSMTP and delivers mail for
// @mail.test to dovecot by LMTP; dovecot's submission relays to
// opensmtpd.
func startMail(t *testing.T, appSMTP string) (*dovecot, *opensmtpd) {
	t.Helper()
	mtaPlain := "127.0.0.1:" + daemontest.FreePort(t)
	dc := startDovecot(t, mtaPlain)
	mta := startOpenSMTPD(t, mtaPlain, appSMTP, dc)
	return dc, mta
}

func startDovecot(t *testing.T, relay string) *dovecot {
	t.Helper()
	bin := daemontest.Need(t, "dovecot", "dovecot-imapd dovecot-lmtpd dovecot-submissiond")
	for _, prog := range []string{"lmtp", "submission"} {
		if _, err := os.Stat("/usr/lib/dovecot/" + prog); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("dovecot's %s server is not installed (apt-get install dovecot-%sd; .ci/run does)", prog, prog)
			}
			t.Skipf("dovecot's %s server is not installed (apt-get install dovecot-%sd)", prog, prog)
		}
	}
	dir := shortTempDir(t, "dc")
	mail := filepath.Join(dir, "mail")
	os.Mkdir(mail, 0o755)
	os.Chown(mail, 65534, 65534) // the mail user below: nobody
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Leaf(2, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	d := &dovecot{IMAP: "127.0.0.1:" + daemontest.FreePort(t), IMAPS: "127.0.0.1:" + daemontest.FreePort(t), LMTP: "127.0.0.1:" + daemontest.FreePort(t),
		Submission: "127.0.0.1:" + daemontest.FreePort(t), Submissions: "127.0.0.1:" + daemontest.FreePort(t), CAFile: filepath.Join(dir, "ca.pem")}
	for name, data := range map[string][]byte{"ca.pem": ca.PEM, "cert.pem": cert, "key.pem": key} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := func(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = /dev/stderr
protocols = imap lmtp submission
listen = 127.0.0.1
hostname = localhost
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %%n
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=%[2]s/%%n
}
mail_location = maildir:~/Maildir
submission_relay_host = 127.0.0.1
submission_relay_port = %[3]s
submission_relay_trusted = yes
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[4]s
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[5]s
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[6]s
  }
}
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = %[7]s
  }
  inet_listener submissions {
    address = 127.0.0.1
    port = %[8]s
    ssl = yes
  }
}
`, dir, mail, port(relay), port(d.IMAP), port(d.IMAPS), port(d.LMTP), port(d.Submission), port(d.Submissions))
	path := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	d.daemon = &daemon{t: t, name: "dovecot", argv: []string{bin, "-F", "-c", path},
		wait: []string{d.IMAP, d.IMAPS, d.LMTP, d.Submission, d.Submissions}}
	d.Start()
	t.Cleanup(d.Stop)
	return d
}

// opensmtpd is Debian's OpenSMTPD, taking mail from anyone on Plain
// (its TLS fails on Debian 12 with OpenSSL 3, "EVP lib": TLS is tested
// on dovecot's submission, which relays here). Mail for @app.test is
// relayed to the app's embedded SMTP server, mail for @mail.test goes
// to dovecot by LMTP.
type opensmtpd struct {
	*daemon
	Plain string
}

func startOpenSMTPD(t *testing.T, plain, appSMTP string, dc *dovecot) *opensmtpd {
	t.Helper()
	bin := daemontest.Need(t, "smtpd", "opensmtpd")
	daemontest.Need(t, "unshare", "util-linux")
	dir := shortTempDir(t, "os")
	// smtpd's queue and control socket have fixed paths: it runs in a
	// mount namespace of its own where they are this test's directories.
	for _, sub := range []string{"spool", "run"} {
		os.Mkdir(filepath.Join(dir, sub), 0o711)
	}
	if err := os.MkdirAll("/var/spool/smtpd", 0o711); err != nil {
		t.Fatal(err)
	}
	o := &opensmtpd{Plain: plain}
	if err := os.WriteFile(filepath.Join(dir, "vusers"), []byte("@mail.test nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(plain)
	conf := fmt.Sprintf(`table vusers file:%[1]s/vusers
listen on 127.0.0.1 port %[2]s
action "app" relay host smtp://%[3]s
action "dove" lmtp "%[4]s" rcpt-to virtual <vusers>
match from any for domain "app.test" action "app"
match from any for domain "mail.test" action "dove"
`, dir, port, appSMTP, dc.LMTP)
	path := filepath.Join(dir, "smtpd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("mount --bind %[1]s/spool /var/spool/smtpd && mount --bind %[1]s/run /run && exec %[2]s -d -f %[3]s", dir, bin, path)
	o.daemon = &daemon{t: t, name: "opensmtpd", argv: []string{"unshare", "-m", "sh", "-c", script}, wait: []string{o.Plain}}
	o.Start()
	t.Cleanup(o.Stop)
	return o
}

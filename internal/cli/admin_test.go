package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/browsertest"
	"github.com/junction-run/junction/wamp"
)

// TestAdminOfTheRouterProcess is the web admin's acceptance: the junction
// binary run as "junction router --listen 127.0.0.1:PORT
// --admin-password-file F" serves /admin/; after logging in as admin in
// a real Chromium, an outside session's ID appears within 5 s.
func TestAdminOfTheRouterProcess(t *testing.T) {
	b := browsertest.New(t, 20*time.Second)
	dir := t.TempDir()
	pw := filepath.Join(dir, "admin-password")
	if err := os.WriteFile(pw, []byte("s3cret-enough\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	delivered := make(chan struct{}, 4)
	ep := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		delivered <- struct{}{}
	}))
	defer ep.Close()
	file := writeFile(t, dir, "node.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
webhooks:
  hooks:
    - {name: news, topic: com.ex.news, url: "`+ep.URL+`/hook"}
`)
	url, _ := startRouterBinary(t, "--config", file, "--data-dir", filepath.Join(dir, "data"), "--admin-password-file", pw)
	base := strings.Replace(strings.TrimSuffix(url, "/ws"), "ws://", "http://", 1)
	t.Logf("admin at %s/admin/", base)

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	browsertest.Do(t, b, "log in", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "admin"), chromedp.SendKeys(css("#password"), "s3cret-enough"),
		chromedp.Click(css("#submit")), chromedp.WaitVisible(css(`body[data-ready="true"]`)),
		chromedp.Navigate(base+"/admin/#/sessions"), chromedp.WaitVisible(css(".empty, tr[data-id]")))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, url, client.Config{Realm: "realm1", AuthID: "outside"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	// The page is already open: the session must come to it, live.
	fast, cancelFast := context.WithTimeout(b, 5*time.Second)
	defer cancelFast()
	if err := chromedp.Do(fast, chromedp.WaitVisible(css(fmt.Sprintf(`tr[data-id="%d"]`, s.ID())))); err != nil {
		t.Fatalf("session %d not shown within 5 s: %v", s.ID(), err)
	}
	browsertest.Screenshot(t, b, "router-admin-sessions")

	// A webhook delivery, counted in the webhooks view.
	if _, err := s.Publish(ctx, "com.ex.news", wamp.List{"hello"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-delivered:
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook was not delivered")
	}
	browsertest.Do(t, b, "open the webhooks", chromedp.Navigate(base+"/admin/#/webhooks"), chromedp.WaitVisible(css(`tr[data-id="news"]`)))
	waitUntil(t, func() bool {
		row := browsertest.Text(t, b, `tr[data-id="news"] td[data-col="delivered"]`)
		if row == "1" {
			return true
		}
		browsertest.Do(t, b, "reload the webhooks", chromedp.Reload(), chromedp.WaitVisible(css(`tr[data-id="news"]`)))
		return false
	})
	browsertest.Screenshot(t, b, "router-admin-webhooks")
}

// startRouterBinary builds the junction binary, runs "junction router"
// with args until the test ends (killed then, if still running), and
// returns the WebSocket URL it logs, and the process.
func startRouterBinary(t *testing.T, args ...string) (string, *exec.Cmd) {
	t.Helper()
	bin := junctionBinary(t)
	cmd := exec.Command(bin, append([]string{"router"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := bufio.NewScanner(stderr)
	var seen []string
	for logs.Scan() {
		seen = append(seen, logs.Text())
		if m := regexp.MustCompile(`url=(ws://\S+)`).FindStringSubmatch(logs.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return m[1], cmd
		}
	}
	t.Fatalf("the router did not log its URL:\n%s", strings.Join(seen, "\n"))
	return "", nil
}

// waitUntil polls cond until it holds, or fails the test after 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 10 s")
		}
	}
}

// TestAdminPlan: the admin section and --admin-password-file, their
// errors located, the file's users kept beside the flag's.
func TestAdminPlan(t *testing.T) {
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "long enough password\n")
	writeFile(t, dir, "short", "short\n")
	for _, tc := range []struct{ file, want string }{
		{"admin: {users: [{name: ops}]}", "password_hash or password_file"},
		{"admin: {users: [{name: ops, password_file: missing}]}", "no such file"},
		{"admin: {users: [{name: ops, password_file: short}]}", "fewer than 8"},
		{"admin: {users: [{name: ops, password_hash: plain}]}", "not a bcrypt hash"},
	} {
		file := writeFile(t, dir, "node.yaml", "open_realms: [realm1]\nlisteners: [{type: websocket, address: \"127.0.0.1:0\"}]\n"+tc.file)
		if _, err := planFor(t, "--config", file); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "admin") {
			t.Errorf("%s: %v, want an error about admin saying %q", tc.file, err, tc.want)
		}
	}
	if _, err := planFor(t, "--admin-password-file", filepath.Join(dir, "short")); err == nil || !strings.Contains(err.Error(), "--admin-password-file") {
		t.Errorf("a short password file: %v", err)
	}
	file := writeFile(t, dir, "node.yaml", "open_realms: [realm1]\nlisteners: [{type: websocket, address: \"127.0.0.1:0\"}]\nadmin: {users: [{name: ops, password_file: pw}], session_ttl: 1h}")
	p, err := planFor(t, "--config", file, "--admin-password-file", pw)
	if err != nil {
		t.Fatal(err)
	}
	if p.admin == nil || len(p.admin.Users) != 2 || p.admin.Users[0].Name != "admin" || p.admin.Users[1].Name != "ops" ||
		p.admin.SessionTTL != time.Hour || p.admin.Users[1].PasswordFile != "" || !strings.HasPrefix(p.admin.Users[1].PasswordHash, "$2") {
		t.Fatalf("admin plan %+v", p.admin)
	}
	if p, err := planFor(t); err != nil || p.admin != nil {
		t.Fatalf("no admin asked: %+v, %v", p, err)
	}
	// --admin alone: a user is made at start; with users, it adds none.
	if p, err := planFor(t, "--admin"); err != nil || p.admin == nil || len(p.admin.Users) != 0 {
		t.Fatalf("--admin: %+v, %v", p, err)
	}
	if p, err := planFor(t, "--admin", "--admin-password-file", pw); err != nil || len(p.admin.Users) != 1 {
		t.Fatalf("--admin with a password file: %+v, %v", p, err)
	}
}

// TestRouterAdminWithAMadePassword: junction router --admin logs the
// admin's URL and a password made for the run, which logs in.
func TestRouterAdminWithAMadePassword(t *testing.T) {
	var logs logBuffer
	startRouter(t, &logs, "--listen", "127.0.0.1:0", "--admin")
	m := regexp.MustCompile(`web admin: .*url=(\S+) password=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no admin password logged:\n%s", logs.String())
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for pw, want := range map[string]int{m[2]: http.StatusSeeOther, "guess": http.StatusUnauthorized} {
		resp, err := noRedirect.PostForm(m[1]+"login", url.Values{"username": {"admin"}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("login with %q: %d, want %d", pw, resp.StatusCode, want)
		}
	}
}

package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
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
)

// TestAdminOfTheRouterProcess is the web admin's acceptance: the junction
// binary run as "junction router --listen 127.0.0.1:PORT
// --admin-password-file F" serves /admin/; after logging in as admin in
// a real Chromium, an outside session's ID appears within 5 s.
func TestAdminOfTheRouterProcess(t *testing.T) {
	b := browsertest.New(t, 20*time.Second)
	dir := t.TempDir()
	bin := filepath.Join(dir, "junction")
	build := exec.Command("go", "build", "-o", bin, "github.com/junction-run/junction/cmd/junction")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	pw := filepath.Join(dir, "admin-password")
	if err := os.WriteFile(pw, []byte("s3cret-enough\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "router", "--listen", "127.0.0.1:0", "--admin-password-file", pw)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	logs := bufio.NewScanner(stderr)
	var url string
	for logs.Scan() {
		if m := regexp.MustCompile(`url=(ws://\S+)`).FindStringSubmatch(logs.Text()); m != nil {
			url = m[1]
			break
		}
	}
	if url == "" {
		t.Fatal("router did not log its URL")
	}
	go io.Copy(io.Discard, stderr)
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
}

package junction

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/browsertest"
)

func init() { testApps["admin"] = adminTestApp }

// adminTestApp has what the web admin steers: a queue whose task fails
// until a marker file exists, a cron job that runs only when asked, and
// a worker process.
func adminTestApp() *Application {
	app := New("adminapp")
	var cfg struct {
		Marker string `help:"mail.send succeeds once this file exists"`
	}
	app.AddSettings(&cfg)
	mail := app.Queue("mail")
	mail.Task("send", func(ctx context.Context, to string) (string, error) {
		if _, err := os.Stat(cfg.Marker); err != nil {
			return "", fmt.Errorf("smtp server down, cannot mail %s", to)
		}
		return "sent to " + to, AppFrom(ctx).Publish(ctx, "mail.sent", to)
	})
	app.Register("mail.enqueue", func(ctx context.Context, to string) (string, error) {
		return mail.Enqueue(ctx, "send", to, MaxRetries(0)) // dead at the first failure
	})
	app.Every(time.Hour, func(ctx context.Context) error {
		return app.Publish(ctx, "report.ran", os.Getpid())
	}, JobName("report"))
	app.Process("worker").Register("worker.pid", func() int { return os.Getpid() })
	return app
}

// TestAdminOfAnApp drives an app's web admin in a real Chromium: a dead
// task requeued from the page completes, a cron job run from the page
// runs, a process restarted from the page comes back with a new PID.
func TestAdminOfAnApp(t *testing.T) {
	b := browsertest.New(t, 30*time.Second)
	dir := t.TempDir()
	pw, marker := filepath.Join(dir, "pw"), filepath.Join(dir, "marker")
	if err := os.WriteFile(pw, []byte("app admin password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProgram(t, "admin", "--admin-password-file", pw, "--marker", marker)
	base := "http://" + p.addr
	s := p.session()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sent, ran := make(chan string, 4), make(chan int64, 4)
	if _, err := s.Subscribe(ctx, "mail.sent", func(_ context.Context, e *client.Event) {
		to, _ := e.ArgString(0)
		sent <- to
	}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, "report.ran", func(_ context.Context, e *client.Event) {
		pid, _ := e.ArgInt(0)
		ran <- pid
	}, nil); err != nil {
		t.Fatal(err)
	}

	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	browsertest.Do(t, b, "log in", chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "admin"), chromedp.SendKeys(css("#password"), "app admin password"),
		chromedp.Click(css("#submit")), chromedp.WaitVisible(css(`body[data-ready="true"]`)))

	// A task that fails its only attempt is dead; the page shows it.
	res, err := s.Call(ctx, "mail.enqueue", []any{"ann@example.com"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := res.ArgString(0)
	if err != nil {
		t.Fatal(err)
	}
	deadRow := fmt.Sprintf(`#dead tr[data-id="%s"]`, id)
	browsertest.Do(t, b, "open the queues", chromedp.Navigate(base+"/admin/#/queues"))
	browsertest.Click(t, b, `tr[data-id="mail"] a`)
	browsertest.Do(t, b, "see the dead task", chromedp.WaitVisible(css(deadRow)))
	if got := browsertest.Text(t, b, deadRow); !strings.Contains(got, "smtp server down") || !strings.Contains(got, "ann@example.com") {
		t.Fatalf("the dead task's row says %q", got)
	}
	browsertest.Screenshot(t, b, "app-admin-queues")
	// The server is back: requeued from the page, the task completes.
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	browsertest.Click(t, b, deadRow+` button[data-action="requeue"]`)
	browsertest.Do(t, b, "see the task requeued", chromedp.WaitNotPresent(css(deadRow)))
	select {
	case to := <-sent:
		if to != "ann@example.com" {
			t.Fatalf("sent to %q", to)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the requeued task did not complete")
	}
	// Its state and result, looked up from the page.
	browsertest.Do(t, b, "look the task up", chromedp.SendKeys(css("#task-queue"), "mail"), chromedp.SendKeys(css("#task-id"), id),
		chromedp.Click(css(`#task-form button`)), chromedp.WaitVisible(css("#task-out.ok")))
	waitFor(t, func() bool {
		got := browsertest.Text(t, b, "#task-out")
		if strings.Contains(got, `"state": "done"`) && strings.Contains(got, "sent to ann@example.com") {
			return true
		}
		// Done a moment after the event: ask again.
		browsertest.Do(t, b, "look the task up again", chromedp.Click(css(`#task-form button`)))
		return false
	})

	// Pause from the page: the queue's row says so.
	browsertest.Click(t, b, `tr[data-id="mail"] button[data-action="pause"]`)
	browsertest.Do(t, b, "see the queue paused", chromedp.WaitVisible(css(`tr[data-id="mail"] .badge.paused`)))
	browsertest.Click(t, b, `tr[data-id="mail"] button[data-action="pause"]`)
	browsertest.Do(t, b, "see the queue resumed", chromedp.WaitVisible(css(`tr[data-id="mail"] .badge.running`)))

	// Run the hourly job now.
	browsertest.Do(t, b, "open the jobs", chromedp.Navigate(base+"/admin/#/cron"))
	browsertest.Click(t, b, `tr[data-id="report"] button[data-action="run"]`)
	select {
	case <-ran:
	case <-time.After(20 * time.Second):
		t.Fatal("the job run from the page did not run")
	}
	browsertest.Do(t, b, "see the run", chromedp.WaitVisible(css(`tr[data-id="report"] .badge.ok`)))
	browsertest.Screenshot(t, b, "app-admin-cron")

	// Restart the worker process from the page: a new PID answers.
	before := callInt(t, s, "worker.pid")
	restart := `tr[data-id="worker"] button[data-action="restart"]`
	browsertest.Do(t, b, "open the processes", chromedp.Navigate(base+"/admin/#/processes"), chromedp.WaitVisible(css(restart)))
	if got := browsertest.Text(t, b, `tr[data-id="worker"]`); !strings.Contains(got, fmt.Sprint(before)) {
		t.Fatalf("the worker's row %q lacks its PID %d", got, before)
	}
	browsertest.Screenshot(t, b, "app-admin-processes")
	browsertest.Click(t, b, restart) // arms it
	browsertest.Click(t, b, restart)
	waitFor(t, func() bool {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		r, err := s.Call(c, "worker.pid", nil, nil, nil)
		if err != nil {
			return false // restarting: not registered for a moment
		}
		pid, err := r.ArgInt(0)
		return err == nil && pid != int64(before)
	})
	// The page redraws the view every second.
	waitFor(t, func() bool {
		got := browsertest.Text(t, b, `tr[data-id="worker"]`)
		return strings.Contains(got, "running") && !strings.Contains(got, fmt.Sprint(before))
	})
}

// TestAdminPasswordMadeForTheRun: --admin alone logs a password made for
// the run, which logs in; a wrong one does not.
func TestAdminPasswordMadeForTheRun(t *testing.T) {
	logs := &syncBuffer{}
	app := New("adm", WithSettings(func(s *Settings) { s.Listen, s.Admin = "127.0.0.1:0", true }))
	app.logOutput = logs
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	m := regexp.MustCompile(`web admin: .*url=(\S+) password=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no admin password logged:\n%s", logs)
	}
	base := "http://" + app.Addr().String()
	if m[1] != base+"/admin/" {
		t.Errorf("admin url %s, want %s/admin/", m[1], base)
	}
	login := func(password string) int {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(base+"/admin/login", url.Values{"username": {"admin"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := login(m[2]); code != http.StatusSeeOther {
		t.Fatalf("login with the logged password: %d", code)
	}
	if code := login("guess"); code != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password: %d", code)
	}
	// The app's own routes are untouched; /admin/ is the admin's.
	resp, err := http.Get(base + "/admin/api/me")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/admin/api/me without a login: %d", resp.StatusCode)
	}
}

func TestAdminNeedsTheEmbeddedRouter(t *testing.T) {
	app := New("adm", WithSettings(func(s *Settings) {
		s.Listen, s.Admin, s.Connect = "127.0.0.1:0", true, "ws://127.0.0.72:1/ws"
	}))
	app.logOutput = io.Discard
	// Refused before anything starts: no attempt to reach the router.
	err := app.Start(context.Background())
	defer app.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exclude --connect") {
		t.Fatalf("Start with --admin and --connect: %v", err)
	}
}

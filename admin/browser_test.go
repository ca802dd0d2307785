package admin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/browsertest"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// TestAdminInChromium logs in to the admin of a router in a real headless
// Chromium, sees an outside client's session, subscription and
// registration appear, calls the procedure from the console, kills the
// session from the page, and saves a screenshot of each view.
func TestAdminInChromium(t *testing.T) {
	logs := NewLogBuffer(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}), 500)
	log := slog.New(logs)
	srv := newAdminServer(t, router.Config{Logger: log, Realms: []string{"realm1", "com.example.second"}}, Sources{Logs: logs})

	b := browsertest.New(t, 20*time.Second)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	// The index sends to the login page; a wrong password is refused
	// there.
	browsertest.Do(t, b, "open the admin", chromedp.Navigate(srv.url+"/admin/"), chromedp.WaitVisible(css("#username")))
	browsertest.Screenshot(t, b, "admin-login")
	browsertest.Do(t, b, "log in with a wrong password",
		chromedp.SendKeys(css("#username"), "admin"), chromedp.SendKeys(css("#password"), "not the password"),
		chromedp.Click(css("#submit")), chromedp.WaitVisible(css("p.error")))
	if msg := browsertest.Text(t, b, "p.error"); !strings.Contains(msg, "Wrong user name or password") {
		t.Fatalf("after a wrong password the page says %q", msg)
	}
	browsertest.Screenshot(t, b, "admin-login-refused")
	browsertest.Do(t, b, "log in",
		chromedp.SendKeys(css("#username"), "admin"), chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Click(css("#submit")), chromedp.WaitVisible(css(`body[data-ready="true"]`)),
		chromedp.WaitVisible(css(`[data-card="Sessions"]`)))

	// An outside client: its session appears within 5 s, as do its
	// subscription and registration.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	outside, err := client.Dial(ctx, "ws"+strings.TrimPrefix(srv.url, "http")+"/ws", client.Config{Realm: "realm1", AuthID: "outside-client"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outside.Subscribe(ctx, "com.example.news", func(context.Context, *client.Event) {}, nil); err != nil {
		t.Fatal(err)
	}
	add := func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, err1 := inv.ArgInt(0)
		b, err2 := inv.ArgInt(1)
		if err1 != nil || err2 != nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, "two integers please")
		}
		return &client.Result{Values: client.Values{Args: wamp.List{a + b}}}, nil
	}
	if _, err := outside.Register(ctx, "com.example.add", add, nil); err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf(`tr[data-id="%d"]`, outside.ID())
	browsertest.Screenshot(t, b, "admin-overview")
	fast, cancelFast := context.WithTimeout(b, 5*time.Second)
	start := time.Now()
	err = chromedp.Do(fast, chromedp.Navigate(srv.url+"/admin/#/sessions"), chromedp.WaitVisible(css(row)))
	cancelFast()
	if err != nil {
		t.Fatalf("the outside session %d did not appear within 5 s: %v", outside.ID(), err)
	}
	t.Logf("outside session shown %v after the page was opened", time.Since(start).Round(time.Millisecond))
	if got := browsertest.Text(t, b, row); !strings.Contains(got, "outside-client") || !strings.Contains(got, "websocket / json") {
		t.Fatalf("the session row says %q", got)
	}
	browsertest.Screenshot(t, b, "admin-sessions")
	browsertest.Do(t, b, "open the subscriptions", chromedp.Navigate(srv.url+"/admin/#/subscriptions"),
		chromedp.WaitVisible(css(`tr[data-id] code`)))
	if got := browsertest.Text(t, b, "table"); !strings.Contains(got, "com.example.news") || !strings.Contains(got, "outside-client") {
		t.Fatalf("the subscriptions say %q", got)
	}
	browsertest.Screenshot(t, b, "admin-subscriptions")
	browsertest.Do(t, b, "open the registrations", chromedp.Navigate(srv.url+"/admin/#/registrations"),
		chromedp.WaitVisible(css(`tr[data-id] code`)))
	if got := browsertest.Text(t, b, "table"); !strings.Contains(got, "com.example.add") || !strings.Contains(got, "single") {
		t.Fatalf("the registrations say %q", got)
	}
	browsertest.Screenshot(t, b, "admin-registrations")

	// The console calls the procedure, and shows a WAMP error as such.
	browsertest.Do(t, b, "call from the console", chromedp.Navigate(srv.url+"/admin/#/console"),
		chromedp.WaitVisible(css("#console-uri")),
		chromedp.SendKeys(css("#console-uri"), "com.example.add"), chromedp.SendKeys(css("#console-args"), "[2, 3]"),
		chromedp.Click(css("#console-send")), chromedp.WaitVisible(css("#console-out.ok")))
	if got := browsertest.Text(t, b, "#console-out"); !strings.Contains(got, `"args": [`) || !strings.Contains(got, "5") {
		t.Fatalf("the console shows %q, want the result 5", got)
	}
	browsertest.Screenshot(t, b, "admin-console")
	browsertest.Do(t, b, "call with bad arguments",
		chromedp.SetValue(css("#console-args"), `["x"]`), chromedp.Click(css("#console-send")), chromedp.WaitVisible(css("#console-out.error")))
	if got := browsertest.Text(t, b, "#console-out"); !strings.Contains(got, "wamp.error.invalid_argument") {
		t.Fatalf("the console shows %q, want wamp.error.invalid_argument", got)
	}

	// The log tail has the login.
	browsertest.Do(t, b, "open the logs", chromedp.Navigate(srv.url+"/admin/#/logs"), chromedp.WaitVisible(css("#logbox .line")))
	if got := browsertest.Text(t, b, "#logbox"); !strings.Contains(got, "admin: logged in") {
		t.Fatalf("the log tail shows %q", got)
	}
	browsertest.Screenshot(t, b, "admin-logs")

	// Kill from the page (two clicks: the first arms the button).
	kill := row + ` button[data-action="kill"]`
	browsertest.Do(t, b, "open the sessions", chromedp.Navigate(srv.url+"/admin/#/sessions"), chromedp.WaitVisible(css(kill)))
	browsertest.Click(t, b, kill) // arms it
	browsertest.Click(t, b, kill)
	select {
	case <-outside.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the session killed from the page is still open")
	}
	browsertest.Do(t, b, "see the session gone", chromedp.WaitNotPresent(css(row)))

	// Dark theme.
	browsertest.Do(t, b, "switch to dark", chromedp.Navigate(srv.url+"/admin/#/overview"), chromedp.WaitVisible(css(`[data-card="Sessions"]`)),
		chromedp.Click(css("#theme")), chromedp.WaitVisible(css(`html[data-theme="dark"]`)))
	browsertest.Screenshot(t, b, "admin-overview-dark")
}

// TestAdminWithManySessions: with 10,000 sessions and 1,000
// registrations, the sessions and registrations views draw in the
// browser, and sort, in the times logged (reported in the README, not
// asserted: tests do not judge speed).
func TestAdminWithManySessions(t *testing.T) {
	const sessions, registrations = 10000, 1000
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := newAdminServer(t, router.Config{Logger: quiet, Limits: router.Limits{MaxSessionsPerRealm: 2 * sessions}}, Sources{})
	rt := srv.rt

	// Sessions joined in process, by hand: HELLO, WELCOME, then idle.
	start := time.Now()
	for range sessions {
		p, err := rt.LocalPeer()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		if err := p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"callee": wamp.Dict{}}}}); err != nil {
			t.Fatal(err)
		}
		if m, err := p.Read(); err != nil || m.Type() != wamp.TypeWelcome {
			t.Fatalf("HELLO: %v %v", m, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	peer, err := rt.LocalPeer()
	if err != nil {
		t.Fatal(err)
	}
	callee, err := client.Join(ctx, peer, client.Config{Realm: "realm1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context, *client.Invocation) (*client.Result, error) { return &client.Result{}, nil }
	for i := range registrations {
		if _, err := callee.Register(ctx, wamp.URI(fmt.Sprintf("com.example.proc%04d", i)), noop, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d sessions and %d registrations made in %v", sessions+1, registrations, time.Since(start).Round(time.Millisecond))

	b := browsertest.New(t, 60*time.Second)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	browsertest.Do(t, b, "log in", chromedp.Navigate(srv.url+"/admin/"), chromedp.WaitVisible(css("#username")),
		chromedp.SendKeys(css("#username"), "admin"), chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Click(css("#submit")), chromedp.WaitVisible(css(`body[data-ready="true"]`)))
	timed := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		start := time.Now()
		browsertest.Do(t, b, what, actions...)
		t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond))
	}
	timed("sessions view drawn (10,001 sessions, page of 50)", chromedp.Navigate(srv.url+"/admin/#/sessions"),
		chromedp.WaitVisible(css(`tbody tr:nth-child(50)`)))
	if got := browsertest.Text(t, b, ".toolbar .muted"); got != "10,001 rows" {
		t.Fatalf("the sessions view counts %q, want 10,001 rows", got)
	}
	first := browsertest.Text(t, b, "tbody tr:first-child")
	timed("sessions sorted by ID, descending", chromedp.Click(css(`th[data-key="id"]`)), chromedp.Click(css(`th[data-key="id"]`)),
		chromedp.WaitVisible(css(`th[data-key="id"] .arrow`)))
	waitUntil(t, func() bool { return browsertest.Text(t, b, "tbody tr:first-child") != first })
	browsertest.Screenshot(t, b, "admin-10k-sessions")
	timed("registrations view drawn (1,000, page of 50)", chromedp.Navigate(srv.url+"/admin/#/registrations"),
		chromedp.WaitVisible(css(`tbody tr:nth-child(50)`)))
	if got := browsertest.Text(t, b, ".toolbar .muted"); got != "1,000 rows" {
		t.Fatalf("the registrations view counts %q, want 1,000 rows", got)
	}
	timed("registrations filtered", chromedp.SendKeys(css("input.filter"), "proc099"), chromedp.WaitNotPresent(css(`tbody tr:nth-child(11)`)))
	if got := browsertest.Text(t, b, ".toolbar .muted"); got != "10 rows" {
		t.Fatalf("filtered registrations: %q, want 10 rows", got)
	}
}

// waitUntil polls cond until it holds, or fails the test after 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 10 s")
		}
	}
}

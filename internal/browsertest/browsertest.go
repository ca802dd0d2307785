// Package browsertest drives a real headless Chromium for the tests of
// web pages (chromedp): the web admin's. A test that needs Chromium fails
// under CI=true when it is missing (.ci/run installs Debian's chromium)
// and is skipped elsewhere.
package browsertest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of the Chromium binary, failing or skipping
// the test when there is none.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("JUNCTION_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: apt-get install chromium (.ci/run does)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); CI runs this test")
	return ""
}

// New starts a headless Chromium and returns a context of one tab of it,
// ended with the test. Each action run with it is bounded by timeout.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1360, 860),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		// chromedp reports CDP events it does not know; they are not
		// the test's failures.
		t.Logf("chromedp: "+format, args...)
	}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, so that a failure to start is reported as
	// such.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return withTimeout{ctx, timeout}
}

type withTimeout struct {
	context.Context
	d time.Duration
}

// Do runs actions in the tab, failing the test with what was being done
// if they fail or take longer than the tab's timeout.
func Do(t testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	Get(t, ctx, what, chromedp.Steps(actions...))
}

// Get runs an action that returns a value, as Do does.
func Get[T any](t testing.TB, ctx context.Context, what string, action chromedp.Action[T]) T {
	t.Helper()
	d := 30 * time.Second
	if w, ok := ctx.(withTimeout); ok {
		d = w.d
	}
	c, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(c, action)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Dir is where screenshots go: $JUNCTION_ARTIFACTS, or
// junction-artifacts in the system's temporary directory.
func Dir() string {
	if d := os.Getenv("JUNCTION_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "junction-artifacts")
}

// Screenshot saves the whole page as Dir()/<name>.png and logs where.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png := Get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	dir := Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// Text returns the text of the first element sel (a CSS selector)
// matches, "" if none does. It reads the page in one evaluation, so a
// view that redraws itself (a live table) cannot pull the node away
// between finding it and reading it, as it can from chromedp.Text.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	q, err := json.Marshal(sel)
	if err != nil {
		t.Fatal(err)
	}
	return Get(t, ctx, "read "+sel, chromedp.Evaluate[string](`(document.querySelector(`+string(q)+`) || {innerText: ""}).innerText`))
}

// Click clicks the first element sel matches, waiting for one to be
// there (up to the tab's timeout). The element is found and clicked in
// one evaluation, so a live view redrawing itself cannot swap it out in
// between, as it can under chromedp.Click.
func Click(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	q, err := json.Marshal(sel)
	if err != nil {
		t.Fatal(err)
	}
	js := `(() => { const e = document.querySelector(` + string(q) + `); if (!e || e.disabled) return false; e.click(); return true; })()`
	d := 30 * time.Second
	if w, ok := ctx.(withTimeout); ok {
		d = w.d
	}
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if Get(t, ctx, "click "+sel, chromedp.Evaluate[bool](js)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("click %s: no such element after %v", sel, d)
		}
	}
}

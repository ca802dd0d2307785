package junction

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/internal/datadir"
)

// queueApp is an app with a queue: it needs its data dir.
func queueApp(t *testing.T, name string, opts ...Option) (*Application, *syncBuffer) {
	t.Helper()
	app, logs := newTestApp(t, name, opts...)
	app.Queue("jobs").Task("nop", func() error { return nil })
	return app, logs
}

// runMain runs the app's run command until ctx ends; it returns the exit
// code, stderr and how long it took.
func runMain(ctx context.Context, app *Application, args ...string) (int, string, time.Duration) {
	var out syncBuffer
	start := time.Now()
	code := app.Main(ctx, append([]string{"run", "--listen", "127.0.0.1:0"}, args...), &out, &out)
	return code, out.String(), time.Since(start)
}

// runUntilReady runs the app's run command and stops it once it is
// ready; it returns the exit code and stderr.
func runUntilReady(app *Application) (int, string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app.On(Ready, func(context.Context, ...any) error { cancel(); return nil })
	code, out, _ := runMain(ctx, app)
	return code, out
}

func TestUnusableDataDirFailsAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, "/proc/junction-test-data", filepath.Join(file, "sub")} {
		app, _ := queueApp(t, "shop")
		code, out, took := runMain(testCtx(t), app, "--data-dir", dir)
		if code != 1 || !strings.Contains(out, "data dir "+dir+" cannot be used") {
			t.Errorf("--data-dir %s: exit %d, %q", dir, code, out)
		}
		if took > 2*time.Second {
			t.Errorf("--data-dir %s: refused after %v", dir, took)
		}
		if strings.Contains(out, "NATS") {
			t.Errorf("--data-dir %s: the message blames NATS: %q", dir, out)
		}
	}
}

func TestSecondProcessOnADataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	first, _ := queueApp(t, "shop", WithSettings(func(s *Settings) { s.DataDir = dir }))
	startApp(t, first)

	second, _ := queueApp(t, "shop")
	code, out, took := runMain(testCtx(t), second, "--data-dir", dir)
	want := "data dir " + dir + " is in use by pid " + strconv.Itoa(os.Getpid()) + " ("
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, filepath.Join(dir, datadir.LockFile)) {
		t.Fatalf("exit %d, %q; want exit 1 and %q", code, out, want)
	}
	if took > 2*time.Second {
		t.Errorf("refused after %v", took)
	}
	// The refused app started nothing: its port is closed and the first
	// app still runs.
	if second.Addr() != nil {
		t.Errorf("the refused app listens on %v", second.Addr())
	}

	// The lock goes with the first app; then the directory is free.
	if err := first.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	third, _ := queueApp(t, "shop", WithSettings(func(s *Settings) { s.DataDir = dir }))
	startApp(t, third)
}

func TestDefaultDataDirIsAStateDirectory(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("STATE_DIRECTORY", "") // as under systemd without StateDirectory=
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(wd, "data"))
	hadData := err == nil
	app, logs := queueApp(t, "shop")
	code, out := runUntilReady(app)
	dir := filepath.Join(state, "shop")
	if code != 0 || !strings.Contains(logs.String(), "junction: data dir") || !strings.Contains(logs.String(), "dir="+dir) {
		t.Fatalf("exit %d %s; the start does not name the data dir %s:\n%s", code, out, dir, logs)
	}
	if _, err := os.Stat(filepath.Join(dir, "nats")); err != nil {
		t.Errorf("the store is not in the default data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(wd, "data")); err == nil && !hadData {
		t.Error("a ./data directory was created in the working directory")
	}
}

func TestAppWithoutStateCreatesNoDataDir(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("STATE_DIRECTORY", "") // as under systemd without StateDirectory=
	app, _ := newTestApp(t, "web")
	if code, out := runUntilReady(app); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if entries, err := os.ReadDir(state); err != nil || len(entries) != 0 {
		t.Errorf("an app that stores nothing made %v (%v)", entries, err)
	}
}

// TestStartInATestUsesAFreePortAndATempDataDir: an app started by a test
// with the default settings neither takes 8080 nor writes to the user's
// state directory, so tests run side by side.
func TestStartInATestUsesAFreePortAndATempDataDir(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	t.Setenv("STATE_DIRECTORY", "") // as under systemd without StateDirectory=
	var apps []*Application
	for range 2 {
		app := New("shop")
		app.Queue("jobs").Task("nop", func() error { return nil })
		startApp(t, app)
		apps = append(apps, app)
	}
	var dirs []string
	for _, app := range apps {
		if port := app.Addr().String(); strings.HasSuffix(port, ":8080") {
			t.Errorf("a test's app listens on %s", port)
		}
		d := app.dataPath()
		if !strings.HasPrefix(d, os.TempDir()) || strings.HasPrefix(d, state) {
			t.Errorf("a test's app stores in %q", d)
		}
		dirs = append(dirs, d)
	}
	if dirs[0] == dirs[1] {
		t.Fatalf("two apps share the data dir %s", dirs[0])
	}
	for i, app := range apps {
		if err := app.Shutdown(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dirs[i]); !os.IsNotExist(err) {
			t.Errorf("the temporary data dir %s outlives the app: %v", dirs[i], err)
		}
	}
	if entries, err := os.ReadDir(state); err != nil || len(entries) != 0 {
		t.Errorf("the state directory got %v (%v)", entries, err)
	}
}

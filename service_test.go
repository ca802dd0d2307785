package junction

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
)

// sh is a service that runs a shell script.
func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

func TestServicesStartInDependencyOrderAndStopLast(t *testing.T) {
	dir := t.TempDir()
	order := filepath.Join(dir, "order")
	app, logs := newTestApp(t, "svc")
	// web needs db: it checks db wrote its line before it says ready.
	app.Service("web", sh(fmt.Sprintf(`grep -q db %s || exit 7; echo web >> %s; echo web ready; exec sleep 1000`, order, order)),
		DependsOn("db"), ReadyWhen(LogLine("^web ready$")))
	app.Service("db", sh(fmt.Sprintf(`echo db >> %s; echo "db listening"; exec sleep 1000`, order)),
		ReadyWhen(LogLine("listening")), StopTimeout(5*time.Second))
	startApp(t, app)
	b, err := os.ReadFile(order)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "db\nweb\n" {
		t.Fatalf("start order %q", b)
	}
	list := app.ProcessList()
	if len(list) != 2 {
		t.Fatalf("ProcessList %+v", list)
	}
	pids := map[string]int{}
	for _, p := range list {
		if p.Kind != "service" || p.State != "running" || !alive(p.PID) {
			t.Errorf("service %+v", p)
		}
		pids[p.Name] = p.PID
	}
	db, _ := findProcess(list, "db")
	if !strings.Contains(strings.Join(db.Lines, "\n"), "db listening") {
		t.Errorf("db's lines %q", db.Lines)
	}
	if !strings.Contains(logs.String(), "db listening") {
		t.Errorf("db's output not logged:\n%s", logs)
	}

	// Restart over WAMP.
	s := dial(t, wsURL(app))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := s.Call(ctx, "junction.process.restart", wamp.List{"db"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	after, _ := findProcess(app.ProcessList(), "db")
	if after.PID == pids["db"] || after.Restarts != 1 || alive(pids["db"]) {
		t.Errorf("after restart %+v (was %d)", after, pids["db"])
	}
	pids["db"] = after.PID

	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := app.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("service %s (pid %d) still runs after Shutdown", name, pid)
		}
	}
}

func TestAServiceThatNeverGetsReadyFailsStart(t *testing.T) {
	app, _ := newTestApp(t, "svc")
	app.Service("slow", sh("echo starting; exec sleep 1000"), ReadyWhen(TCP("127.0.0.1:1")), ReadyTimeout(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := app.Start(ctx)
	if err == nil {
		app.Shutdown(ctx)
		t.Fatal("started")
	}
	for _, want := range []string{"slow", "not ready", "127.0.0.1:1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestServiceRunsAsItsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		app, _ := newTestApp(t, "svc")
		app.Service("id", []string{"/usr/bin/id", "-u"}, User("nobody"))
		err := app.Start(context.Background())
		if err == nil {
			app.Shutdown(context.Background())
			t.Fatal("started as another user without root")
		}
		if !strings.Contains(err.Error(), "root") {
			t.Errorf("error %q does not say root is needed", err)
		}
		return
	}
	const name = "junction-svc-test"
	if out, err := exec.Command("useradd", "--system", "--no-create-home", name).CombinedOutput(); err != nil && !strings.Contains(string(out), "exists") {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := osuser.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := newTestApp(t, "svc")
	app.Service("id", sh(`echo "uid=$(id -u)"; exec sleep 1000`), User(name), ReadyWhen(LogLine("^uid=")))
	startApp(t, app)
	info, _ := findProcess(app.ProcessList(), "id")
	if !strings.Contains(strings.Join(info.Lines, "\n"), "uid="+u.Uid) {
		t.Errorf("the service's output %q, want uid=%s", info.Lines, u.Uid)
	}
}

// TestBadDeclarationsStopStartBeforeAnythingRuns: each mistake is named,
// and nothing was started (no service ran, no port is held).
func TestBadDeclarationsStopStartBeforeAnythingRuns(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	ok := func(app *Application) {
		app.Service("ok", sh("touch "+marker+"; exec sleep 1000"))
	}
	for _, c := range []struct {
		name    string
		declare func(app *Application)
		want    []string
	}{
		{"selector selecting nothing", func(app *Application) {
			app.Register("auth.signin", func() {})
			app.Processes(map[string][]string{"auth": {"register:auth.signout"}})
		}, []string{"auth", `"register:auth.signout"`, "selects nothing", "auth.signin"}},
		{"two processes claiming one registration", func(app *Application) {
			app.Register("auth.signin", func() {})
			app.Processes(map[string][]string{"a": {"register:auth.signin"}, "b": {"register:auth.*"}})
		}, []string{"register auth.signin", "process a", "process b"}},
		{"bad selector kind", func(app *Application) {
			app.Processes(map[string][]string{"a": {"publish:x"}})
		}, []string{`"publish:x"`, "unknown kind"}},
		{"service binary that does not exist", func(app *Application) {
			app.Service("cache", []string{"/usr/bin/no-such-redis", "--port", "6390"})
		}, []string{"cache", "/usr/bin/no-such-redis"}},
		{"user that does not exist", func(app *Application) {
			app.Service("cache", []string{"/bin/sleep", "1000"}, User("no-such-user-xyz"))
		}, []string{"cache", "no-such-user-xyz"}},
		{"dependency that does not exist", func(app *Application) {
			app.Service("web", []string{"/bin/sleep", "1000"}, DependsOn("db"))
		}, []string{"web", `"db"`}},
		{"dependency cycle", func(app *Application) {
			app.Service("a", []string{"/bin/sleep", "1000"}, DependsOn("b"))
			app.Service("b", []string{"/bin/sleep", "1000"}, DependsOn("a"))
		}, []string{"cycle", "a → b → a"}},
		{"bad process name", func(app *Application) {
			app.Process("Auth Service")
		}, []string{`"Auth Service"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			app, _ := newTestApp(t, "bad")
			ok(app)
			c.declare(app)
			err := app.Start(context.Background())
			if err == nil {
				app.Shutdown(context.Background())
				t.Fatal("started")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if app.Addr() != nil {
				t.Error("HTTP listened")
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("a service ran")
			}
		})
	}
}

func TestProcessesNeedMain(t *testing.T) {
	app, _ := newTestApp(t, "p")
	app.Process("auth").Register("auth.x", func() {})
	err := app.Start(context.Background())
	if err == nil {
		app.Shutdown(context.Background())
		t.Fatal("started processes without Main")
	}
	if !strings.Contains(err.Error(), "Run or Main") {
		t.Errorf("error %q", err)
	}
}

// TestChildEnvironmentMistakes: a program started by hand with a child's
// variables, or naming a process the app lacks, says so and exits.
func TestChildEnvironmentMistakes(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"JUNCTION_PROCESS": "auth/1"}, "not by hand"},
		{map[string]string{"JUNCTION_PROCESS": "auth"}, "NAME/INDEX"},
		{map[string]string{"JUNCTION_PROCESS": "nope/1", "JUNCTION_PROCESS_ROUTER": "/nonexistent.sock",
			"JUNCTION_PROCESS_TICKET": "x"}, `process "nope", which this app does not declare`},
	} {
		app := New("p")
		app.Process("auth").Register("auth.x", func() {})
		var stderr strings.Builder
		code := app.main(context.Background(), []string{"run", "--listen", ""}, io.Discard, &stderr,
			func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
		if code == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("env %v: exit %d, stderr %q, want it to say %q", c.env, code, stderr.String(), c.want)
		}
	}
}

package junction

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// The process tests run real OS processes: the test binary is the app's
// program. Run with JUNCTION_TEST_APP=NAME, it runs the app testApps[NAME]
// builds through Main, as a program's main does with Run; the children
// the app starts are the test binary again, with the same variable.
func TestMain(m *testing.M) {
	if name := os.Getenv("JUNCTION_TEST_RUN"); name != "" {
		// The app's whole program, Run included (TestProgramsKeepAHeapFloor).
		testApps[name]().Run()
	}
	if name := os.Getenv("JUNCTION_TEST_APP"); name != "" {
		build, ok := testApps[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "no test app %q\n", name)
			os.Exit(2)
		}
		ctx, stop := signalContext()
		code := build().Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// testApps are the programs the process tests run.
var testApps = map[string]func() *Application{
	"procs": procsApp,
	"plain": plainApp,
}

// plainApp serves "hi" at /: an app with nothing but its Run to show.
func plainApp() *Application {
	app := New("plain")
	app.HTTP.Get("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
	return app
}

// procsApp is the seed's three-part app: HTTP and the router in the main
// process, auth.signin in process "auth", auth.signedin handled in
// process "audit" (moved there by selector), two "hash" workers, a queue
// whose workers run in "jobs", and "crashy", which crash-loops once
// asked to.
func procsApp() *Application {
	app := New("procs")
	var cfg struct {
		Marker string `help:"crashy crash-loops once this file exists"`
	}
	app.AddSettings(&cfg)
	pid := func() int { return os.Getpid() }
	app.HTTP.Get("/pid", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getpid()) })
	app.Register("main.pid", pid)

	auth := app.Process("auth")
	auth.Register("auth.signin", func(ctx context.Context, user string) (int, error) {
		return os.Getpid(), AppFrom(ctx).Publish(ctx, "auth.signedin", user, os.Getpid())
	})
	auth.Register("auth.pid", pid)

	var mu sync.Mutex
	var seen []string
	app.Subscribe("auth.signedin", func(user string, from int) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, fmt.Sprintf("%s from %d in %d", user, from, os.Getpid()))
	})
	app.Register("audit.seen", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	})
	app.Processes(map[string][]string{"audit": {"subscribe:auth.signedin", "register:audit.*"}})

	app.Workers("hash", 2).Register("hash.pid", pid)

	q := app.Process("jobs").Queue("work")
	q.Task("pid", func(ctx context.Context) (int, error) { return os.Getpid(), nil })
	app.Register("work.run", func(ctx context.Context) (int, error) {
		id, err := q.Enqueue(ctx, "pid", nil)
		if err != nil {
			return 0, err
		}
		r, err := q.Result(ctx, id)
		if err != nil {
			return 0, err
		}
		return decodeAs[int](r.Value, "the task's result")
	})

	crashy := app.Process("crashy").Restart(RestartPolicy{MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxRestarts: 2})
	crashy.Register("crashy.arm", func() error {
		if err := os.WriteFile(cfg.Marker, nil, 0o600); err != nil {
			return err
		}
		go func() { time.Sleep(50 * time.Millisecond); os.Exit(3) }() // after the answer
		return nil
	})
	crashy.On(Ready, func(context.Context, ...any) error {
		if _, err := os.Stat(cfg.Marker); err == nil {
			os.Exit(3)
		}
		return nil
	})
	return app
}

// program is a test app run as an OS process.
type program struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs *syncBuffer
	addr string
	done chan struct{}
	err  error // the wait's, once done is closed
}

// startProgram runs test app name with args after "run", and waits until
// it is ready.
func startProgram(t *testing.T, name string, args ...string) *program {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"run", "--listen", "127.0.0.1:0", "--log-format", "json", "--data-dir", t.TempDir(),
		"--shutdown-timeout", "5s"}, args...)
	p := &program{t: t, cmd: exec.Command(exe, args...), logs: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "JUNCTION_TEST_APP="+name)
	p.cmd.Stdout = io.Discard
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			var rec struct{ Msg, HTTP string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "junction: app ready" {
				ready <- strings.TrimSuffix(strings.TrimPrefix(rec.HTTP, "http://"), "/")
			}
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, p.logs)
		}
	})
	select {
	case p.addr = <-ready:
	case <-p.done:
		t.Fatalf("%s exited before it was ready: %v\n%s", name, p.err, p.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not ready after 60s:\n%s", name, p.logs)
	}
	return p
}

// session joins the program's router.
func (p *program) session() *client.Session {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "ws://"+p.addr+"/ws", client.Config{Realm: "realm1"})
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func callInt(t *testing.T, s *client.Session, proc string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := s.Call(ctx, wamp.URI(proc), args, nil, nil)
	if err != nil {
		t.Fatalf("call %s: %v", proc, err)
	}
	n, err := Arg[int](&res.Values, 0)
	if err != nil {
		t.Fatalf("call %s: %v", proc, err)
	}
	return n
}

// processList calls junction.process.list.
func processList(t *testing.T, s *client.Session) []ProcessInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Call(ctx, "junction.process.list", nil, nil, nil)
	if err != nil {
		t.Fatalf("junction.process.list: %v", err)
	}
	list, err := Arg[[]ProcessInfo](&res.Values, 0)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func findProcess(list []ProcessInfo, name string) (ProcessInfo, bool) {
	for _, p := range list {
		if p.Name == name {
			return p, true
		}
	}
	return ProcessInfo{}, false
}

// alive reports whether a process with pid exists (a zombie counts as
// gone: it runs nothing).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// children returns the PIDs whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscan(e.Name(), &n); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		var state string
		var ppid int
		if _, err := fmt.Sscan(s[i+2:], &state, &ppid); err == nil && ppid == pid && state != "Z" {
			out = append(out, n)
		}
	}
	return out
}

func TestProcessesRunInChildProcesses(t *testing.T) {
	p := startProgram(t, "procs", "--marker", filepath.Join(t.TempDir(), "armed"))
	s := p.session()
	parent := p.cmd.Process.Pid
	if got := callInt(t, s, "main.pid"); got != parent {
		t.Fatalf("main.pid = %d, want the main process %d", got, parent)
	}
	list := processList(t, s)
	var names []string
	for _, info := range list {
		names = append(names, info.Name)
		if info.State != "running" || info.PID == 0 || info.PID == parent || info.Kind != "process" {
			t.Errorf("process %+v", info)
		}
	}
	slices.Sort(names)
	if want := []string{"audit", "auth", "crashy", "hash#1", "hash#2", "jobs"}; !slices.Equal(names, want) {
		t.Fatalf("processes %v, want %v", names, want)
	}
	kids := children(t, parent)
	for _, info := range list {
		if !slices.Contains(kids, info.PID) {
			t.Errorf("process %s (pid %d) is not a child of the main process %d (children %v)", info.Name, info.PID, parent, kids)
		}
	}

	auth, _ := findProcess(list, "auth")
	if got := callInt(t, s, "auth.signin", "ada"); got != auth.PID {
		t.Errorf("auth.signin ran in %d, want process auth %d", got, auth.PID)
	}
	audit, _ := findProcess(list, "audit")
	want := fmt.Sprintf("ada from %d in %d", auth.PID, audit.PID)
	waitFor(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := s.Call(ctx, "audit.seen", nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := Arg[[]string](&res.Values, 0)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(seen, want)
	})

	// The two hash workers share hash.pid round-robin.
	h1, _ := findProcess(list, "hash#1")
	h2, _ := findProcess(list, "hash#2")
	got := map[int]bool{}
	for range 4 {
		got[callInt(t, s, "hash.pid")] = true
	}
	if !got[h1.PID] || !got[h2.PID] || len(got) != 2 {
		t.Errorf("hash.pid answered from %v, want both workers %d and %d", got, h1.PID, h2.PID)
	}

	// The queue's workers run in process jobs, through the main
	// process's NATS server.
	jobs, _ := findProcess(list, "jobs")
	if got := callInt(t, s, "work.run"); got != jobs.PID {
		t.Errorf("the task ran in %d, want process jobs %d", got, jobs.PID)
	}

	// HTTP is the main process's.
	resp, err := http.Get("http://" + p.addr + "/pid")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != fmt.Sprint(parent) {
		t.Errorf("GET /pid = %s, want %d", body, parent)
	}

	// Shutdown stops every child.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not stop")
	}
	if p.err != nil {
		t.Errorf("exit: %v", p.err)
	}
	for _, info := range list {
		if alive(info.PID) {
			t.Errorf("process %s (pid %d) still runs after the app stopped", info.Name, info.PID)
		}
	}
}

func TestAKilledProcessIsRestarted(t *testing.T) {
	p := startProgram(t, "procs", "--marker", filepath.Join(t.TempDir(), "armed"))
	s := p.session()
	starts := make(chan wamp.Dict, 16)
	ctx := context.Background()
	_, err := s.Subscribe(ctx, "junction.process.on_start", func(_ context.Context, e *client.Event) {
		starts <- e.Kwargs
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := findProcess(processList(t, s), "auth")
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		var d wamp.Dict
		select {
		case d = <-starts:
		case <-deadline:
			t.Fatal("no on_start for auth within 10s of its SIGKILL")
		}
		if d["name"] == "auth" {
			break
		}
	}
	after, _ := findProcess(processList(t, s), "auth")
	if after.PID == before.PID || after.Restarts != 1 || after.LastExit == "" {
		t.Fatalf("after SIGKILL: %+v (before: pid %d)", after, before.PID)
	}
	if got := callInt(t, s, "auth.signin", "bob"); got != after.PID {
		t.Errorf("auth.signin ran in %d, want the new process %d", got, after.PID)
	}

	// junction.process.restart restarts one on demand.
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := s.Call(rctx, "junction.process.restart", wamp.List{"auth"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	again, _ := findProcess(processList(t, s), "auth")
	if again.PID == after.PID || alive(after.PID) {
		t.Errorf("after junction.process.restart: %+v (before: pid %d, alive %v)", again, after.PID, alive(after.PID))
	}
	_, err = s.Call(rctx, "junction.process.restart", wamp.List{"nope"}, nil, nil)
	var we *wamp.Error
	if !errors.As(err, &we) || we.URI != "junction.error.no_such_process" || !strings.Contains(err.Error(), "auth") {
		t.Errorf("restart of an unknown process: %v", err)
	}
}

func TestACrashLoopingProcessIsGivenUp(t *testing.T) {
	p := startProgram(t, "procs", "--marker", filepath.Join(t.TempDir(), "armed"))
	s := p.session()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := s.Call(ctx, "crashy.arm", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	var info ProcessInfo
	waitFor(t, func() bool {
		info, _ = findProcess(processList(t, s), "crashy")
		return info.State == "failed"
	})
	if info.Restarts < 2 || !strings.Contains(info.LastExit, "3") {
		t.Errorf("given up: %+v", info)
	}
	if !strings.Contains(p.logs.String(), "crashy") {
		t.Errorf("the logs do not name crashy")
	}
	// The others go on.
	if got := callInt(t, s, "auth.pid"); got == 0 {
		t.Error("auth.pid")
	}
}

package supervise

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fast is a restart policy for tests: restarts at once.
var fast = Policy{MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func TestKilledRunIsRestarted(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "sleep")
	spec.Restart = fast
	ev := watch(&spec)
	p := start(t, spec)
	first := ev.start(t)
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := ev.exit(t); e.PID != first || e.Signal != "killed" || e.Code != -1 {
		t.Errorf("exit %+v, want pid %d killed", e, first)
	}
	second := ev.start(t)
	if second == first {
		t.Errorf("restarted with the same pid %d", first)
	}
	st := p.Status()
	if st.PID != second || st.Restarts != 1 || st.LastExit == nil || st.LastExit.Signal != "killed" {
		t.Errorf("status %+v", st)
	}
}

func TestRestartPolicies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		when    string
		code    int
		restart bool
		state   State // when not restarted
	}{
		{Always, 0, true, ""},
		{Always, 1, true, ""},
		{OnFailure, 0, false, Stopped},
		{OnFailure, 1, true, ""},
		{Never, 0, false, Stopped},
		{Never, 1, false, Failed},
	} {
		t.Run(tc.when+"/"+strconv.Itoa(tc.code), func(t *testing.T) {
			t.Parallel()
			spec := childSpec(t, "exit:"+strconv.Itoa(tc.code))
			spec.Restart = fast
			spec.Restart.When = tc.when
			spec.Restart.MaxRestarts = -1
			ev := watch(&spec)
			p := start(t, spec)
			ev.start(t)
			if e := ev.exit(t); e.Code != tc.code || (e.Err == nil) != (tc.code == 0) {
				t.Fatalf("exit %+v, want code %d", e, tc.code)
			}
			if tc.restart {
				ev.start(t)
				return
			}
			waitDone(t, p)
			if st := p.Status(); st.State != tc.state || st.Restarts != 0 {
				t.Errorf("status %+v, want %s and no restart", st, tc.state)
			}
		})
	}
}

func TestCrashLoopFails(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	spec := childSpec(t, "err:boom", "exit:2")
	spec.Logger = slog.New(logs)
	spec.Restart = fast
	spec.Restart.MaxRestarts = 2
	ev := watch(&spec)
	p := start(t, spec)
	waitDone(t, p)
	st := p.Status()
	if st.State != Failed || st.Restarts != 2 || st.LastExit == nil || st.LastExit.Code != 2 {
		t.Errorf("status %+v, want failed after 2 restarts", st)
	}
	if len(ev.exits) != 3 {
		t.Errorf("%d OnExit calls, want 3", len(ev.exits))
	}
	r, ok := logs.find("crash loop")
	if !ok || r.Level != slog.LevelError || !strings.Contains(r.Message, "exit status 2") {
		t.Errorf("crash loop log %v %q, want Error naming the last exit", r.Level, r.Message)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Signal on a failed process = %v", err)
	}
}

// A program that can no longer be executed counts toward the crash loop.
func TestDeletedBinaryBacksOffAndFails(t *testing.T) {
	t.Parallel()
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	path := tempFile(t, "sh")
	if err := os.WriteFile(path, sh, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := Spec{Path: path, Args: []string{"-c", "exec sleep 1000"}, Restart: fast, Logger: childSpec(t).Logger}
	spec.Restart.MaxRestarts = 2
	ev := watch(&spec)
	p := start(t, spec)
	ev.start(t)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if e := ev.exit(t); e.Signal != "killed" {
		t.Fatalf("exit %+v, want killed", e)
	}
	for range 2 {
		if e := ev.exit(t); e.PID != 0 || !errors.Is(e.Err, fs.ErrNotExist) {
			t.Fatalf("exit %+v, want a failed start", e)
		}
	}
	waitDone(t, p)
	if st := p.Status(); st.State != Failed {
		t.Errorf("state %s, want failed", st.State)
	}
}

func TestStopHonorsSIGTERM(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "graceful", "out:waiting", "sleep")
	spec.Ready = LogLine(regexp.MustCompile("waiting"))
	spec.StopTimeout = time.Minute
	ev := watch(&spec)
	p := start(t, spec)
	ev.start(t)
	stop(t, p)
	waitDone(t, p)
	e := ev.exit(t)
	if e.Code != 0 || e.Signal != "" {
		t.Errorf("exit %+v, want a clean exit on SIGTERM", e)
	}
	st := p.Status()
	if st.State != Stopped || st.PID != 0 || st.Lines[len(st.Lines)-1] != "bye" {
		t.Errorf("status %+v", st)
	}
	stop(t, p) // idempotent
	if err := p.Restart(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("Restart after Stop = %v", err)
	}
	if len(ev.starts) != 0 {
		t.Errorf("restarted after Stop")
	}
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "ignore-term", "out:ignoring", "sleep")
	spec.Ready = LogLine(regexp.MustCompile("ignoring"))
	spec.StopTimeout = 200 * time.Millisecond
	ev := watch(&spec)
	p := start(t, spec)
	begin := time.Now()
	stop(t, p)
	if d := time.Since(begin); d < spec.StopTimeout {
		t.Errorf("stopped after %v, before StopTimeout", d)
	}
	if e := ev.exit(t); e.Signal != "killed" {
		t.Errorf("exit %+v, want killed", e)
	}
}

func TestStopContextKills(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "ignore-term", "out:ignoring", "sleep")
	spec.Ready = LogLine(regexp.MustCompile("ignoring"))
	spec.StopTimeout = time.Minute
	ev := watch(&spec)
	p := start(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want DeadlineExceeded", err)
	}
	if e := ev.exit(t); e.Signal != "killed" {
		t.Errorf("exit %+v, want killed", e)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Errorf("second Stop = %v", err)
	}
}

// Stop signals the whole process group: a shell's background job dies too.
func TestStopKillsProcessGroup(t *testing.T) {
	t.Parallel()
	file := tempFile(t, "pid")
	spec := Spec{
		Path: "/bin/sh", Logger: childSpec(t).Logger,
		Args:  []string{"-c", `sleep 1000 & echo $! > "$1.tmp"; mv "$1.tmp" "$1"; echo started; wait`, "sh", file},
		Ready: LogLine(regexp.MustCompile("started")),
	}
	p := start(t, spec)
	bg, _ := strconv.Atoi(strings.TrimSpace(readFile(t, file)))
	if gone(bg) {
		t.Fatalf("background pid %d already gone", bg)
	}
	stop(t, p)
	waitGone(t, bg)
}

// When a run ends by itself, what is left of its group is killed.
func TestRunEndKillsLeftovers(t *testing.T) {
	t.Parallel()
	spec := Spec{
		Path: "/bin/sh", Logger: childSpec(t).Logger,
		Args:    []string{"-c", `sleep 1000 & echo bg=$!`},
		Restart: Policy{When: Never},
	}
	p := start(t, spec)
	waitDone(t, p)
	lines := p.Status().Lines
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "bg=") {
		t.Fatalf("lines %q", lines)
	}
	bg, _ := strconv.Atoi(strings.TrimPrefix(lines[0], "bg="))
	waitGone(t, bg)
}

func TestRestart(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "graceful", "out:waiting", "sleep")
	spec.Ready = LogLine(regexp.MustCompile("waiting"))
	ev := watch(&spec)
	p := start(t, spec)
	first := ev.start(t)
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e := ev.exit(t); e.PID != first || e.Code != 0 {
		t.Errorf("exit %+v, want pid %d stopped gracefully", e, first)
	}
	second := ev.start(t)
	st := p.Status()
	if second == first || st.PID != second || st.State != Running || st.Restarts != 1 {
		t.Errorf("status %+v after Restart; pids %d, %d", st, first, second)
	}
	waitGone(t, first)
}

// Restart brings back a failed process.
func TestRestartFailed(t *testing.T) {
	t.Parallel()
	flag := tempFile(t, "flag")
	spec := Spec{
		Path: "/bin/sh", Logger: childSpec(t).Logger,
		Args:    []string{"-c", `test -e "$1" || exit 1; exec sleep 1000`, "sh", flag},
		Restart: Policy{When: OnFailure, MinDelay: time.Millisecond, MaxRestarts: 1},
	}
	ev := watch(&spec)
	p := start(t, spec)
	failed := p.Done()
	waitDone(t, p)
	if st := p.Status(); st.State != Failed {
		t.Fatalf("state %s, want failed", st.State)
	}
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for len(ev.starts) > 0 {
		<-ev.starts
	}
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid := ev.start(t)
	if st := p.Status(); st.State != Running || st.PID != pid || st.Restarts != 2 {
		t.Errorf("status %+v", st)
	}
	select {
	case <-p.Done():
		t.Error("Done closed after Restart")
	default:
	}
	select {
	case <-failed:
	default:
		t.Error("the failed supervision's Done is open again")
	}
}

func TestOutputLogged(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	spec := childSpec(t, "out:hello", "err:oops")
	spec.Name = "greeter"
	spec.Logger = slog.New(logs)
	spec.Restart.When = Never
	ev := watch(&spec)
	p := start(t, spec)
	pid := ev.start(t)
	waitDone(t, p)
	for _, want := range []struct {
		msg, stream string
		level       slog.Level
	}{{"hello", "stdout", slog.LevelInfo}, {"oops", "stderr", slog.LevelWarn}} {
		r, ok := logs.find(want.msg)
		if !ok {
			t.Fatalf("no log of %q", want.msg)
		}
		a := attrs(r)
		if r.Level != want.level || a["process"] != "greeter" || a["stream"] != want.stream || a["pid"] != strconv.Itoa(pid) {
			t.Errorf("%q logged at %v with %v", want.msg, r.Level, a)
		}
	}
}

func TestOutputKeptAndSplit(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "long:70000", "lines:60")
	spec.Restart.When = Never
	p := start(t, spec)
	waitDone(t, p)
	lines := p.Status().Lines
	if len(lines) != keepLines || lines[0] != "line 10" || lines[keepLines-1] != "line 59" {
		t.Fatalf("kept %d lines, %q ... %q", len(lines), lines[0], lines[len(lines)-1])
	}

	spec = childSpec(t, "long:70000")
	spec.Restart.When = Never
	p = start(t, spec)
	waitDone(t, p)
	lines = p.Status().Lines
	if len(lines) != 2 || len(lines[0]) != maxLine || len(lines[1]) != 70000-maxLine {
		t.Errorf("a 70000-byte line came as %d lines", len(lines))
	}
}

func TestEnvDirAndExtraFiles(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dir := t.TempDir()
	spec := Spec{
		Path: "/bin/sh", Logger: childSpec(t).Logger,
		Args:       []string{"-c", `echo "$GREETING from $(pwd)" >&3`},
		Dir:        dir,
		Env:        []string{"GREETING=hi"},
		ExtraFiles: []*os.File{w},
		Restart:    Policy{When: Never},
	}
	p := start(t, spec)
	w.Close()
	waitDone(t, p)
	b := make([]byte, 512)
	n, _ := r.Read(b)
	if got, want := strings.TrimSpace(string(b[:n])), "hi from "+dir; got != want {
		t.Errorf("fd 3 got %q, want %q", got, want)
	}
}

// After Stop returns, every goroutine of the Process has ended.
func TestNoGoroutineLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	file := tempFile(t, "addr")
	spec := childSpec(t, "listen:"+file, "sleep")
	spec.Ready = fileCheck{file, TCP}
	p, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	stop(t, p)
	eventually(t, "back to the goroutines before", func() bool { return runtime.NumGoroutine() <= before })
}

// Status, Signal and Restart may be called concurrently.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "sleep")
	spec.Restart = fast
	spec.Restart.MaxRestarts = -1
	p := start(t, spec)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				switch i {
				case 0:
					p.Restart(context.Background())
				case 1:
					p.Signal(syscall.SIGKILL)
				default:
					p.Status()
				}
			}
		}()
	}
	wg.Wait()
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.State != Running {
		t.Errorf("state %s, want running", st.State)
	}
}

// Runs survive OS threads ending (Pdeathsig is per thread), and die with
// their supervisor.
func TestChildrenDieWithSupervisor(t *testing.T) {
	t.Parallel()
	file := tempFile(t, "pids")
	spec := childSpec(t, "supervise:"+file, "sleep")
	p := start(t, spec)
	pids := strings.Fields(readFile(t, file))
	if len(pids) != 2 {
		t.Fatalf("pids %q", pids)
	}
	before, _ := strconv.Atoi(pids[0])
	after, _ := strconv.Atoi(pids[1])
	if before == 0 || before != after || gone(before) {
		t.Fatalf("grandchild %d, %d after threads ended; gone: %v", before, after, gone(before))
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, before)
}

// Output, when set, takes the lines instead of Logger; Status and
// LogLine still see them.
func TestOutputFunc(t *testing.T) {
	t.Parallel()
	logs := &logRecorder{}
	var mu sync.Mutex
	var got []string
	spec := childSpec(t, "out:hello", "err:oops", "out:ready", "sleep")
	spec.Logger = slog.New(logs)
	spec.Output = func(stream, line string) {
		mu.Lock()
		got = append(got, stream+":"+line)
		mu.Unlock()
	}
	spec.Ready = LogLine(regexp.MustCompile("^ready$"))
	p := start(t, spec)
	stop(t, p)
	mu.Lock()
	defer mu.Unlock()
	if s := strings.Join(got, " "); !strings.Contains(s, "stdout:hello") || !strings.Contains(s, "stderr:oops") || !strings.Contains(s, "stdout:ready") {
		t.Errorf("Output got %q", got)
	}
	if _, ok := logs.find("hello"); ok {
		t.Error("a line went to Logger as well as Output")
	}
	if _, ok := logs.find("started"); !ok {
		t.Error("Logger lost the supervisor's own events")
	}
}

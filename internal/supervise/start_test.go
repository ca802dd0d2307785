package supervise

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestStartReadyTCP(t *testing.T) {
	t.Parallel()
	file := tempFile(t, "addr")
	spec := childSpec(t, "listen:"+file, "sleep")
	spec.Ready = fileCheck{file, TCP}
	p := start(t, spec)
	if st := p.Status(); st.State != Running || st.PID == 0 {
		t.Fatalf("status %+v, want running with a PID", st)
	}
	c, err := net.Dial("tcp", readFile(t, file))
	if err != nil {
		t.Fatalf("ready, but: %v", err)
	}
	c.Close()
}

func TestStartReadyHTTP(t *testing.T) {
	t.Parallel()
	file := tempFile(t, "addr")
	spec := childSpec(t, "http:"+file, "sleep")
	spec.Ready = fileCheck{file, func(addr string) Check { return HTTP("http://" + addr + "/") }}
	p := start(t, spec)
	if st := p.Status(); st.State != Running {
		t.Fatalf("state %s, want running", st.State)
	}
}

func TestStartReadyLogLine(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "out:booting", "err:listening on 1234", "sleep")
	spec.Ready = LogLine(regexp.MustCompile(`^listening on \d+$`))
	p := start(t, spec)
	lines := strings.Join(p.Status().Lines, "|")
	if !strings.Contains(lines, "listening on 1234") {
		t.Fatalf("lines %q lack the ready line", lines)
	}
}

// A LogLine check sees the current run's lines only: the first run's
// "ready" does not make the second ready.
func TestLogLineSeesCurrentRunOnly(t *testing.T) {
	t.Parallel()
	flag := tempFile(t, "flag")
	spec := Spec{
		Name: "once", Path: "/bin/sh", Logger: childSpec(t).Logger,
		Args:  []string{"-c", `if [ -e "$1" ]; then echo later; else : > "$1"; echo ready; fi; exec sleep 1000`, "sh", flag},
		Ready: LogLine(regexp.MustCompile(`^ready$`)),
	}
	p := start(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := p.Restart(ctx)
	if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Restart = %v, want ErrNotReady", err)
	}
	if want := "log line /^ready$/: no matching line"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

func TestStartNeverReady(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	spec := childSpec(t, "sleep")
	ev := watch(&spec)
	spec.Kind, spec.Name = "service", "cache"
	spec.Ready = TCP(addr)
	spec.ReadyTimeout = 300 * time.Millisecond
	p, err := Start(context.Background(), spec)
	if p != nil || !errors.Is(err, ErrNotReady) {
		t.Fatalf("Start = %v, %v; want ErrNotReady", p, err)
	}
	want := "service cache: not ready after 300ms: tcp " + addr + ": connection refused"
	if err.Error() != want {
		t.Errorf("error\n%q, want\n%q", err, want)
	}
	e := ev.exit(t)
	if !errors.Is(e.Err, ErrNotReady) || e.PID == 0 || !gone(e.PID) {
		t.Errorf("exit %+v: want the run stopped for not being ready", e)
	}
	if len(ev.starts) != 0 {
		t.Error("OnStart called for a run never ready")
	}
}

// Start's context ends the wait, and kills at once a program that would
// take its time to stop.
func TestStartCancelled(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "ignore-term", "sleep")
	spec.Ready = TCP(closedAddr(t))
	spec.StopTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := Start(ctx, spec)
	if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start = %v; want ErrNotReady and DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q lacks the check's last error", err)
	}
	if d := time.Since(begin); d > patience/2 {
		t.Errorf("Start took %v: the program was not killed at once", d)
	}
}

func TestStartExitedBeforeReady(t *testing.T) {
	t.Parallel()
	spec := childSpec(t, "out:loading config", "err:config: no such key", "exit:3")
	spec.Kind, spec.Name = "service", "cache"
	spec.Ready = TCP(closedAddr(t))
	_, err := Start(context.Background(), spec)
	if !errors.Is(err, ErrExited) {
		t.Fatalf("Start = %v, want ErrExited", err)
	}
	for _, want := range []string{"service cache: exited before it was ready (exit status 3)", "loading config", "config: no such key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestStartValidates(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Spec{Path: "/no/such/program-xyz"})
	if want := "process program-xyz: /no/such/program-xyz: no such file or directory"; err == nil || err.Error() != want {
		t.Fatalf("Start = %v, want %q", err, want)
	}
}

package junction

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/queue"
)

// The child process of TestCronRunsOncePerTickAcrossProcesses: an app
// whose job appends the tick it ran to a file shared by both children.
func init() {
	out := os.Getenv("JUNCTION_CRON_CHILD")
	if out == "" {
		return
	}
	app := New("ticker")
	const every = 200 * time.Millisecond
	app.Every(every, func(ctx context.Context) error {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "%d %d\n", time.Now().Truncate(every).UnixMilli(), os.Getpid())
		return err
	}, JobName("tick"))
	os.Args = []string{"ticker", "run", "--listen", "127.0.0.1:0", "--log-level", "warn",
		"--nats", os.Getenv("JUNCTION_CRON_NATS"), "--data-dir", os.Getenv("JUNCTION_CRON_DATA")}
	app.Run()
}

func TestCronRunsOncePerTickAcrossProcesses(t *testing.T) {
	ctx := testCtx(t)
	// The NATS server both processes share, as an external one would be.
	e, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	out := filepath.Join(t.TempDir(), "ticks")
	var children []*exec.Cmd
	for i := range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "JUNCTION_CRON_CHILD="+out, "JUNCTION_CRON_NATS="+e.ClientURL(),
			"JUNCTION_CRON_DATA="+filepath.Join(t.TempDir(), fmt.Sprint(i)))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		children = append(children, cmd)
	}
	// Let both run for a dozen ticks.
	waitFor(t, func() bool {
		b, _ := os.ReadFile(out)
		return strings.Count(string(b), "\n") >= 12
	})
	for _, c := range children {
		c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range children {
		if code := exitCode(t, c, 10*time.Second); code != 0 {
			t.Errorf("child exit code %d", code)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	pids := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		tick, pid, _ := strings.Cut(line, " ")
		if other, dup := seen[tick]; dup {
			t.Errorf("tick %s ran twice: in %s and %s", tick, other, pid)
		}
		seen[tick] = pid
		pids[pid]++
	}
	t.Logf("%d ticks, runs per process: %v", len(seen), pids)
}

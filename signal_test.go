package junction

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/internal/signals"
)

// The child process of the signal tests: an app run by Run, as a real
// program is, with a route that hangs until the process ends.
func init() {
	if os.Getenv("JUNCTION_SIGNAL_CHILD") != "1" {
		return
	}
	app := New("sig")
	app.HTTP.Get("/hang", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		<-make(chan struct{})
	})
	// /slow answers "done" a second after its headers: a graceful
	// shutdown lets it finish, an immediate exit cuts it.
	app.HTTP.Get("/slow", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		time.Sleep(time.Second)
		io.WriteString(w, "done")
	})
	app.On(Ready, func(ctx context.Context, _ ...any) error {
		fmt.Printf("READY %s\n", AppFrom(ctx).Addr())
		return nil
	})
	os.Args = []string{"sig", "run", "--listen", "127.0.0.1:0", "--log-level", "warn"}
	app.Run()
}

// startSignalChild runs the child app, through the command wrap if
// given (timeout and its arguments), and returns it with its address.
func startSignalChild(t *testing.T, wrap ...string) (*exec.Cmd, string) {
	t.Helper()
	argv := append(wrap, os.Args[0], "-test.run=^$")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "JUNCTION_SIGNAL_CHILD=1")
	// A process group of its own, as a program started by a shell or a
	// process manager has: signals to the group do not reach the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- addr
			}
		}
	}()
	select {
	case addr := <-ready:
		return cmd, addr
	case <-time.After(10 * time.Second):
		t.Fatal("the child app did not become ready")
	}
	return nil, ""
}

// exitCode waits for cmd, at most d.
func exitCode(t *testing.T, cmd *exec.Cmd, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(d):
		t.Fatalf("the app did not exit within %v", d)
	}
	return -1
}

func TestSignalStopsTheAppGracefully(t *testing.T) {
	cmd, _ := startSignalChild(t)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	cmd, addr := startSignalChild(t)
	// A request that never ends holds the graceful shutdown (10s).
	resp, err := http.Get("http://" + addr + "/hang")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	// The first signal's shutdown is under way once new connections
	// are refused.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := http.Get("http://" + addr + "/nothing")
		if err != nil {
			break
		}
		c.Body.Close()
		if time.Now().After(deadline) {
			t.Fatal("the app still accepts connections after SIGINT")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A second signal means "now" only after a human-scale pause.
	time.Sleep(time.Until(first.Add(signals.Repeat + 100*time.Millisecond)))
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(t, cmd, 3*time.Second); code != 1 {
		t.Fatalf("exit code %d after a second signal, want 1", code)
	}
	t.Logf("exited %v after the second signal", time.Since(start).Round(time.Millisecond))
}

// slowRequest starts GET /slow and returns once it is in flight; the
// channel gets its body, or the error that cut it.
func slowRequest(t *testing.T, addr string) <-chan string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	body := make(chan string, 1)
	go func() {
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		body <- string(b)
	}()
	return body
}

// TestSignalsTogetherAreOne: two signals microseconds apart, as a
// process manager signalling the process and its group sends them, are
// one request for a graceful shutdown.
func TestSignalsTogetherAreOne(t *testing.T) {
	// How each stops a program: whom it signals, with what (the app is
	// alone in its group, so "group" reaches it once more).
	type send struct {
		sig   syscall.Signal
		group bool
	}
	for _, c := range []struct {
		who   string
		sends []send
	}{
		{"Ctrl-C (the terminal signals the foreground group)", []send{{syscall.SIGINT, true}}},
		{"docker stop (the container's first process)", []send{{syscall.SIGTERM, false}}},
		{"systemctl stop, KillMode=control-group (every process of the unit)", []send{{syscall.SIGTERM, false}}},
		{"timeout(1) (the process, then its group)", []send{{syscall.SIGTERM, false}, {syscall.SIGTERM, true}}},
		{"kill -INT then kill -TERM at once", []send{{syscall.SIGINT, false}, {syscall.SIGTERM, false}}},
		{"three signals at once", []send{{syscall.SIGTERM, false}, {syscall.SIGINT, true}, {syscall.SIGTERM, false}}},
	} {
		cmd, addr := startSignalChild(t)
		body := slowRequest(t, addr)
		for _, snd := range c.sends {
			pid := cmd.Process.Pid
			if snd.group {
				pid = -pid // the child leads its group
			}
			if err := syscall.Kill(pid, snd.sig); err != nil {
				t.Fatal(err)
			}
		}
		if code := exitCode(t, cmd, 10*time.Second); code != 0 {
			t.Errorf("%s: exit code %d, want 0 (graceful)", c.who, code)
		}
		if b := <-body; b != "done" {
			t.Errorf("%s: the in-flight request got %q, want it finished", c.who, b)
		}
	}
}

// TestTimeoutCommandStopsTheAppGracefully runs the app under the real
// timeout(1), which passes a signal it gets both to the app and to the
// app's process group: the app gets it twice, and must shut down
// gracefully once.
func TestTimeoutCommandStopsTheAppGracefully(t *testing.T) {
	timeout, err := exec.LookPath("timeout")
	if err != nil {
		t.Fatalf("coreutils' timeout is needed: %v", err)
	}
	cmd, addr := startSignalChild(t, timeout, "--preserve-status", "120")
	body := slowRequest(t, addr)
	// timeout forwards the signal it receives as it sends its own when
	// the time is up: to the app, then to the group.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd, 10*time.Second); code != 0 {
		t.Fatalf("exit code %d under timeout, want 0 (graceful)", code)
	}
	if b := <-body; b != "done" {
		t.Fatalf("the in-flight request got %q, want it finished", b)
	}
}

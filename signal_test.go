package junction

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
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
	app.On(Ready, func(ctx context.Context, _ ...any) error {
		fmt.Printf("READY %s\n", AppFrom(ctx).Addr())
		return nil
	})
	os.Args = []string{"sig", "run", "--listen", "127.0.0.1:0", "--log-level", "warn"}
	app.Run()
}

// startSignalChild runs the child app and returns it with its address.
func startSignalChild(t *testing.T) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "JUNCTION_SIGNAL_CHILD=1")
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
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(t, cmd, 3*time.Second); code != 1 {
		t.Fatalf("exit code %d after a second signal, want 1", code)
	}
	t.Logf("exited %v after the second signal", time.Since(start).Round(time.Millisecond))
}

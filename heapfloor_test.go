package junction

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var (
	listenLog = regexp.MustCompile(`(?:url=ws|http=http)://(127\.0\.0\.1:\d+)/`)
	gcGoal    = regexp.MustCompile(`^gc \d+ @.* (\d+) MB goal`)
)

// TestProgramsKeepAHeapFloor runs the junction command and an app's Run
// (this test binary, see TestMain) with the collector's trace on, makes each allocate by serving HTTP, and
// reads the heap goal of their collections: 16 MiB or more with the heap
// floor (internal/heapfloor), Go's own 4 MiB minimum with GOGC set.
func TestProgramsKeepAHeapFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the junction command")
	}
	junction := filepath.Join(t.TempDir(), "junction")
	if out, err := exec.Command("go", "build", "-o", junction, "./cmd/junction").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/junction: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		name, bin, env, path string
		args                 []string
	}{
		{"junction router", junction, "", "/healthz", []string{"router", "--listen", "127.0.0.1:0"}},
		// This test binary, as an app's program: TestMain calls Run.
		{"app Run", self, "JUNCTION_TEST_RUN=plain", "/", []string{"--listen", "127.0.0.1:0"}},
	} {
		for _, c := range []struct {
			env      string
			min, max int
		}{{"", 14, 1 << 20}, {"GOGC=100", 0, 10}} {
			t.Run(p.name+" "+c.env, func(t *testing.T) {
				goal := gcGoalUnderLoad(t, p.bin, p.path, []string{p.env, c.env}, p.args...)
				t.Logf("heap goal %d MB", goal)
				if goal < c.min || goal > c.max {
					t.Fatalf("heap goal %d MB, want %d to %d", goal, c.min, c.max)
				}
			})
		}
	}
}

// gcGoalUnderLoad starts bin with env and GODEBUG=gctrace=1, requests
// path from it until it collects, and returns that collection's heap goal
// in MB (collections before the program listened are left out: they may
// come before main).
func gcGoalUnderLoad(t *testing.T, bin, path string, env []string, args ...string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	for _, e := range env {
		if e != "" {
			cmd.Env = append(cmd.Env, e)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	addr := make(chan string, 1)
	goals := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		listening := false
		for sc.Scan() {
			line := sc.Text()
			if m := listenLog.FindStringSubmatch(line); m != nil && !listening {
				listening = true
				addr <- m[1]
			}
			if m := gcGoal.FindStringSubmatch(line); m != nil && listening {
				n, _ := strconv.Atoi(m[1])
				select {
				case goals <- n:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a + path
	case <-ctx.Done():
		t.Fatal("the program never said where it listens")
	}
	for {
		select {
		case g := <-goals:
			return g
		case <-ctx.Done():
			t.Fatal("no collection within a minute of requests")
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", base, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", base, resp.Status)
		}
	}
}

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/examples/internal/proctest"
)

// children returns the live PIDs whose parent is pid, with their
// command lines.
func children(t *testing.T, pid int) map[int]string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscan(e.Name(), &n); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		var state string
		var ppid int
		if _, err := fmt.Sscan(s[i+2:], &state, &ppid); err != nil || ppid != pid || state == "Z" {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		out[n] = strings.Join(strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00"), " ")
	}
	return out
}

// TestProcesses builds the example and runs it as the team's acceptance
// says: children of the same binary, a SIGKILLed one replaced within 10
// s, sign-ins crossing three processes and the cache service, and no
// child left after SIGTERM.
func TestProcesses(t *testing.T) {
	dir := t.TempDir()
	proctest.Build(t, dir, ".")
	bin := filepath.Join(dir, "processes")
	p := proctest.Start(t, bin, "run", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(dir, "data"), "--cost", "1000")
	base := p.URL(t)

	kids := children(t, p.PID())
	var workers, services []int
	for pid, cmd := range kids {
		switch {
		case strings.HasPrefix(cmd, bin+" run "):
			workers = append(workers, pid)
		case strings.HasPrefix(cmd, bin+" cache-server "):
			services = append(services, pid)
		}
	}
	if len(workers) != 2 || len(services) != 1 {
		t.Fatalf("children of the main process %d: %v, want two workers (auth, audit) and the cache service", p.PID(), kids)
	}

	signin := func(user string) {
		t.Helper()
		res, body := proctest.Do(t, "POST", base+"signin", "application/x-www-form-urlencoded", "user="+user+"&password=pw")
		proctest.Expect(t, res, body, 200, "text/plain", "")
	}
	// count is the audit's count, "" while process audit is down.
	count := func() string {
		res, body := proctest.Do(t, "GET", base+"signins", "", "")
		if res.StatusCode != 200 {
			return ""
		}
		return strings.TrimSpace(body)
	}
	signin("ada")
	waitFor(t, "the first sign-in counted", func() bool { return count() == "1" })

	// SIGKILL a worker: a new one within 10 s, and sign-ins work again.
	if err := syscall.Kill(workers[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new worker", func() bool {
		var now []int
		for pid, cmd := range children(t, p.PID()) {
			if strings.HasPrefix(cmd, bin+" run ") {
				now = append(now, pid)
			}
		}
		return len(now) == 2 && !slices.Contains(now, workers[0])
	})
	// Both back (the killed one may be either): audit answers, and auth.
	waitFor(t, "process audit back", func() bool { return count() == "1" })
	waitFor(t, "sign-ins through the new worker", func() bool {
		res, body := proctest.Do(t, "POST", base+"signin", "application/x-www-form-urlencoded", "user=bob&password=pw")
		return res.StatusCode == 200 && body != ""
	})
	waitFor(t, "the second sign-in counted", func() bool { return count() == "2" })

	all := children(t, p.PID())
	p.Terminate(t)
	for pid, cmd := range all {
		if syscall.Kill(pid, 0) == nil {
			if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(st), ") Z ") {
				t.Errorf("%d (%s) still runs after the app stopped", pid, cmd)
			}
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

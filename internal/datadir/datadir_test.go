package datadir

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The child of TestLockOfAKilledProcessIsTakenOver: it locks the
// directory named by its environment, says so, and waits to be killed.
func init() {
	dir := os.Getenv("DATADIR_TEST_CHILD")
	if dir == "" {
		return
	}
	d, err := Open(dir)
	if err != nil {
		os.Stdout.WriteString("ERROR " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("LOCKED " + d.Path() + "\n")
	select {}
}

func TestOpenCreatesAndLocks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != dir {
		t.Errorf("Path() = %q, want %q", d.Path(), dir)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
		t.Fatalf("the directory was not created 0700: %v %v", st, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()) + " ("; !strings.HasPrefix(string(b), want) {
		t.Errorf("lock file holds %q, want it to start with %q", b, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("the directory holds %v (%v), want only the lock file", entries, err)
	}

	// A second opener, in this process or another, is refused and told
	// who holds the directory.
	_, err = Open(dir)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Open: %v, want a *LockedError", err)
	}
	for _, want := range []string{dir, "pid " + strconv.Itoa(os.Getpid()), LockFile} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not name %q", err, want)
		}
	}

	// Once released, it opens again.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	d2.Close()
}

func TestUnusableDirectoriesFailAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, reason string }{
		{file, "not a directory"},
		{filepath.Join(file, "sub"), "not a directory"},
		{"/proc/junction-datadir-test", "/proc/junction-datadir-test"},
		{"", "no directory given"},
	} {
		start := time.Now()
		_, err := Open(c.dir)
		var ue *UnusableError
		if !errors.As(err, &ue) {
			t.Errorf("Open(%q) = %v, want an *UnusableError", c.dir, err)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) || !strings.Contains(err.Error(), "data dir") {
			t.Errorf("Open(%q): %q does not say %q", c.dir, err, c.reason)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Open(%q) took %v", c.dir, d)
		}
	}
}

func TestLockOfAKilledProcessIsTakenOver(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "DATADIR_TEST_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LOCKED ") {
		t.Fatalf("child said %q (%v)", line, err)
	}

	_, err = Open(dir)
	var le *LockedError
	if !errors.As(err, &le) || !strings.Contains(le.Holder, "pid "+strconv.Itoa(cmd.Process.Pid)+" (") {
		t.Fatalf("Open while the child holds the lock: %v, want the child's pid %d named", err, cmd.Process.Pid)
	}

	// SIGKILL: the child cannot clean up; the kernel releases its lock.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	d, err := Open(dir)
	if err != nil {
		t.Fatalf("the dead child's lock was not taken over: %v", err)
	}
	d.Close()
}

func TestDefaultIsAStateDirectory(t *testing.T) {
	// Under systemd with StateDirectory=, the unit's own directory.
	t.Setenv("STATE_DIRECTORY", "/var/lib/myapp:/var/lib/other")
	t.Setenv("XDG_STATE_HOME", "/srv/state")
	if d, err := Default("myapp"); err != nil || d != "/var/lib/myapp" {
		t.Errorf("with STATE_DIRECTORY: %q %v", d, err)
	}
	t.Setenv("STATE_DIRECTORY", "")
	if d, err := Default("myapp"); err != nil || d != "/srv/state/myapp" {
		t.Errorf("with XDG_STATE_HOME: %q %v", d, err)
	}
	// A relative XDG_STATE_HOME is invalid by the XDG spec: ignored.
	t.Setenv("XDG_STATE_HOME", "rel")
	t.Setenv("HOME", "/home/ann")
	if d, err := Default("myapp"); err != nil || d != "/home/ann/.local/state/myapp" {
		t.Errorf("without XDG_STATE_HOME: %q %v", d, err)
	}
}

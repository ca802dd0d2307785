package supervise

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec Spec
		is   error
		msg  string
	}{
		{"missing binary", Spec{Kind: "service", Name: "cache", Path: "/usr/bin/nope-xyz"},
			fs.ErrNotExist, "service cache: /usr/bin/nope-xyz: no such file or directory"},
		{"not in PATH", Spec{Path: "nope-xyz"}, exec.ErrNotFound, "process nope-xyz: exec: "},
		{"not executable", Spec{Path: plain}, ErrNotExecutable, "process plain: " + plain + ": not executable (mode -rw-r--r--)"},
		{"directory", Spec{Path: dir}, ErrNotExecutable, ": not executable"},
		{"missing dir", Spec{Path: "/bin/sh", Dir: filepath.Join(dir, "nope")},
			fs.ErrNotExist, "process sh: dir " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"dir is a file", Spec{Path: "/bin/sh", Dir: plain}, syscall.ENOTDIR, ": not a directory"},
		{"missing user", Spec{Path: "/bin/sh", User: "no-such-user-xyz"},
			user.UnknownUserError("no-such-user-xyz"), "process sh: user: unknown user no-such-user-xyz"},
		{"missing group", Spec{Path: "/bin/sh", Group: "no-such-group-xyz"},
			user.UnknownGroupError("no-such-group-xyz"), "process sh: group: unknown group no-such-group-xyz"},
		{"policy", Spec{Path: "/bin/sh", Restart: Policy{When: "sometimes"}}, nil, `process sh: restart policy "sometimes"`},
		{"no path", Spec{Name: "x"}, nil, "process x: no path to run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.spec)
			if err == nil {
				t.Fatal("Validate = nil")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
	if err := Validate(Spec{Path: "sh"}); err != nil {
		t.Errorf("Validate(sh) = %v", err)
	}
}

// Without root, switching users is refused with a clear error.
func TestNeedRoot(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ user, group, msg string }{
		{"root", "", "running as user root needs root; junction runs as uid 1000"},
		{"", "0", "running as group 0 needs root; junction runs as uid 1000"},
	} {
		_, err := lookupCredential(tc.user, tc.group, 1000, 1000)
		if !errors.Is(err, ErrNeedRoot) || err.Error() != tc.msg {
			t.Errorf("lookupCredential(%q, %q) = %v, want %q", tc.user, tc.group, err, tc.msg)
		}
	}
	// Already the user: nothing to switch.
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c, err := lookupCredential(u.Username, "", uid, gid)
	if err != nil || (uid != 0 && c.sys != nil) {
		t.Errorf("lookupCredential(current user) = %+v, %v", c, err)
	}
	if os.Geteuid() != 0 {
		err := Validate(Spec{Kind: "service", Name: "cache", Path: "/bin/sh", User: "root"})
		want := "service cache: running as user root needs root; junction runs as uid " + strconv.Itoa(os.Geteuid())
		if err == nil || err.Error() != want {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
}

// As root, a run executes as the user, with its HOME, USER and LOGNAME.
func TestUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root; TestNeedRoot covers the error")
	}
	const name = "junction-sv-test"
	out, err := exec.Command("useradd", "--system", "--no-create-home", name).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "already exists") {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel: %v: %s", err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{name, u.Uid} {
		spec := Spec{
			Path: "/bin/sh", Logger: childSpec(t).Logger,
			Args:    []string{"-c", `echo "$(id -u) $(id -g) $HOME $USER $LOGNAME"`},
			Dir:     "/",
			User:    who,
			Restart: Policy{When: Never},
		}
		p := start(t, spec)
		waitDone(t, p)
		want := strings.Join([]string{u.Uid, u.Gid, u.HomeDir, name, name}, " ")
		if st := p.Status(); len(st.Lines) != 1 || st.Lines[0] != want || st.LastExit.Code != 0 {
			t.Errorf("User %q: lines %q, want %q", who, st.Lines, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	s := Spec{Path: "/usr/bin/redis-server", Env: make([]string, 1, 10)}.withDefaults()
	if s.Name != "redis-server" || s.Kind != "process" || s.ReadyTimeout != 30*time.Second ||
		s.StopSignal != syscall.SIGTERM || s.StopTimeout != 10*time.Second || s.Logger == nil || cap(s.Env) != 1 {
		t.Errorf("spec defaults %+v", s)
	}
	want := Policy{When: Always, MinDelay: 100 * time.Millisecond, MaxDelay: 30 * time.Second,
		StableAfter: 10 * time.Second, MaxRestarts: 5, Window: time.Minute}
	if s.Restart != want {
		t.Errorf("policy defaults %+v, want %+v", s.Restart, want)
	}
}

func TestRing(t *testing.T) {
	t.Parallel()
	var r ring
	for i := range 60 {
		r.add(outLine{run: 1 + i/30, text: strconv.Itoa(i)})
	}
	if got := r.last(keepLines, 0); len(got) != 50 || got[0] != "10" || got[49] != "59" {
		t.Errorf("last(all) = %q", got)
	}
	if got := r.last(3, 1); strings.Join(got, ",") != "27,28,29" {
		t.Errorf("last(3, run 1) = %q", got)
	}
}

func TestCheckStrings(t *testing.T) {
	t.Parallel()
	for c, want := range map[Check]string{
		TCP("127.0.0.1:6390"):                   "tcp 127.0.0.1:6390",
		HTTP("http://127.0.0.1:8080/health"):    "http http://127.0.0.1:8080/health",
		LogLine(regexp.MustCompile(`^Ready\b`)): `log line /^Ready\b/`,
	} {
		if c.String() != want {
			t.Errorf("String() = %q, want %q", c.String(), want)
		}
	}
	if err := LogLine(regexp.MustCompile("x")).Check(context.Background()); err == nil {
		t.Error("LogLine.Check on its own passed")
	}
}

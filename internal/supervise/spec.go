package supervise

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Spec describes a program to supervise. The zero value of every field
// but Path is valid; defaults are documented per field. Start copies the
// Spec: changing it afterwards has no effect.
type Spec struct {
	// Name names the program in logs, errors and Status. Default: the
	// base name of Path.
	Name string
	// Kind says what Name is, for errors: "service", "worker". Errors
	// start with Kind and Name: "service cache: not ready after 30s: ...".
	// Default "process".
	Kind string

	// Path is the executable. A name without a slash is looked up in
	// this process's PATH; a relative path is relative to Dir.
	Path string
	// Args are the arguments, argv[1:].
	Args []string
	// Dir is the working directory; "" inherits this process's.
	Dir string
	// Env is the environment, "K=V" entries; nil means os.Environ().
	// With User set, HOME, USER and LOGNAME are set for that user.
	Env []string

	// User and Group run the program as this user and group (names or
	// numeric ids, which must exist). Switching needs root: otherwise
	// Validate and Start fail with ErrNeedRoot, unless the user and group
	// are the current ones. With User alone, the group is the user's
	// primary group; the user's supplementary groups are always set.
	// With Group alone, only the group changes.
	User, Group string

	// Ready says when a run is ready. Nil: as soon as it has started.
	Ready Check
	// ReadyTimeout bounds the wait for Ready, on every run. Default 30s.
	ReadyTimeout time.Duration

	// StopSignal is sent to the run's process group to stop it. Default
	// SIGTERM.
	StopSignal syscall.Signal
	// StopTimeout is how long a stop waits after StopSignal before it
	// sends SIGKILL to the group. Default 10s.
	StopTimeout time.Duration

	// Restart says when and how fast a run that ended is started again.
	Restart Policy

	// Logger receives every output line (stdout at Info, stderr at Warn,
	// with attrs "process", "stream" and "pid") and the supervisor's own
	// events. Default slog.Default().
	Logger *slog.Logger

	// Output, if set, takes every output line instead of Logger (which
	// still gets the supervisor's own events): a program whose lines are
	// structured logs of its own is relayed by its caller. Called from
	// the run's reading goroutines; it must not block for long.
	Output func(stream, line string)

	// OnStart, if set, is called with the PID of each run once it is
	// ready, from the supervisor's goroutine: it must not block for long,
	// nor call Stop or Restart.
	OnStart func(pid int)
	// OnExit, if set, is called after each run ends, from the
	// supervisor's goroutine, with the same limits as OnStart. A run
	// that could not be started is reported too, with PID 0.
	OnExit func(e Exit)

	// ExtraFiles are passed to every run as fds 3 and up
	// (exec.Cmd.ExtraFiles). The Process does not close them.
	ExtraFiles []*os.File
}

// Policy says when and how fast a run that ended is started again. The
// zero value restarts always, with the defaults below.
type Policy struct {
	// When is "always" (the default: whatever the exit), "on-failure"
	// (a non-zero exit, a signal, a failed start or readiness) or "never".
	When string
	// MinDelay and MaxDelay bound the backoff between restarts: the first
	// waits MinDelay, each next one twice the last, at most MaxDelay,
	// each jittered by ±20%. Defaults 100ms and 30s.
	MinDelay, MaxDelay time.Duration
	// StableAfter: a run that lasted this long resets the backoff and the
	// crash count. Default 10s.
	StableAfter time.Duration
	// MaxRestarts: after more than this many restarts within Window the
	// supervisor gives up and the Process is "failed". Default 5;
	// negative means no limit.
	MaxRestarts int
	// Window is the span MaxRestarts counts over. Default 60s.
	Window time.Duration
}

// Restart policies, the values of Policy.When.
const (
	Always    = "always"
	OnFailure = "on-failure"
	Never     = "never"
)

func (s Spec) withDefaults() Spec {
	if s.Name == "" {
		s.Name = filepath.Base(s.Path)
	}
	if s.Kind == "" {
		s.Kind = "process"
	}
	if s.ReadyTimeout <= 0 {
		s.ReadyTimeout = 30 * time.Second
	}
	if s.StopSignal == 0 {
		s.StopSignal = syscall.SIGTERM
	}
	if s.StopTimeout <= 0 {
		s.StopTimeout = 10 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Env == nil {
		s.Env = os.Environ()
	}
	// Callers append to Env; never write into their backing array.
	s.Env = s.Env[:len(s.Env):len(s.Env)]
	s.Restart = s.Restart.withDefaults()
	return s
}

func (p Policy) withDefaults() Policy {
	if p.When == "" {
		p.When = Always
	}
	if p.MinDelay <= 0 {
		p.MinDelay = 100 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxDelay < p.MinDelay {
		p.MaxDelay = p.MinDelay
	}
	if p.StableAfter <= 0 {
		p.StableAfter = 10 * time.Second
	}
	if p.MaxRestarts == 0 {
		p.MaxRestarts = 5
	}
	if p.Window <= 0 {
		p.Window = 60 * time.Second
	}
	return p
}

// who is how errors name the spec: "service cache".
func (s Spec) who() string { return s.Kind + " " + s.Name }

// Validate checks what can be checked before anything starts: that Path
// is an executable file (after the PATH lookup), that Dir is a
// directory, that User and Group exist and that this process may switch
// to them. Errors name the spec: "service cache: /usr/bin/nope: no such
// file or directory".
func Validate(spec Spec) error {
	_, err := spec.withDefaults().validate()
	return err
}

// resolved is what validate learns: the executable's path and the
// credentials to run as.
type resolved struct {
	path string
	cred *credential
}

func (s Spec) validate() (resolved, error) {
	who := s.who()
	if s.Path == "" {
		return resolved{}, fmt.Errorf("%s: no path to run", who)
	}
	switch s.Restart.When {
	case Always, OnFailure, Never:
	default:
		return resolved{}, fmt.Errorf("%s: restart policy %q: want %q, %q or %q", who, s.Restart.When, Always, OnFailure, Never)
	}
	if s.Dir != "" {
		fi, err := os.Stat(s.Dir)
		if err != nil {
			return resolved{}, fmt.Errorf("%s: dir %s: %w", who, s.Dir, pathErr(err))
		}
		if !fi.IsDir() {
			return resolved{}, fmt.Errorf("%s: dir %s: %w", who, s.Dir, syscall.ENOTDIR)
		}
	}
	path, err := s.executable()
	if err != nil {
		return resolved{}, fmt.Errorf("%s: %w", who, err)
	}
	cred, err := lookupCredential(s.User, s.Group, os.Geteuid(), os.Getegid())
	if err != nil {
		return resolved{}, fmt.Errorf("%s: %w", who, err)
	}
	return resolved{path: path, cred: cred}, nil
}

// executable finds Path as exec.Cmd will run it and checks that it can.
func (s Spec) executable() (string, error) {
	path := s.Path
	if !strings.Contains(path, "/") {
		found, err := exec.LookPath(path)
		if err != nil {
			return "", err
		}
		path = found
	}
	check := path
	if !filepath.IsAbs(check) && s.Dir != "" {
		check = filepath.Join(s.Dir, check)
	}
	fi, err := os.Stat(check)
	if err != nil {
		return "", fmt.Errorf("%s: %w", check, pathErr(err))
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("%s: %w (mode %v)", check, ErrNotExecutable, fi.Mode())
	}
	// A relative path stays relative: exec.Cmd resolves it against Dir.
	return path, nil
}

// pathErr drops the *fs.PathError's op and path, which the caller's
// message already says, and keeps the cause.
func pathErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

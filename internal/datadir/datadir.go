// Package datadir opens a process's data directory: it creates the
// directory, checks that it is usable before anything is started in it,
// and locks it for the life of the process, so that two processes never
// share one store.
//
// The lock is an advisory flock(2) on the file LockFile in the directory,
// which the kernel releases when the process ends however it ends: a lock
// left by a process that was killed is taken over at once, with no stale
// lock to clean up. The file holds the holder's pid, command line and
// start time, for the message that refuses a second process.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockFile is the name of the lock file in a data directory.
const LockFile = "junction.lock"

// Dir is a data directory locked by this process.
type Dir struct {
	path string
	f    *os.File
}

// Path returns the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// Close releases the lock. The lock file stays: removing it could let two
// processes each lock a different file of the same name.
func (d *Dir) Close() error {
	if d == nil || d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

// UnusableError says why a data directory cannot be used.
type UnusableError struct {
	Dir string
	Err error
}

func (e *UnusableError) Error() string {
	return fmt.Sprintf("data dir %s cannot be used: %v", e.Dir, e.Err)
}

func (e *UnusableError) Unwrap() error { return e.Err }

// LockedError is returned when another process holds the directory.
type LockedError struct {
	Dir string
	// Holder describes the process that holds the lock, as it wrote it:
	// "pid 1234 (myapp run, since 2026-12-04T05:40:00Z)"; empty if it
	// could not be read.
	Holder string
}

func (e *LockedError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another process"
	}
	return fmt.Sprintf("data dir %s is in use by %s (lock %s); stop it, or give this process another data dir",
		e.Dir, holder, filepath.Join(e.Dir, LockFile))
}

// Open creates dir if needed (mode 0700, parents too), checks that it is
// a writable directory and locks it. It fails at once, with an
// *UnusableError or a *LockedError, rather than let a store started
// later fail slowly.
func Open(dir string) (*Dir, error) {
	if dir == "" {
		return nil, &UnusableError{Dir: `""`, Err: errors.New("no directory given")}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, &UnusableError{Dir: dir, Err: err}
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, &UnusableError{Dir: abs, Err: err}
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, &UnusableError{Dir: abs, Err: err}
	}
	if !st.IsDir() {
		return nil, &UnusableError{Dir: abs, Err: errors.New("not a directory")}
	}
	// Creating the lock file is the test of writing: a directory of
	// another user, a read-only file system and /proc all fail here.
	f, err := os.OpenFile(filepath.Join(abs, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &UnusableError{Dir: abs, Err: err}
	}
	if err := flock(f); err != nil {
		holder := readHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Dir: abs, Holder: holder}
		}
		return nil, &UnusableError{Dir: abs, Err: fmt.Errorf("lock %s: %w", LockFile, err)}
	}
	if err := writeHolder(f); err != nil {
		f.Close()
		return nil, &UnusableError{Dir: abs, Err: fmt.Errorf("write %s: %w", LockFile, err)}
	}
	// A directory whose files cannot be created is found now too (a
	// lock file left writable in a directory that is not).
	probe, err := os.CreateTemp(abs, ".probe-*")
	if err != nil {
		f.Close()
		return nil, &UnusableError{Dir: abs, Err: err}
	}
	probe.Close()
	if err := os.Remove(probe.Name()); err != nil {
		f.Close()
		return nil, &UnusableError{Dir: abs, Err: err}
	}
	return &Dir{path: abs, f: f}, nil
}

// flock takes the lock without waiting, retrying when a signal
// interrupts the call.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

// writeHolder replaces the lock file's content with this process's
// description.
func writeHolder(f *os.File) error {
	desc := "pid " + strconv.Itoa(os.Getpid()) + " (" + commandLine() + ", since " + time.Now().UTC().Format(time.RFC3339) + ")\n"
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(desc), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads the description the holder wrote, "" if none.
func readHolder(f *os.File) string {
	b := make([]byte, 512)
	n, _ := f.ReadAt(b, 0) // a short read ends in io.EOF: what was read is used
	return strings.TrimSpace(strings.ToValidUTF8(string(b[:n]), "?"))
}

// commandLine is the program's base name and its first argument (the
// command): "myapp run".
func commandLine() string {
	if len(os.Args) == 0 {
		return "?"
	}
	s := filepath.Base(os.Args[0])
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		s += " " + os.Args[1]
	}
	return s
}

// Default returns the default data directory of the program called name:
// the directory systemd made for the service ($STATE_DIRECTORY, set by
// StateDirectory=; the first one if it lists several), else
// $XDG_STATE_HOME/name, else ~/.local/state/name. It is never in the
// working directory, so that running a program from its source tree does
// not write into the tree.
func Default(name string) (string, error) {
	if d, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); filepath.IsAbs(d) {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, name), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no default data dir (set --data-dir): %w", err)
	}
	return filepath.Join(home, ".local", "state", name), nil
}

// Package proctest runs the example programs as OS processes, the way
// their users run them, for the examples' end-to-end tests: it builds
// them, starts them, waits for the line a Junction app logs once it
// serves, and stops them with a signal.
package proctest

import (
	"bytes"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the main packages pkgs (paths relative to the test's
// directory, like "./router") into dir, each binary named after its
// package's directory.
func Build(t testing.TB, dir string, pkgs ...string) {
	t.Helper()
	args := append([]string{"build", "-o", dir + string(filepath.Separator)}, pkgs...)
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// for a program that must come back on the same port after a restart.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// readyLine is what a Junction app logs at start once it serves, with
// its HTTP URL unless it serves no HTTP ("app ready (no HTTP)").
var readyLine = regexp.MustCompile(`msg="junction: app ready[^"]*"(?:.* http=(http://\S+/))?`)

// ReadyTimeout bounds the wait for a started app's ready line.
const ReadyTimeout = 15 * time.Second

// Process is a program running as an OS process. Its output (stdout and
// stderr) is logged if the test fails; the test's cleanup kills it if it
// still runs.
type Process struct {
	name  string
	cmd   *exec.Cmd
	out   lines
	done  chan struct{} // closed once the process has been waited for
	err   error         // how it ended, set before done is closed
	ready chan string
}

// Start starts bin with args.
func Start(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{
		name:  filepath.Base(bin) + " " + strings.Join(args, " "),
		done:  make(chan struct{}),
		ready: make(chan string, 1),
	}
	p.out.onLine = func(l string) {
		if m := readyLine.FindStringSubmatch(l); m != nil {
			select {
			case p.ready <- m[1]:
			default:
			}
		}
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", p.name, p.out.String())
		}
	})
	return p
}

// URL waits for the app's ready line and returns its HTTP URL,
// "http://127.0.0.1:PORT/", or "" for an app that serves no HTTP.
func (p *Process) URL(t testing.TB) string {
	t.Helper()
	select {
	case u := <-p.ready:
		p.ready <- u // for the next caller
		return u
	case <-p.done:
		t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.err, p.out.String())
	case <-time.After(ReadyTimeout):
		t.Fatalf("%s did not log that it was ready within %v\n%s", p.name, ReadyTimeout, p.out.String())
	}
	return ""
}

// Terminate sends SIGTERM and expects the process to exit with code 0
// within 5 seconds.
func (p *Process) Terminate(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("%s after SIGTERM: %v, want exit code 0", p.name, p.err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("%s still runs 5 s after SIGTERM", p.name)
	}
}

// Kill sends SIGKILL, as a crash or the OOM killer would, and waits for
// the process to end.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL %s: %v", p.name, err)
	}
	<-p.done
}

// Output returns what the process has printed so far.
func (p *Process) Output() string { return p.out.String() }

// lines collects a process's output and hands each line to onLine.
// exec.Cmd calls Write from one goroutine at a time; the mutex is for
// Output.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	onLine  func(string)
}

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.onLine(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return len(b), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// PID returns the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Package daemontest runs the real servers that tests talk to (ngircd,
// Dovecot, OpenSMTPD, Kannel): a program in the foreground, its output
// kept, started once its ports answer and stopped with SIGTERM. A test
// whose server is not installed fails under CI=true (.ci/run installs
// them) and is skipped elsewhere.
package daemontest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Need returns the path of prog, a program of Debian package pkg: an
// absolute path, or a name looked up in PATH and the sbin directories.
// Without it the test fails under CI and is skipped elsewhere.
func Need(t testing.TB, prog, pkg string) string {
	t.Helper()
	if filepath.IsAbs(prog) {
		if _, err := os.Stat(prog); err == nil {
			return prog
		}
	} else {
		if path, err := exec.LookPath(prog); err == nil {
			return path
		}
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(dir, prog)); err == nil {
				return filepath.Join(dir, prog)
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (apt-get install %s; .ci/run does)", prog, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s)", prog, pkg)
	return ""
}

// FreePort returns a loopback TCP port free right now (another program
// may take it before the server does: servers that fail to bind are
// started again on other ports).
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// Process is a server program run in the foreground. Set Name and Argv,
// then Start; it may be started again after Stop.
type Process struct {
	Name string
	Argv []string

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	out   strings.Builder
	lines chan string // each output line, for ExpectLine
}

// Start runs the program and waits up to 30 s until each of addrs
// accepts a TCP connection. If it exits first, or does not listen in
// time (it is stopped then), the error says so with its output.
func (p *Process) Start(addrs ...string) error {
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	if p.lines == nil {
		p.lines = make(chan string, 10000)
	}
	lines := p.lines
	p.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case lines <- sc.Text():
			default:
			}
		}
		cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range addrs {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-done:
				return fmt.Errorf("%s exited:\n%s", p.Name, p.Logs())
			default:
			}
			if time.Now().After(deadline) {
				p.Stop()
				return fmt.Errorf("%s does not listen on %s: %w\n%s", p.Name, addr, err, p.Logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// Logs returns its output so far, all runs together.
func (p *Process) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Stop sends SIGTERM and waits for it to exit, killing it after 15 s.
// Stopping a process not running does nothing.
func (p *Process) Stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// ExpectLine waits up to 60 s for an output line containing s, among
// the lines not yet read by an ExpectLine.
func (p *Process) ExpectLine(t testing.TB, s string) string {
	t.Helper()
	p.mu.Lock()
	lines := p.lines
	p.mu.Unlock()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	for {
		select {
		case line := <-lines:
			if strings.Contains(line, s) {
				return line
			}
		case <-timer.C:
			t.Fatalf("%s never printed %q:\n%s", p.Name, s, p.Logs())
		}
	}
}

// WaitClosed waits up to 15 s until nothing answers on addrs: a stopped
// server's ports are free again.
func WaitClosed(t testing.TB, addrs ...string) {
	t.Helper()
	for _, addr := range addrs {
		deadline := time.Now().Add(15 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				break
			}
			c.Close()
			if time.Now().After(deadline) {
				t.Fatalf("%s still answers after its server stopped", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

package interop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp/codec"
)

// nodePeer is a Node scenario that runs alongside a Go test and talks
// with it line by line: it prints JSON lines, and reads lines the test
// writes to its stdin. Its stderr is shown when the test fails.
type nodePeer struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	script string
	stdin  io.WriteCloser
	lines  chan string
	stderr bytes.Buffer // read only once the process has been waited for

	cmd      *exec.Cmd
	waitOnce sync.Once
	err      error // how the process ended, once waited for
}

// startNode starts js/<script>.js against url, bounded by scriptTimeout;
// the test's cleanup kills it if it is still running.
func startNode(t *testing.T, script, url, serializer string) *nodePeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	p := &nodePeer{t: t, ctx: ctx, cancel: cancel, script: script, lines: make(chan string)}
	p.cmd = node(ctx, script, url, serializer)
	p.cmd.Stderr = &p.stderr
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			case <-ctx.Done():
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		cancel()
		p.wait()
	})
	return p
}

// wait waits for the process once and returns how it ended.
func (p *nodePeer) wait() error {
	p.waitOnce.Do(func() {
		p.stdin.Close()
		p.err = p.cmd.Wait()
	})
	return p.err
}

// fail stops the test with everything Node said.
func (p *nodePeer) fail(format string, args ...any) {
	p.t.Helper()
	p.cancel()
	p.wait()
	p.t.Fatalf("%s\nnode %s.js stderr:\n%s", fmt.Sprintf(format, args...), p.script, p.stderr.Bytes())
}

// next returns the next line the script prints.
func (p *nodePeer) next() string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			p.fail("node %s.js ended early", p.script)
		}
		return l
	case <-p.ctx.Done():
		p.fail("timed out waiting for node %s.js", p.script)
	}
	return ""
}

// nextJSON returns the next line, decoded as normalize does.
func (p *nodePeer) nextJSON() any {
	p.t.Helper()
	return decodeLine(p.t, p.next())
}

// expect reads the next line and fails unless it is line.
func (p *nodePeer) expect(line string) {
	p.t.Helper()
	if l := p.next(); l != line {
		p.fail("node %s.js printed %q, want %q", p.script, l, line)
	}
}

// send writes one line to the script's stdin.
func (p *nodePeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.fail("write to node %s.js: %v", p.script, err)
	}
}

// result reads the script's last line and waits for it to exit 0.
func (p *nodePeer) result() any {
	p.t.Helper()
	got := p.nextJSON()
	for range p.lines {
	}
	if err := p.wait(); err != nil {
		p.t.Fatalf("node %s.js: %v\nstderr:\n%s", p.script, err, p.stderr.Bytes())
	}
	return got
}

// kill ends the script with SIGKILL: its connections are cut with no
// GOODBYE, as when a client crashes.
func (p *nodePeer) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.fail("kill node %s.js: %v", p.script, err)
	}
	p.wait()
}

// dialGo joins realm1 at url as a Go client speaking serializer; the
// session is closed when the test ends.
func dialGo(t *testing.T, ctx context.Context, url, serializer string) *client.Session {
	t.Helper()
	c, err := codec.ByName(serializer)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := client.Dial(ctx, url, client.Config{
		Realm:     "realm1",
		Transport: transport.Config{Serializers: []codec.Codec{c}},
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sess.Close(ctx)
	})
	return sess
}

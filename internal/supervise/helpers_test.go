package supervise

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// patience bounds every wait for an event; tests pass long before it.
const patience = 10 * time.Second

// childSpec is a Spec running the test binary with script (see child).
func childSpec(t *testing.T, script ...string) Spec {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Spec{
		Name: t.Name(),
		Path: self,
		Args: script,
		// Under -race, an exiting child would sleep 1s for the detector.
		Env:    append(os.Environ(), childEnv+"=1", "GORACE=atexit_sleep_ms=0"),
		Logger: slog.New(slog.DiscardHandler),
	}
}

// events records OnStart and OnExit.
type events struct {
	starts chan int
	exits  chan Exit
}

func watch(s *Spec) *events {
	ev := &events{starts: make(chan int, 100), exits: make(chan Exit, 100)}
	s.OnStart = func(pid int) { ev.starts <- pid }
	s.OnExit = func(e Exit) { ev.exits <- e }
	return ev
}

func (ev *events) start(t *testing.T) int {
	t.Helper()
	return receive(t, ev.starts, "OnStart")
}

func (ev *events) exit(t *testing.T) Exit {
	t.Helper()
	return receive(t, ev.exits, "OnExit")
}

func receive[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(patience):
		t.Fatalf("no %s within %v", what, patience)
		panic("unreachable")
	}
}

func waitDone(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(patience):
		t.Fatalf("supervision did not end; status %+v", p.Status())
	}
}

// start starts spec and stops it when the test ends.
func start(t *testing.T, spec Spec) *Process {
	t.Helper()
	p, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, p) })
	return p
}

func stop(t *testing.T, p *Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := p.Stop(ctx); err != nil {
		t.Error(err)
	}
}

// eventually waits until cond holds, polling: for conditions no channel
// announces, like another process's death.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within %v", what, patience)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// gone says whether process pid has ended. Killed orphans are reaped by
// PID 1, and a PID 1 that does not reap leaves zombies: those count as
// gone too.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	eventually(t, "gone: pid "+strconv.Itoa(pid), func() bool { return gone(pid) })
}

// readFile waits for a file a child writes (atomically) and returns it.
func readFile(t *testing.T, name string) string {
	t.Helper()
	var b []byte
	eventually(t, "written: "+name, func() bool {
		var err error
		b, err = os.ReadFile(name)
		return err == nil
	})
	return string(b)
}

func tempFile(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}

// closedAddr is an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fileCheck reads an address a child wrote, then checks it with the
// Check that mk makes: the child picks its port, so the address is not
// known before.
type fileCheck struct {
	file string
	mk   func(addr string) Check
}

func (c fileCheck) String() string { return "address in " + c.file }

func (c fileCheck) Check(ctx context.Context) error {
	b, err := os.ReadFile(c.file)
	if err != nil {
		return err
	}
	return c.mk(string(b)).Check(ctx)
}

// logRecorder is a slog.Handler keeping records.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

// find returns the first record whose message contains msg.
func (h *logRecorder) find(msg string) (slog.Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if strings.Contains(r.Message, msg) {
			return r, true
		}
	}
	return slog.Record{}, false
}

func attrs(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

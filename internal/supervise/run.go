package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// drainGrace is how long a run's output is still read after the run's
// process group was killed: only a process that left the group (setsid)
// can keep the pipes open that long.
const drainGrace = 500 * time.Millisecond

// run is one execution of the program. Its fields are set before the
// run is shared (pid, proc, started) or before exited is closed (exit).
type run struct {
	n       int // 1 for the first run
	pid     int
	proc    *os.Process
	started time.Time

	// matched is closed at the first line matching a LogLine check; nil
	// without one.
	matched   chan struct{}
	matchOnce sync.Once

	exited chan struct{} // closed once the run has ended and its output is read
	exit   Exit
}

// spawn starts run number n. Its goroutines (the owner below and two
// output readers) end by themselves after the program exits; exited
// tells when.
func (p *Process) spawn(n int) (*run, error) {
	s := &p.spec
	cmd := exec.Command(p.res.path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = p.res.cred.env(s.Env)
	cmd.ExtraFiles = s.ExtraFiles
	cmd.SysProcAttr = sysProcAttr(p.res.cred)
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	// Files, not writers: exec passes them to the child as they are, with
	// no copying goroutine for Wait to wait on.
	cmd.Stdout, cmd.Stderr = outW, errW
	r := &run{n: n, exited: make(chan struct{})}
	if _, ok := s.Ready.(*logLineCheck); ok {
		r.matched = make(chan struct{})
	}
	started := make(chan error, 1)
	go p.own(r, cmd, [2]*os.File{outR, errR}, [2]*os.File{outW, errW}, started)
	if err := <-started; err != nil {
		return nil, err
	}
	return r, nil
}

// own starts the run and waits for it, on an OS thread of its own.
//
// Pdeathsig (Linux) kills the child when the thread that forked it
// exits, not when the process does. The Go runtime ends a thread when a
// goroutine locked to it exits without unlocking, so a run started from
// an ordinary thread could be killed by some unrelated goroutine's exit.
// Staying locked from the fork until the child is reaped gives the run a
// thread that nothing else uses and that lives as long as this process
// does; it is handed back to the runtime, intact, afterwards.
func (p *Process) own(r *run, cmd *exec.Cmd, rd, wr [2]*os.File, started chan<- error) {
	runtime.LockOSThread()
	err := cmd.Start()
	wr[0].Close()
	wr[1].Close()
	if err != nil {
		runtime.UnlockOSThread()
		rd[0].Close()
		rd[1].Close()
		started <- err
		return
	}
	r.pid, r.proc, r.started = cmd.Process.Pid, cmd.Process, time.Now()
	var readers sync.WaitGroup
	for i, stream := range [2]string{"stdout", "stderr"} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			readLines(rd[i], func(l string) { p.line(r, stream, l) })
		}()
	}
	started <- nil

	werr := cmd.Wait()
	ran := time.Since(r.started)
	runtime.UnlockOSThread()
	// Whatever is left of the run's process group (a shell's background
	// jobs) ends with it: a restart must not find the last run's children
	// holding its port, nor pipes kept open forever.
	syscall.Kill(-r.pid, syscall.SIGKILL)
	deadline := time.Now().Add(drainGrace)
	rd[0].SetReadDeadline(deadline)
	rd[1].SetReadDeadline(deadline)
	readers.Wait()
	rd[0].Close()
	rd[1].Close()

	r.exit = Exit{PID: r.pid, Code: -1, Ran: ran, Err: werr}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			r.exit.Signal = ws.Signal().String()
		} else {
			r.exit.Code = ws.ExitStatus()
		}
	}
	close(r.exited)
}

// line takes one line of a run's output.
func (p *Process) line(r *run, stream, text string) {
	p.mu.Lock()
	p.lines.add(outLine{run: r.n, text: text})
	p.mu.Unlock()
	if p.spec.Output != nil {
		p.spec.Output(stream, text)
	} else {
		level := slog.LevelInfo
		if stream == "stderr" {
			level = slog.LevelWarn
		}
		p.spec.Logger.Log(context.Background(), level, text, "process", p.spec.Name, "stream", stream, "pid", r.pid)
	}
	if r.matched != nil && p.spec.Ready.(*logLineCheck).re.MatchString(text) {
		r.matchOnce.Do(func() { close(r.matched) })
	}
}

// stopRun stops the run: StopSignal to its process group, then SIGKILL
// after StopTimeout, or at once when Stop's context or force ends. It
// returns once the run has ended.
func (p *Process) stopRun(r *run, force <-chan struct{}) {
	p.setState(Stopping)
	select {
	case <-r.exited:
		return
	default:
	}
	syscall.Kill(-r.pid, p.spec.StopSignal)
	t := time.NewTimer(p.spec.StopTimeout)
	defer t.Stop()
	select {
	case <-r.exited:
		return
	case <-t.C:
		p.spec.Logger.Warn(fmt.Sprintf("%s: still running %v after %v; killing it", p.spec.who(), p.spec.StopSignal, p.spec.StopTimeout),
			"process", p.spec.Name, "pid", r.pid)
	case <-p.kill:
	case <-force:
	}
	syscall.Kill(-r.pid, syscall.SIGKILL)
	<-r.exited
}

// describe says how a run ended, for errors and logs.
func (e Exit) describe() string {
	switch {
	case e.PID == 0 && e.Err != nil:
		return e.Err.Error()
	case e.Signal != "":
		return "signal: " + e.Signal
	default:
		return fmt.Sprintf("exit status %d", e.Code)
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// The floor is what a message costs on this machine before any router is
// involved: a loopback TCP round trip between this process and a child
// echo process, at the run's cadence. A latency figure means little
// without it: on a virtual machine, waking a halted vCPU can take
// milliseconds, and a Go program, whose runtime spreads its threads over
// the CPUs, pays that where a single-threaded C program ping-ponging on
// one CPU does not. Two probes, one after the other:
//
//   - "go": both ends use Go's net package and its poller, as the router
//     and this tool do;
//   - "blocking": both ends block in read(2) on a locked OS thread, what
//     the kernel alone costs.

// floorEnv names the probe a child process echoes for; set, the process
// is the echo child, not the load tool.
const floorEnv = "JUNCTION_LOAD_FLOOR_ECHO"

// floorMessage is the size of a probe message, about a small EVENT's.
const floorMessage = 64

// floorResult is the report of the floor probes.
type floorResult struct {
	IntervalMS float64 `json:"interval_ms"`
	Go         latency `json:"go_rtt"`
	Blocking   latency `json:"blocking_rtt"`
}

func (f *floorResult) summary(w io.Writer) {
	fmt.Fprintf(w, "  floor       loopback round trip every %.2f ms, Go net: %s\n", f.IntervalMS, f.Go)
	fmt.Fprintf(w, "              blocking read(2) on locked threads: %s\n", f.Blocking)
}

// floorInterval is the probes' cadence: a publisher's with -rate, else
// 5 ms (200 a second, the light-load rate).
func (o *options) floorInterval() time.Duration {
	if o.Mode == "pubsub" && o.Rate > 0 {
		return time.Duration(float64(time.Second) / o.Rate)
	}
	return 5 * time.Millisecond
}

// measureFloor runs the probes if -floor asks for them, before the run's
// sessions open; nil without -floor.
func (o *options) measureFloor(ctx context.Context) (*floorResult, error) {
	if o.Floor <= 0 {
		return nil, nil
	}
	return runFloor(ctx, o.Floor, o.floorInterval())
}

// runFloor runs both probes, rounds round trips each, every interval.
func runFloor(ctx context.Context, rounds int, interval time.Duration) (*floorResult, error) {
	res := &floorResult{IntervalMS: float64(interval) / float64(time.Millisecond)}
	for _, p := range []struct {
		name string
		out  *latency
	}{{"go", &res.Go}, {"blocking", &res.Blocking}} {
		h, err := probeFloor(ctx, p.name, rounds, interval)
		if err != nil {
			return nil, fmt.Errorf("floor probe %s: %w", p.name, err)
		}
		*p.out = h.latency()
	}
	return res, nil
}

// probeFloor starts an echo child for probe and times rounds round trips
// with it.
func probeFloor(ctx context.Context, probe string, rounds int, interval time.Duration) (*histogram, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	lf, err := ln.File() // the child inherits this copy as fd 3
	ln.Close()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		lf.Close()
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), floorEnv+"="+probe)
	cmd.ExtraFiles = []*os.File{lf}
	cmd.Stderr = os.Stderr
	err = cmd.Start()
	lf.Close()
	if err != nil {
		return nil, fmt.Errorf("start echo child: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	var h histogram
	if probe == "go" {
		err = pingGo(addr, rounds, interval, &h)
	} else {
		err = pingBlocking(addr, rounds, interval, &h)
	}
	// The child ends when its connection does: wait for it, within bounds.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case werr := <-done:
		if err == nil && werr != nil {
			err = fmt.Errorf("echo child: %w", werr)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		if err == nil {
			err = errors.New("echo child did not exit after its connection closed")
		}
	}
	if err != nil {
		return nil, err
	}
	return &h, nil
}

// pingGo times round trips over a net.TCPConn.
func pingGo(addr *net.TCPAddr, rounds int, interval time.Duration, h *histogram) error {
	c, err := net.DialTCP("tcp", nil, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, floorMessage)
	return pace(rounds, interval, h, func() error {
		if _, err := c.Write(buf); err != nil {
			return err
		}
		_, err := io.ReadFull(c, buf)
		return err
	})
}

// pingBlocking times round trips with blocking system calls on a thread
// of its own, bypassing the poller.
func pingBlocking(addr *net.TCPAddr, rounds int, interval time.Duration, h *histogram) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer syscall.Close(fd)
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], addr.IP.To4())
	if err := syscall.Connect(fd, sa); err != nil {
		return os.NewSyscallError("connect", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
		return os.NewSyscallError("setsockopt", err)
	}
	buf := make([]byte, floorMessage)
	return pace(rounds, interval, h, func() error {
		if err := moveAll("write", syscall.Write, fd, buf); err != nil {
			return err
		}
		return moveAll("read", syscall.Read, fd, buf)
	})
}

// pace runs trip rounds times, one every interval on a fixed schedule,
// and records how long each took.
func pace(rounds int, interval time.Duration, h *histogram, trip func() error) error {
	next := time.Now()
	for range rounds {
		next = next.Add(interval)
		time.Sleep(time.Until(next))
		t := time.Now()
		if err := trip(); err != nil {
			return err
		}
		h.record(time.Since(t).Nanoseconds())
	}
	return nil
}

// moveAll moves all of b with op, syscall.Read or syscall.Write on a
// blocking fd, named name in errors.
func moveAll(name string, op func(int, []byte) (int, error), fd int, b []byte) error {
	for len(b) > 0 {
		n, err := op(fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError(name, err)
		}
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		b = b[n:]
	}
	return nil
}

// floorChild reports whether this process is an echo child, and if so
// runs it and returns its exit code.
func floorChild() (code int, child bool) {
	probe, ok := os.LookupEnv(floorEnv)
	if !ok {
		return 0, false
	}
	if err := echo(probe); err != nil {
		fmt.Fprintf(os.Stderr, "load: floor echo (%s): %v\n", probe, err)
		return 1, true
	}
	return 0, true
}

// echo accepts one connection on the inherited listener (fd 3) and
// sends back what it reads until the peer closes.
func echo(probe string) error {
	const listenerFD = 3
	switch probe {
	case "go":
		ln, err := net.FileListener(os.NewFile(listenerFD, "floor-listener"))
		if err != nil {
			return err
		}
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 4096) // a plain loop: io.Copy would splice(2)
		for {
			n, err := c.Read(buf)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return err
			}
		}
	case "blocking":
		runtime.LockOSThread()
		if err := syscall.SetNonblock(listenerFD, false); err != nil {
			return os.NewSyscallError("fcntl", err)
		}
		fd, _, err := syscall.Accept(listenerFD)
		syscall.Close(listenerFD)
		if err != nil {
			return os.NewSyscallError("accept", err)
		}
		defer syscall.Close(fd)
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
			return os.NewSyscallError("setsockopt", err)
		}
		buf := make([]byte, 4096)
		for {
			n, err := syscall.Read(fd, buf)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return os.NewSyscallError("read", err)
			}
			if n == 0 {
				return nil
			}
			if err := moveAll("write", syscall.Write, fd, buf[:n]); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("unknown probe %q", probe)
}

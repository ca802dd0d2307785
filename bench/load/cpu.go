package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultClockTicks is USER_HZ, the unit of utime and stime in
// /proc/PID/stat. Linux fixes it at 100 on every architecture Go runs on;
// clockTicks still asks the kernel (AT_CLKTCK in /proc/self/auxv), which is
// what sysconf(_SC_CLK_TCK) does.
const defaultClockTicks = 100

// atClkTck is the auxiliary vector entry holding the clock tick rate.
const atClkTck = 17

// clockTicks returns the tick rate of /proc/PID/stat's CPU times.
func clockTicks() int64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return defaultClockTicks
	}
	if hz := auxvValue(b, atClkTck); hz > 0 {
		return int64(hz)
	}
	return defaultClockTicks
}

// auxvValue returns the value of entry key in an auxiliary vector of
// 64-bit native-endian pairs, 0 if absent.
func auxvValue(b []byte, key uint64) uint64 {
	for len(b) >= 16 {
		k, v := binary.NativeEndian.Uint64(b), binary.NativeEndian.Uint64(b[8:])
		if k == key {
			return v
		}
		if k == 0 { // AT_NULL ends the vector
			break
		}
		b = b[16:]
	}
	return 0
}

// parseStatCPU returns utime+stime, in clock ticks, from the text of
// /proc/PID/stat. The second field, the command name in parentheses, may
// itself hold spaces and parentheses, so the fields are counted from the
// last ')'.
func parseStatCPU(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no ')' after the command name")
	}
	// After the name: field 3 (state) is rest[0], so field n is rest[n-3].
	rest := strings.Fields(stat[i+1:])
	const utime, stime = 14 - 3, 15 - 3
	if len(rest) <= stime {
		return 0, fmt.Errorf("%d fields after the command name, want at least %d", len(rest), stime+1)
	}
	u, err := strconv.ParseInt(rest[utime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	s, err := strconv.ParseInt(rest[stime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return u + s, nil
}

// processCPU returns the user+system CPU time process pid has used.
func processCPU(pid int, hz int64) (time.Duration, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read CPU: %w", err)
	}
	ticks, err := parseStatCPU(string(b))
	if err != nil {
		return 0, fmt.Errorf("read CPU: %s: %w", path, err)
	}
	return time.Duration(ticks) * time.Second / time.Duration(hz), nil
}

// selfCPU returns the user+system CPU time of this process, to the
// microsecond.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// cpuUsage is the CPU the router and this tool spent in a measured phase.
// The router's side is only there with -pid.
type cpuUsage struct {
	Op             string  `json:"op"` // what one operation is: call, event, session
	Ops            int64   `json:"ops"`
	WallSeconds    float64 `json:"wall_seconds"`
	RouterSeconds  float64 `json:"router_cpu_seconds,omitempty"`
	RouterPerOpUS  float64 `json:"router_cpu_us_per_op,omitempty"`
	RouterCores    float64 `json:"router_cores,omitempty"` // CPU seconds per wall second
	LoadSeconds    float64 `json:"load_cpu_seconds"`
	LoadPerOpUS    float64 `json:"load_cpu_us_per_op"`
	LoadCores      float64 `json:"load_cores"`
	RouterMeasured bool    `json:"router_measured"`
	RouterCommand  string  `json:"router_command,omitempty"` // /proc/PID/comm, to catch a -pid of the wrong process
}

// cpuMeter takes the CPU times at the start of a measured phase.
type cpuMeter struct {
	pid          int
	peer         int // a second router process (another node), 0 for none
	comm         string
	hz           int64
	wall         time.Time
	router, self time.Duration
}

// routerCPU is the CPU time of the router, and of its peer node if any.
func (m *cpuMeter) routerCPU() (time.Duration, error) {
	d, err := processCPU(m.pid, m.hz)
	if err != nil || m.peer == 0 {
		return d, err
	}
	p, err := processCPU(m.peer, m.hz)
	return d + p, err
}

// startCPU reads both processes' CPU times now; pid 0 measures only this
// tool. peer, if not 0, is a second router process (the other node of a
// cross-node run), whose CPU counts as the router's.
func startCPU(pid, peer int) (*cpuMeter, error) {
	m := &cpuMeter{pid: pid, peer: peer, hz: clockTicks(), wall: time.Now()}
	var err error
	if pid > 0 {
		if m.router, err = m.routerCPU(); err != nil {
			return nil, err
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil {
			return nil, fmt.Errorf("read CPU: %w", err)
		}
		m.comm = strings.TrimSpace(string(b))
	}
	if m.self, err = selfCPU(); err != nil {
		return nil, err
	}
	return m, nil
}

// stop reads the CPU times again and divides by ops operations of kind op.
func (m *cpuMeter) stop(op string, ops int64) (cpuUsage, error) {
	u := cpuUsage{Op: op, Ops: ops, WallSeconds: time.Since(m.wall).Seconds()}
	self, err := selfCPU()
	if err != nil {
		return u, err
	}
	perOp := func(d time.Duration) float64 {
		if ops <= 0 {
			return 0
		}
		return float64(d) / float64(time.Microsecond) / float64(ops)
	}
	cores := func(d time.Duration) float64 {
		if u.WallSeconds <= 0 {
			return 0
		}
		return d.Seconds() / u.WallSeconds
	}
	u.LoadSeconds, u.LoadPerOpUS, u.LoadCores = (self - m.self).Seconds(), perOp(self-m.self), cores(self-m.self)
	if m.pid > 0 {
		router, err := m.routerCPU()
		if err != nil {
			return u, err
		}
		d := router - m.router
		u.RouterMeasured, u.RouterCommand = true, m.comm
		u.RouterSeconds, u.RouterPerOpUS, u.RouterCores = d.Seconds(), perOp(d), cores(d)
	}
	return u, nil
}

// summary writes the CPU lines of a report.
func (u *cpuUsage) summary(w io.Writer) {
	if u.RouterMeasured {
		fmt.Fprintf(w, "  router CPU  %.2f s, %.2f µs per %s (%.0f%% of a core; %s)\n",
			u.RouterSeconds, u.RouterPerOpUS, u.Op, 100*u.RouterCores, u.RouterCommand)
	} else {
		fmt.Fprintln(w, "  router CPU  not measured (no -pid)")
	}
	fmt.Fprintf(w, "  load CPU    %.2f s, %.2f µs per %s (%.0f%% of a core)\n",
		u.LoadSeconds, u.LoadPerOpUS, u.Op, 100*u.LoadCores)
}

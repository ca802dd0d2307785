package main

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// spreadURLs returns n copies of rawURL whose hosts are n consecutive IPv4
// addresses starting at its own: ws://127.0.0.1:8080/ws with n = 3 gives
// 127.0.0.1, 127.0.0.2 and 127.0.0.3. Linux limits the ephemeral ports of
// one source address towards one destination address and port (about
// 28,000 with the default ip_local_port_range), so sessions spread over
// several destination addresses of 127.0.0.0/8, all of which Linux routes
// to lo, can go past it. The router must listen on all of them (for
// example on 0.0.0.0, or on one listener per address).
func spreadURLs(rawURL string, n int) ([]string, error) {
	if n <= 1 {
		return []string{rawURL}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, fmt.Errorf("-spread needs a URL with host:port: %w", err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() {
		return nil, fmt.Errorf("-spread needs a URL whose host is an IPv4 address, not %q", host)
	}
	urls := make([]string, n)
	for i := range n {
		if !ip.IsValid() || (i > 0 && ip == netip.IPv4Unspecified()) {
			return nil, fmt.Errorf("-spread %d runs past the end of the IPv4 space from %s", n, host)
		}
		v := *u
		v.Host = net.JoinHostPort(ip.String(), port)
		urls[i] = v.String()
		ip = ip.Next()
	}
	return urls, nil
}

// raiseFileLimit raises this process's RLIMIT_NOFILE soft limit to its
// hard limit and reports an error if that still leaves fewer than need
// descriptors.
func raiseFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise open-file limit to %d: %w", lim.Max, err)
		}
	}
	if uint64(need) > lim.Cur {
		return fmt.Errorf("need %d open files but the hard limit is %d: raise it (ulimit -Hn, /etc/security/limits.conf or systemd LimitNOFILE)", need, lim.Cur)
	}
	return nil
}

// fileLimit returns the soft "Max open files" limit of process pid from
// /proc/PID/limits; -1 means unlimited.
func fileLimit(pid int) (int64, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/limits"
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read open-file limit: %w", err)
	}
	return parseFileLimit(string(b))
}

// parseFileLimit reads the soft limit from the text of /proc/PID/limits.
func parseFileLimit(limits string) (int64, error) {
	for line := range strings.SplitSeq(limits, "\n") {
		rest, ok := strings.CutPrefix(line, "Max open files")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 1 {
			break
		}
		if f[0] == "unlimited" {
			return -1, nil
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no \"Max open files\" line")
}

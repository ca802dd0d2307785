package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// rawSocketAddr parses a --rawsocket value: HOST:PORT or tcp://HOST:PORT
// for TCP, unix:PATH or unix://PATH for a Unix socket.
func rawSocketAddr(v string) (network, address string, err error) {
	if path, ok := strings.CutPrefix(v, "unix:"); ok {
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return "", "", usageError{fmt.Errorf("bad --rawsocket %q: want unix:PATH", v)}
		}
		return "unix", path, nil
	}
	for _, scheme := range []string{"tcp://", "rs://"} {
		v = strings.TrimPrefix(v, scheme)
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return "", "", usageError{fmt.Errorf("bad --rawsocket %q: want HOST:PORT or unix:PATH", v)}
	}
	return "tcp", v, nil
}

// listenRawSockets opens a listener per --rawsocket value, or none if one
// fails.
func listenRawSockets(values []string) ([]net.Listener, error) {
	var ls []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, l := range ls {
			l.Close()
		}
		return nil, err
	}
	for _, v := range values {
		network, address, err := rawSocketAddr(v)
		if err != nil {
			return fail(err)
		}
		if network == "unix" {
			if err := removeStaleSocket(address); err != nil {
				return fail(fmt.Errorf("listen rawsocket: %w", err))
			}
		}
		// A Unix socket's file is removed when its listener closes.
		l, err := net.Listen(network, address)
		if err != nil {
			return fail(fmt.Errorf("listen rawsocket: %w", err))
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// removeStaleSocket removes the socket file a router that did not stop
// cleanly left at path. It refuses to remove anything else: a file that
// is not a socket, or a socket some process still listens on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("%s: another process listens on it", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// rawSocketURL is the URL clients dial for a RawSocket listener's
// address: tcp://HOST:PORT, unix:///ABSOLUTE/PATH or unix:RELATIVE/PATH.
func rawSocketURL(a net.Addr) string {
	if a.Network() != "unix" {
		return "tcp://" + a.String()
	}
	if filepath.IsAbs(a.String()) {
		return "unix://" + a.String()
	}
	return "unix:" + a.String()
}

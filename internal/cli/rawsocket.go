package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
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

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
// (or rs://) for TCP, unix:PATH or unix://PATH for a Unix socket.
func rawSocketAddr(v string) (network, address string, err error) {
	for _, scheme := range []string{"tcp://", "rs://"} {
		v = strings.TrimPrefix(v, scheme)
	}
	return listenAddr(listenRawSocket, v)
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

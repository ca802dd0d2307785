package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
)

// The checks of values that both a flag and the configuration file set,
// so that both accept the same values. Their errors say what a good
// value is; the caller names the flag or key and the value.

// checkMessageSize bounds a message size: a smaller limit would refuse a
// HELLO or WELCOME, a larger one would let one message take gigabytes.
func checkMessageSize(n int) error {
	if n < transport.MinMessageSize || n > transport.MaxMessageSize {
		return fmt.Errorf("want %d bytes (1 KiB) to %d (1 GiB)", transport.MinMessageSize, transport.MaxMessageSize)
	}
	return nil
}

// checkCount wants a count of at least one.
func checkCount(n int) error {
	if n <= 0 {
		return errors.New("want a count above 0")
	}
	return nil
}

// checkConnLimit wants a connection limit: a count, or -1 for none.
func checkConnLimit(n int) error {
	if n == 0 || n < -1 {
		return errors.New("want a count above 0, or -1 for no limit")
	}
	return nil
}

// checkTimeout wants a duration above zero.
func checkTimeout(d time.Duration) error {
	if d <= 0 {
		return errors.New("want a duration above 0, such as 10s or 1m30s")
	}
	return nil
}

// checkLogLevel accepts what slog.Level reads: debug, info, warn, error.
func checkLogLevel(s string) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return errors.New("want debug, info, warn or error")
	}
	return nil
}

func checkLogFormat(s string) error {
	if s != "text" && s != "json" {
		return errors.New("want text or json")
	}
	return nil
}

// checkListen wants the address of a WebSocket listener, HOST:PORT.
func checkListen(s string) error {
	_, _, err := listenAddr(listenWebSocket, s)
	return err
}

// checkRawSocket wants a --rawsocket address.
func checkRawSocket(s string) error {
	_, _, err := rawSocketAddr(s)
	return err
}

// checkRealm wants a realm name the router accepts.
func checkOptionalHostPort(s string) error {
	if s == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	return nil
}

func checkHostPorts(s string) error {
	for _, a := range splitList(s) {
		if err := checkOptionalHostPort(a); err != nil {
			return fmt.Errorf("%q: %w", a, err)
		}
	}
	return nil
}

func checkNATSURLs(s string) error {
	return cluster.Config{NATS: splitList(s), Name: "x"}.Validate()
}

func checkNodeName(s string) error {
	if s != "" && !router.ValidNodeName(s) {
		return errors.New("want 1 to 64 letters, digits, '-' or '_'")
	}
	return nil
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func checkRealm(s string) error {
	return checkRouter(router.Config{Realms: []string{s}})
}

// checkBounds checks the file's values that flags set too, with the
// flags' checks, and its timeouts. A key left out (zero) takes its
// default; a key given must hold a value its flag would accept, zero
// included: 0 connections or a timeout of 0s is a mistake, not a way to
// ask for the default.
func (cf *configFile) checkBounds() error {
	c := &cf.cfg
	for _, b := range []struct {
		path  []any
		value any
		err   error
	}{
		{[]any{"transport", "max_message_size"}, c.Transport.MaxMessageSize, checkMessageSize(c.Transport.MaxMessageSize)},
		{[]any{"transport", "max_hello_size"}, c.Transport.MaxHelloSize, checkMessageSize(c.Transport.MaxHelloSize)},
		{[]any{"transport", "outbound_queue"}, c.Transport.OutboundQueue, checkCount(c.Transport.OutboundQueue)},
		{[]any{"transport", "read_timeout"}, c.Transport.ReadTimeout, checkTimeout(c.Transport.ReadTimeout)},
		{[]any{"transport", "write_timeout"}, c.Transport.WriteTimeout, checkTimeout(c.Transport.WriteTimeout)},
		{[]any{"connections", "max_connections"}, c.Connections.MaxConnections, checkConnLimit(c.Connections.MaxConnections)},
		{[]any{"connections", "max_connections_per_ip"}, c.Connections.MaxConnectionsPerIP, checkConnLimit(c.Connections.MaxConnectionsPerIP)},
		{[]any{"connections", "idle_timeout"}, c.Connections.IdleTimeout, checkTimeout(c.Connections.IdleTimeout)},
		{[]any{"goodbye_timeout"}, c.GoodbyeTimeout, checkTimeout(c.GoodbyeTimeout)},
	} {
		if b.err == nil {
			continue
		}
		// A value not zero is checked even where the tree does not show
		// it (behind a YAML alias).
		zero := b.value == 0 || b.value == time.Duration(0)
		if !zero || cf.given(b.path...) {
			return cf.at(fmt.Errorf("%v: %w", b.value, b.err), b.path...)
		}
	}
	return nil
}

// given reports whether the file holds a value at path: mapping keys
// (strings) and list indices (ints).
func (cf *configFile) given(path ...any) bool {
	n := cf.root
	for _, p := range path {
		if n == nil {
			return false
		}
		n, _ = child(n, p)
	}
	return n != nil
}

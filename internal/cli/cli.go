package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Version is the junction version, set at build time with
// -ldflags "-X github.com/junction-run/junction/internal/cli.Version=v1.2.3".
var Version = "v0.1.0-dev"

const usage = `junction: a WAMP v2 router and real-time application framework

Usage:
  junction router [flags]   serve WAMP over WebSocket (ws://HOST:PORT/ws) and RawSocket (--rawsocket)
  junction demo [flags]     run a demo app (router, HTTP, RPC, queue, cron) and two clients that use it
  junction version          print the version
  junction help             show this help

Run "junction COMMAND -h" for the flags of a command.
`

// Main runs the command line args and returns the process exit code: 0 on
// success, 1 on failure, 2 for bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "router":
		err = runRouter(args[1:], stdout, stderr)
	case "demo":
		err = runDemo(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "junction %s\n", Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "junction: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "junction %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "junction %s: %v\n", args[0], err)
		return 1
	}
}

// usageError marks errors in the command line itself (exit code 2).
type usageError struct{ error }

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// logFlags are shared by the commands that run servers.
type logFlags struct {
	level  string
	format string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usageError{fmt.Errorf("bad --log-level %q: want debug, info, warn or error", l.level)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("bad --log-format %q: want text or json", l.format)}
}

// parse parses fs, turning its errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/junction-run/junction/internal/suggest"
)

// Version is the junction version, set at build time with
// -ldflags "-X github.com/junction-run/junction/internal/cli.Version=v1.2.3".
var Version = "v0.1.0-dev"

// command is a subcommand of junction.
type command struct {
	name    string
	args    string // synopsis of its arguments; "" when it takes none
	summary string // one line for the help
	// setup declares the command's flags on fs and returns its work, to
	// run once they are parsed, with the arguments that follow them.
	setup func(fs *flagSet) work
}

type work func(args []string, stdout, stderr io.Writer) error

// commands returns the command table. Each call makes new flags, which
// start from their defaults.
func commands() []command {
	return []command{
		{name: "router", summary: "serve WAMP over WebSocket (ws://HOST:PORT/ws) and RawSocket (--rawsocket)", setup: setupRouter},
		{name: "demo", summary: "run a demo app (router, HTTP, RPC, queue, cron) and two clients that use it", setup: setupDemo},
		{name: "version", summary: "print the version", setup: setupVersion},
		{name: "help", args: "[command]", summary: "show this help, or a command's", setup: setupHelp},
	}
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Main runs the command line args and returns the process exit code: 0 on
// success and for help, 1 on failure, 2 for bad usage. Help goes to
// stdout, errors to stderr: one line each (a configuration file may have
// several faults), then for bad usage a pointer to the command's --help.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	name := args[0]
	cmd, ok := findCommand(name)
	var err error
	switch {
	case ok:
		err = cmd.run(args[1:], stdout, stderr)
	case name == "-h" || name == "-help" || name == "--help":
		_, err = io.WriteString(stdout, usage())
	case strings.HasPrefix(name, "-"):
		err = usagef("%s: the command comes first: junction COMMAND [flags]", name)
	default:
		err = usagef("unknown command %q%s", name, suggest.DidYouMean(" (did you mean %q?)", name, commandNames()))
	}
	if err == nil {
		return 0
	}
	prog := "junction"
	if ok {
		prog += " " + cmd.name
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(stderr, "%s: %s\n", prog, line)
	}
	if errors.As(err, new(usageError)) {
		if ok && cmd.name == "help" {
			prog = "junction" // help's mistakes are about the commands
		}
		fmt.Fprintf(stderr, "run '%s --help' for usage\n", prog)
		return 2
	}
	return 1
}

// run parses the command's flags in args and runs it, or prints its help.
func (c command) run(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("junction " + c.name)
	w := c.setup(fs)
	rest, err := fs.parse(args)
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(stdout, c.help(fs))
		return err
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 && c.args == "" {
		return usagef("unexpected argument %q: %s takes no arguments", rest[0], c.name)
	}
	return w(rest, stdout, stderr)
}

// help is the command's --help: how to call it and its flags.
func (c command) help(fs *flagSet) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	fmt.Fprintf(&b, "  %s   %s\n", c.synopsis(), c.summary)
	fs.writeHelp(&b)
	return b.String()
}

// synopsis returns how to call c: "junction router [flags]".
func (c command) synopsis() string {
	s := "junction " + c.name
	if len(newFlagSetFor(c).order) > 0 {
		s += " [flags]"
	}
	if c.args != "" {
		s += " " + c.args
	}
	return s
}

// newFlagSetFor returns the flags c declares.
func newFlagSetFor(c command) *flagSet {
	fs := newFlagSet("junction " + c.name)
	c.setup(fs)
	return fs
}

func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}

// usage is junction's help: its commands.
func usage() string {
	var b strings.Builder
	b.WriteString("junction: a WAMP v2 router and real-time application framework\n\nUsage:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range commands() {
		fmt.Fprintf(tw, "  %s\t%s\n", c.synopsis(), c.summary)
	}
	tw.Flush()
	b.WriteString("\nRun 'junction COMMAND --help' for the flags of a command.\n")
	return b.String()
}

func setupVersion(*flagSet) work {
	return func(_ []string, stdout, _ io.Writer) error {
		_, err := fmt.Fprintf(stdout, "junction %s\n", Version)
		return err
	}
}

func setupHelp(*flagSet) work {
	return func(args []string, stdout, _ io.Writer) error {
		switch len(args) {
		case 0:
			_, err := io.WriteString(stdout, usage())
			return err
		case 1:
			c, ok := findCommand(args[0])
			if !ok {
				return usagef("unknown command %q%s", args[0], suggest.DidYouMean(" (did you mean %q?)", args[0], commandNames()))
			}
			_, err := io.WriteString(stdout, c.help(newFlagSetFor(c)))
			return err
		}
		return usagef("help takes one command, not %d", len(args))
	}
}

// usageError marks errors in the command line itself (exit code 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// logFlags are shared by the commands that run servers.
type logFlags struct {
	level  string
	format string
}

// register declares --log-level, whose default is level, and
// --log-format.
func (l *logFlags) register(fs *flagSet, level string) {
	fs.String(&l.level, "log-level", level, "log `level`: debug, info, warn or error", checkLogLevel)
	fs.String(&l.format, "log-format", "text", "log `format`: text or json", checkLogFormat)
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, usagef("invalid log level %q: want debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("invalid log format %q: want text or json", l.format)
}

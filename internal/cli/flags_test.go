package cli

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBadCommandLines: each mistake is one line on stderr naming the
// flag and the value at fault, then where the help is, exit code 2, and
// nothing on stdout.
func TestBadCommandLines(t *testing.T) {
	const (
		routerHint = "run 'junction router --help' for usage\n"
		demoHint   = "run 'junction demo --help' for usage\n"
		topHint    = "run 'junction --help' for usage\n"
	)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"router", "--bogus"}, "junction router: unknown flag --bogus\n" + routerHint},
		{[]string{"router", "-bogus=1"}, "junction router: unknown flag --bogus\n" + routerHint},
		{[]string{"router", "--max-conections", "5"}, "junction router: unknown flag --max-conections (did you mean --max-connections?)\n" + routerHint},
		{[]string{"router", "---listen", "x"}, "junction router: bad flag syntax: ---listen\n" + routerHint},
		{[]string{"router", "--listen"}, "junction router: flag --listen needs a value\n" + routerHint},
		{[]string{"router", "--listen", "nonsense"}, `junction router: invalid value "nonsense" for --listen: want HOST:PORT, such as 127.0.0.1:8080, :8080 or [::1]:8080` + "\n" + routerHint},
		{[]string{"router", "--listen", "unix:/tmp/j.sock"}, `junction router: invalid value "unix:/tmp/j.sock" for --listen: only rawsocket listeners take unix:PATH` + "\n" + routerHint},
		{[]string{"router", "--idle-timeout", "banana"}, `junction router: invalid value "banana" for --idle-timeout: want a duration such as 10s or 1m30s` + "\n" + routerHint},
		{[]string{"router", "--idle-timeout", "0"}, `junction router: invalid value "0" for --idle-timeout: want a duration above 0, such as 10s or 1m30s` + "\n" + routerHint},
		{[]string{"router", "--idle-timeout=-1s"}, `junction router: invalid value "-1s" for --idle-timeout: want a duration above 0, such as 10s or 1m30s` + "\n" + routerHint},
		{[]string{"router", "--max-connections", "-5"}, `junction router: invalid value "-5" for --max-connections: want a count above 0, or -1 for no limit` + "\n" + routerHint},
		{[]string{"router", "--max-connections", "0"}, `junction router: invalid value "0" for --max-connections: want a count above 0, or -1 for no limit` + "\n" + routerHint},
		{[]string{"router", "--max-connections", "lots"}, `junction router: invalid value "lots" for --max-connections: want an integer` + "\n" + routerHint},
		{[]string{"router", "--max-connections-per-ip", "-2"}, `junction router: invalid value "-2" for --max-connections-per-ip: want a count above 0, or -1 for no limit` + "\n" + routerHint},
		{[]string{"router", "--max-connections", "10", "--max-connections-per-ip", "20"},
			"junction router: connlimit: max connections per IP (20) is above max connections (10) (--max-connections-per-ip, --max-connections, or connections: in the configuration file)\n" + routerHint},
		{[]string{"router", "--outbound-queue", "0"}, `junction router: invalid value "0" for --outbound-queue: want a count above 0` + "\n" + routerHint},
		{[]string{"router", "--max-message-size", "10"}, `junction router: invalid value "10" for --max-message-size: want 1024 bytes (1 KiB) to 1073741824 (1 GiB)` + "\n" + routerHint},
		{[]string{"router", "--max-message-size", "2147483648"}, `junction router: invalid value "2147483648" for --max-message-size: want 1024 bytes (1 KiB) to 1073741824 (1 GiB)` + "\n" + routerHint},
		{[]string{"router", "--log-level", "loud"}, `junction router: invalid value "loud" for --log-level: want debug, info, warn or error` + "\n" + routerHint},
		{[]string{"router", "--log-format", "xml"}, `junction router: invalid value "xml" for --log-format: want text or json` + "\n" + routerHint},
		{[]string{"router", "--rawsocket", "127.0.0.1:99999"}, `junction router: invalid value "127.0.0.1:99999" for --rawsocket: port "99999" is not a number from 0 to 65535` + "\n" + routerHint},
		{[]string{"router", "--realm", "bad realm"}, `junction router: invalid value "bad realm" for --realm: router: invalid realm name: "bad realm"` + "\n" + routerHint},
		{[]string{"router", "--event-history", "news"}, `junction router: invalid value "news" for --event-history: want [prefix:|wildcard:]TOPIC=LIMIT` + "\n" + routerHint},
		{[]string{"router", "extra"}, `junction router: unexpected argument "extra": router takes no arguments` + "\n" + routerHint},
		{[]string{"demo", "--bogus"}, "junction demo: unknown flag --bogus\n" + demoHint},
		{[]string{"demo", "--listen", "nonsense"}, `junction demo: invalid value "nonsense" for --listen: want HOST:PORT, such as 127.0.0.1:8080, :8080 or [::1]:8080` + "\n" + demoHint},
		{[]string{"demo", "--log-level"}, "junction demo: flag --log-level needs a value\n" + demoHint},
		{[]string{"demo", "--log-level", "loud"}, `junction demo: invalid value "loud" for --log-level: want debug, info, warn or error` + "\n" + demoHint},
		{[]string{"demo", "--once", "false"}, "junction demo: flag --once takes its value after '=': --once=false\n" + demoHint},
		{[]string{"demo", "--once=maybe"}, `junction demo: invalid value "maybe" for --once: want true or false` + "\n" + demoHint},
		{[]string{"version", "--bogus"}, "junction version: unknown flag --bogus\nrun 'junction version --help' for usage\n"},
		{[]string{"version", "extra"}, `junction version: unexpected argument "extra": version takes no arguments` + "\nrun 'junction version --help' for usage\n"},
		{[]string{"route"}, `junction: unknown command "route" (did you mean "router"?)` + "\n" + topHint},
		{[]string{"--listen", "x"}, "junction: --listen: the command comes first: junction COMMAND [flags]\n" + topHint},
		{[]string{"help", "bogus"}, `junction help: unknown command "bogus"` + "\n" + topHint},
		{[]string{"help", "router", "demo"}, "junction help: help takes one command, not 2\n" + topHint},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(tc.args, &stdout, &stderr)
		if code != 2 || stderr.String() != tc.want || stdout.Len() > 0 {
			t.Errorf("junction %s: exit %d, stderr:\n%s\nstdout: %q\nwant exit 2, stderr:\n%s", strings.Join(tc.args, " "), code, stderr.String(), stdout.String(), tc.want)
		}
	}
}

// TestHelp: --help, -h and `junction help COMMAND` print the same help on
// stdout, exit 0, and say nothing on stderr; so do `junction help` and
// `junction --help` for the list of commands.
func TestHelp(t *testing.T) {
	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := Main(args, &stdout, &stderr); code != 0 || stderr.Len() > 0 || stdout.Len() == 0 {
			t.Fatalf("junction %s: exit %d, stderr %q, stdout %q; want exit 0 and help on stdout only", strings.Join(args, " "), code, stderr.String(), stdout.String())
		}
		return stdout.String()
	}
	for _, c := range commands() {
		help := run(c.name, "--help")
		if !strings.HasPrefix(help, "Usage:\n  junction "+c.name) || !strings.Contains(help, c.summary) {
			t.Errorf("junction %s --help:\n%s", c.name, help)
		}
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "-help"}, {"help", c.name}} {
			if other := run(args...); other != help {
				t.Errorf("junction %s:\n%s\nwant what --help prints:\n%s", strings.Join(args, " "), other, help)
			}
		}
	}
	list := run("help")
	for _, c := range commands() {
		if !strings.Contains(list, "junction "+c.name) {
			t.Errorf("junction help does not list %s:\n%s", c.name, list)
		}
	}
	if other := run("--help"); other != list {
		t.Errorf("junction --help:\n%s\nwant what junction help prints:\n%s", other, list)
	}
}

// helpFlags parses a command's --help: each flag and the default it
// prints ("" if none).
func helpFlags(t *testing.T, name string) map[string]string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main([]string{name, "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("junction %s --help: exit %d: %s", name, code, stderr.String())
	}
	flags := map[string]string{}
	last := ""
	for line := range strings.SplitSeq(stdout.String(), "\n") {
		if m := helpFlag.FindStringSubmatch(line); m != nil {
			last = m[1]
			flags[last] = ""
		} else if m := helpDefault.FindStringSubmatch(line); m != nil && last != "" {
			flags[last] = m[1]
		}
	}
	return flags
}

var (
	helpFlag    = regexp.MustCompile(`^  --([a-z-]+)`)
	helpDefault = regexp.MustCompile(`^ {8}\(default (.*)\)$`)
)

// TestHelpDefaultsAreTheValues: every flag of every command is in its
// --help, and the default the help prints is the value the command reads
// when the flag is not given: a value set after the flag is declared
// (say, a demo that quietly logs at warn while its help says info) fails
// this test.
func TestHelpDefaultsAreTheValues(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			printed := helpFlags(t, c.name)
			fs := newFlagSet("junction " + c.name)
			c.setup(fs)
			if _, err := fs.parse(nil); err != nil {
				t.Fatal(err)
			}
			n := 0
			fs.VisitAll(func(fl *flag.Flag) {
				n++
				def, ok := printed[fl.Name]
				value := fl.Value.String()
				if value == "false" {
					value = "" // a bool flag: given or not
				}
				switch {
				case !ok:
					t.Errorf("--%s is not in the help", fl.Name)
				case def != value:
					t.Errorf("--%s: the help says default %q, the command uses %q", fl.Name, def, value)
				}
			})
			if n != len(printed) {
				t.Errorf("the help lists %d flags, the command has %d: %v", len(printed), n, printed)
			}
		})
	}
}

// TestRouterRunsItsHelpDefaults: what junction router runs with when no
// flag is given, read from its plan (what startServer starts), is what
// its --help prints.
func TestRouterRunsItsHelpDefaults(t *testing.T) {
	printed := helpFlags(t, "router")
	p, err := planFor(t)
	if err != nil {
		t.Fatal(err)
	}
	log, err := p.logs.logger(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	conns := p.conns.WithDefaults() // as connlimit.New takes them
	running := map[string]string{
		"listen":                 p.listeners[0].address,
		"max-message-size":       strconv.Itoa(p.cfg.Transport.MaxMessageSize),
		"outbound-queue":         strconv.Itoa(p.cfg.Transport.OutboundQueue),
		"max-connections":        strconv.Itoa(conns.MaxConnections),
		"max-connections-per-ip": strconv.Itoa(conns.MaxConnectionsPerIP),
		"idle-timeout":           conns.IdleTimeout.String(),
		"log-level":              lowestLevel(log),
		"log-format":             logFormat(log),
		"cluster-name":           p.cluster.Cluster,
	}
	checkRunning(t, printed, running)
}

// TestDemoRunsItsHelpDefaults: the same for junction demo: its address
// and the logger it makes.
func TestDemoRunsItsHelpDefaults(t *testing.T) {
	printed := helpFlags(t, "demo")
	fs := newFlagSet("junction demo")
	var f demoFlags
	f.register(fs)
	if _, err := fs.parse(nil); err != nil {
		t.Fatal(err)
	}
	log, err := f.logs.logger(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	running := map[string]string{
		"listen":     f.listen,
		"log-level":  lowestLevel(log),
		"log-format": logFormat(log),
	}
	checkRunning(t, printed, running)
}

// checkRunning compares the defaults a help printed with the values
// running, which must cover every printed default.
func checkRunning(t *testing.T, printed, running map[string]string) {
	t.Helper()
	for name, def := range printed {
		v, ok := running[name]
		switch {
		case def == "" && !ok:
		case !ok:
			t.Errorf("--%s: the help says default %q; add what the command runs with to this test", name, def)
		case v != def:
			t.Errorf("--%s: the help says default %q, the command runs with %q", name, def, v)
		}
	}
}

// lowestLevel is the lowest of debug, info, warn and error that log
// writes, as --log-level names it.
func lowestLevel(log *slog.Logger) string {
	for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		if log.Enabled(context.Background(), l) {
			return strings.ToLower(l.String())
		}
	}
	return "none"
}

// logFormat is the --log-format that makes log's handler.
func logFormat(log *slog.Logger) string {
	switch log.Handler().(type) {
	case *slog.TextHandler:
		return "text"
	case *slog.JSONHandler:
		return "json"
	}
	return "unknown"
}

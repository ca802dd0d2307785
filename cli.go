package junction

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/junction-run/junction/internal/suggest"
)

// cliState holds the command line's declarations: user settings and
// flags. Guarded by Application.mu.
type cliState struct {
	user  []*setting    // AddSettings' fields, in declaration order
	flags *flag.FlagSet // Flags(), nil until asked for
	errs  []error       // refused declarations, reported by Main
	// structs are the pointers given to AddSettings, whose Validate
	// method, if any, Main calls once the settings are resolved.
	structs []any
	// serve, if set, replaces (*Application).serve as the run command's
	// work: tests of the command line set it.
	serve func(ctx context.Context) error
}

// command is a subcommand of an app's command line.
type command struct {
	name    string
	summary string // one line for --help
	args    string // synopsis of its arguments; "" when it takes none
	// settings is whether it takes the settings: built-in, AddSettings,
	// Flags, and --config, from flags, environment and file.
	settings bool
	// flags declares its own flags on fs (nil for none): command line
	// only, listed before the settings.
	flags func(fs *flag.FlagSet)
	run   func(ctx context.Context, inv *invocation) error
}

// commands returns the command table, the default command first. Each
// call makes new commands, so that their flags start from their defaults.
func commands() []*command {
	return []*command{
		{
			name:     "run",
			summary:  "run the app (the default command)",
			settings: true,
			run:      runApp,
		},
		templateCommand(),
		{
			name:    "help",
			summary: "show this help, or a command's",
			args:    "[command]",
			run:     runHelp,
		},
	}
}

// invocation is one call of Main.
type invocation struct {
	app            *Application
	cmds           []*command
	cmd            *command
	args           []string // the command's positional arguments
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	config         string   // --config
	argv           []string // Main's args, as given
}

// Main runs the app's command line, args without the program name, and
// returns the exit code: 0 on success and for help, 1 when the app
// fails, 2 for a mistake in the command line, environment or settings
// file, and for refused AddSettings and Flags declarations. Run calls it
// with os.Args[1:] and a context cancelled by SIGINT and SIGTERM. Call
// it once: it sets the app's settings.
//
// The commands are:
//
//	myapp [run] [flags]   run the app: the default command
//	myapp help [command]  help, as --help or -h does
//
// The run command sets the built-in Settings, those of AddSettings and
// the flags of Flags: each from its flag (--listen), else its environment
// variable (MYAPP_LISTEN for app "myapp"), else the settings file
// (--config, YAML or JSON, keys named like the flags), else its default.
// Debug implies the log level debug unless one is given. Then it runs the
// app until ctx is done.
func (app *Application) Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return app.main(ctx, args, stdout, stderr, os.LookupEnv)
}

// main is Main with the environment read through lookupEnv.
func (app *Application) main(ctx context.Context, args []string, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	inv := &invocation{app: app, cmds: commands(), stdout: stdout, stderr: stderr, lookupEnv: lookupEnv,
		argv: slices.Clone(args)}
	return inv.main(ctx, args)
}

// main dispatches args and reports the error, if any, on stderr.
func (inv *invocation) main(ctx context.Context, args []string) int {
	app := inv.app
	err := inv.dispatch(ctx, args)
	if err == nil {
		return 0
	}
	code := 1
	var ue usageError
	if errors.As(err, &ue) {
		code = 2
	}
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(inv.stderr, "%s: %s\n", app.name, line)
	}
	if code == 2 && !ue.noHint {
		fmt.Fprintf(inv.stderr, "run '%s --help' for usage\n", inv.commandLine())
	}
	return code
}

// usageError is a mistake in the command line, environment, settings
// file or declarations: exit code 2.
type usageError struct {
	err error
	// noHint leaves out the pointer to --help, for declarations.
	noHint bool
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{err: fmt.Errorf(format, args...)}
}

// commandLine returns how the user called the command: "myapp" for the
// default one, "myapp cmd" for the others.
func (inv *invocation) commandLine() string {
	if inv.cmd == nil || inv.cmd == inv.cmds[0] {
		return inv.app.name
	}
	return inv.app.name + " " + inv.cmd.name
}

func (inv *invocation) dispatch(ctx context.Context, args []string) error {
	app := inv.app
	app.mu.Lock()
	errs := slices.Clone(app.cli.errs)
	app.mu.Unlock()
	if len(errs) > 0 {
		return usageError{err: errors.Join(errs...), noHint: true}
	}

	inv.cmd = inv.cmds[0]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		inv.cmd = inv.find(args[0])
		if inv.cmd == nil {
			names := make([]string, len(inv.cmds))
			for i, c := range inv.cmds {
				names[i] = c.name
			}
			return usagef("unknown command %q%s", args[0], suggest.DidYouMean(" (did you mean %q?)", args[0], names))
		}
		args = args[1:]
	}
	settings, err := inv.settingsOf(inv.cmd)
	if err != nil {
		return err
	}
	given, rest, err := parseFlags(settings, args)
	if errors.Is(err, flag.ErrHelp) {
		return inv.help(inv.cmd)
	}
	if err != nil {
		return err
	}
	if len(rest) > 0 && inv.cmd.args == "" {
		return usagef("unexpected argument %q: %s takes no arguments", rest[0], inv.cmd.name)
	}
	inv.args = rest
	if err := inv.resolve(settings, given); err != nil {
		return err
	}
	return inv.cmd.run(ctx, inv)
}

func (inv *invocation) find(name string) *command {
	for _, c := range inv.cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

// settingsOf returns the flags of cmd: its own, then, if it takes the
// settings, the built-ins, --config, the user settings and the raw flags.
func (inv *invocation) settingsOf(cmd *command) ([]*setting, error) {
	app := inv.app
	var out []*setting
	if cmd.flags != nil {
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.flags(fs)
		for _, s := range app.flagSettings(fs) {
			s.env, s.file, s.group = "", false, cmdFlag
			out = append(out, s)
		}
	}
	if !cmd.settings {
		return out, nil
	}
	out = append(out, app.configSetting(&inv.config))
	out = append(out, app.builtinSettings(&app.settings)...)
	app.mu.Lock()
	out = append(out, app.cli.user...)
	raw := app.cli.flags
	app.mu.Unlock()
	for _, e := range app.allEmbedded() {
		known := append(slices.Clone(out), &setting{name: "help"}, &setting{name: "h"})
		add := app.embeddedSettings(e)
		if err := checkNames(known, add); err != nil {
			err = fmt.Errorf("junction: Embed(%s): %w", e.app.name, err)
			return nil, usageError{err: err, noHint: true}
		}
		out = append(out, add...)
	}
	if raw != nil {
		known := append(slices.Clone(out), &setting{name: "help"}, &setting{name: "h"})
		flags := app.flagSettings(raw)
		if err := checkNames(known, flags); err != nil {
			err = fmt.Errorf("junction: Flags: %w", err)
			return nil, usageError{err: err, noHint: true}
		}
		out = append(out, flags...)
	}
	return out, nil
}

// flagArg is a flag given on the command line.
type flagArg struct {
	s     *setting
	value string
	bare  bool // a bool flag without a value
}

// parseFlags splits args into flags and positional arguments, which
// start at the first argument that is not a flag, or after "--". A flag
// is -name or --name, with its value after '=' or in the next argument;
// a bool flag needs '=' to take one. -h, -help and --help return
// flag.ErrHelp.
func parseFlags(settings []*setting, args []string) (given []flagArg, rest []string, err error) {
	byName := make(map[string]*setting, len(settings))
	names := make([]string, 0, len(settings))
	for _, s := range settings {
		byName[s.name] = s
		names = append(names, s.name)
	}
	for len(args) > 0 {
		arg := args[0]
		if arg == "--" {
			return given, args[1:], nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			if n := len(given); n > 0 && given[n-1].bare {
				if _, err := strconv.ParseBool(arg); err == nil {
					name := given[n-1].s.name
					return nil, nil, usagef("flag --%s takes its value after '=': --%s=%s", name, name, arg)
				}
			}
			return given, args, nil
		}
		args = args[1:]
		name := strings.TrimPrefix(arg[1:], "-")
		name, value, hasValue := strings.Cut(name, "=")
		if name == "" || name[0] == '-' {
			return nil, nil, usagef("bad flag syntax: %s", arg)
		}
		if name == "h" || name == "help" {
			return nil, nil, flag.ErrHelp
		}
		s := byName[name]
		if s == nil {
			return nil, nil, usagef("unknown flag --%s%s", name, suggest.DidYouMean(" (did you mean --%s?)", name, names))
		}
		if !hasValue && !s.isBool() {
			if len(args) == 0 {
				return nil, nil, usagef("flag --%s needs a value", name)
			}
			value, args = args[0], args[1:]
		} else if !hasValue {
			value = "true"
		}
		given = append(given, flagArg{s, value, s.isBool() && !hasValue})
	}
	return given, nil, nil
}

// resolve sets each setting from the highest source that gives it: its
// flags, its environment variable, the settings file; the others keep
// their defaults.
func (inv *invocation) resolve(settings []*setting, given []flagArg) error {
	done := make(map[*setting]bool)
	for _, g := range given {
		if err := g.s.set(g.value); err != nil {
			return usagef("invalid value %q for --%s: %w", g.value, g.s.name, err)
		}
		done[g.s] = true
	}
	for _, s := range settings {
		if done[s] || s.env == "" {
			continue
		}
		v, ok := inv.lookupEnv(s.env)
		if !ok {
			continue
		}
		if err := s.set(v); err != nil {
			return usagef("invalid value %q for %s: %w", v, s.env, err)
		}
		done[s] = true
	}
	if inv.config != "" {
		if err := loadSettingsFile(inv.config, settings, done); err != nil {
			return err
		}
	}
	levelGiven := false
	for _, s := range settings {
		if s.group != builtinSetting {
			continue
		}
		if s.name == "log-level" {
			levelGiven = done[s]
		}
		if done[s] {
			continue
		}
		// A default changed by WithSettings may be bad.
		if err := checkBuiltin(s.name, s.value.String()); err != nil {
			err = fmt.Errorf("junction: WithSettings: invalid value %q for --%s: %w", s.value.String(), s.name, err)
			return usageError{err: err, noHint: true}
		}
	}
	if inv.app.settings.Debug && !levelGiven {
		inv.app.settings.LogLevel = "debug"
	}
	// The app's own checks of its settings, as a struct given to
	// AddSettings declares them with a Validate method.
	inv.app.mu.Lock()
	structs := slices.Clone(inv.app.cli.structs)
	inv.app.mu.Unlock()
	for _, e := range inv.app.allEmbedded() {
		e.app.mu.Lock()
		structs = append(structs, e.app.cli.structs...)
		e.app.mu.Unlock()
	}
	for _, st := range structs {
		if v, ok := st.(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return usageError{err: err}
			}
		}
	}
	return nil
}

// checkBuiltin checks the value v of the built-in setting name.
func checkBuiltin(name, v string) error {
	switch name {
	case "listen":
		if v == "" {
			return nil // no HTTP: a component-only app
		}
		_, port, err := net.SplitHostPort(v)
		if err == nil {
			_, err = strconv.ParseUint(port, 10, 16)
		}
		if err != nil {
			return errors.New(`want host:port, such as 127.0.0.1:8080 or :8080, or "" for no HTTP`)
		}
	case "connect":
		if v != "" && !validConnectURL(v) {
			return errors.New("want a ws://, wss://, tcp://, rs:// or unix: URL")
		}
	case "log-format":
		if v != "text" && v != "json" {
			return errors.New("want text or json")
		}
	case "log-level":
		if !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
			return errors.New("want debug, info, warn or error")
		}
	case "shutdown-timeout", "slow-handler":
		if d, err := time.ParseDuration(v); err == nil && d < 0 {
			return errors.New("want a duration of 0 or more")
		}
	case "idle-timeout":
		if d, err := time.ParseDuration(v); err == nil && d <= 0 {
			return errors.New("want a duration above 0")
		}
	case "max-connections", "max-connections-per-ip":
		if n, err := strconv.Atoi(v); err == nil && (n == 0 || n < -1) {
			return errors.New("want a count above 0, or -1 for no limit")
		}
	}
	return nil
}

// validConnectURL reports whether u can name a router for --connect, as
// transport.Dial reads it.
func validConnectURL(u string) bool {
	scheme, rest, _ := strings.Cut(u, ":")
	switch strings.ToLower(scheme) {
	case "ws", "wss", "tcp", "rs":
		host, _, _ := strings.Cut(strings.TrimPrefix(rest, "//"), "/")
		return strings.HasPrefix(rest, "//") && host != ""
	case "unix":
		return strings.Trim(rest, "/") != ""
	}
	return false
}

// runApp is the run command.
func runApp(ctx context.Context, inv *invocation) error {
	app := inv.app
	child, err := readChildEnv(inv.lookupEnv)
	if err != nil {
		return err
	}
	app.mu.Lock()
	app.logOutput = inv.stderr
	app.viaMain = true
	app.mainArgs = inv.argv
	if child != nil {
		app.child, app.childLost = child, newLostSignal()
		if child.nats != "" {
			app.settings.NATS = child.nats
		}
	}
	app.mu.Unlock()
	if app.cli.serve != nil {
		return app.cli.serve(ctx)
	}
	return app.serve(ctx)
}

// help prints the help of cmd; that of the default command tells of
// all the commands.
func (inv *invocation) help(cmd *command) error {
	app := inv.app
	settings, err := inv.settingsOf(cmd)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("Usage:\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	for _, c := range inv.cmds {
		if cmd == inv.cmds[0] || c == cmd {
			fmt.Fprintf(tw, "  %s\t%s\n", inv.synopsis(c), c.summary)
		}
	}
	tw.Flush()
	groups := make(map[settingGroup][]*setting)
	for _, s := range settings {
		groups[s.group] = append(groups[s.group], s)
	}
	writeFlags(&b, "Flags of "+cmd.name, groups[cmdFlag])
	writeFlags(&b, "Settings", groups[builtinSetting])
	var own []*setting
	owned := make(map[string][]*setting)
	for _, s := range groups[userSetting] {
		if s.owner == "" {
			own = append(own, s)
		} else {
			owned[s.owner] = append(owned[s.owner], s)
		}
	}
	writeFlags(&b, "Settings of "+app.name, own)
	for _, e := range app.allEmbedded() {
		writeFlags(&b, "Settings of "+e.app.name+" (embedded)", owned[e.app.name])
	}
	for _, ns := range app.pluginNamespaces() {
		writeFlags(&b, "Settings of plugin "+ns, owned[pluginOwner(ns)])
	}
	if cmd.settings {
		b.WriteString("\nEach setting comes from its flag, else its environment variable, else\n" +
			"the settings file (--config, YAML or JSON), else its default.\n")
	}
	_, err = io.WriteString(inv.stdout, b.String())
	return err
}

// synopsis returns how to call cmd: "myapp [run] [flags]".
func (inv *invocation) synopsis(cmd *command) string {
	line := inv.app.name + " " + cmd.name
	if cmd == inv.cmds[0] {
		line = inv.app.name + " [" + cmd.name + "]"
	}
	if cmd.settings || cmd.flags != nil {
		line += " [flags]"
	}
	if cmd.args != "" {
		line += " " + cmd.args
	}
	return line
}

// writeFlags writes a section of --help listing settings.
func writeFlags(b *strings.Builder, title string, settings []*setting) {
	if len(settings) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	for _, s := range settings {
		fmt.Fprintf(b, "  --%s", s.name)
		if s.arg != "" {
			fmt.Fprintf(b, " %s", s.arg)
		}
		b.WriteString("\n")
		if s.help != "" {
			fmt.Fprintf(b, "        %s\n", s.help)
		}
		var notes []string
		if def := s.defaultText(); def != "" {
			notes = append(notes, "default "+def)
		}
		if s.env != "" {
			notes = append(notes, "env "+s.env)
		}
		if len(notes) > 0 {
			fmt.Fprintf(b, "        (%s)\n", strings.Join(notes, ", "))
		}
	}
}

// runHelp is the help command.
func runHelp(ctx context.Context, inv *invocation) error {
	switch len(inv.args) {
	case 0:
		return inv.help(inv.cmds[0])
	case 1:
		cmd := inv.find(inv.args[0])
		if cmd == nil {
			return usagef("unknown command %q", inv.args[0])
		}
		return inv.help(cmd)
	}
	return usagef("help takes one command, not %d", len(inv.args))
}

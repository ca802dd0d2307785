package junction

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/junction-run/junction/internal/deploy"
)

// templateCmd is the template command, which prints a deployment file
// made from the app's resolved settings: see README, "Deployment
// templates".
type templateCmd struct {
	serverName, tlsCert, tlsKey string
	user, group                 string
	binary, workingDir          string
	target, restart             string
	env                         envList
}

// stopMargin is added to the shutdown timeout for the process manager's
// wait: the app needs a moment past its own deadline to exit.
const stopMargin = 5 * time.Second

func templateCommand() *command {
	t := new(templateCmd)
	return &command{
		name:     "template",
		summary:  "print a deployment file for KIND: " + strings.Join(deploy.Kinds(), ", "),
		args:     "KIND",
		settings: true,
		flags:    t.declare,
		run:      t.run,
	}
}

// declare declares the command's flags. It is called again for the
// flags after KIND: each flag's default is its current value, so that
// the second call keeps what the first parse set.
func (t *templateCmd) declare(fs *flag.FlagSet) {
	fs.StringVar(&t.serverName, "server-name", t.serverName, "nginx: the `names` it answers to, separated by spaces (default any)")
	fs.StringVar(&t.tlsCert, "tls-cert", t.tlsCert, "nginx: certificate `file`: HTTPS on 443, port 80 redirected to it")
	fs.StringVar(&t.tlsKey, "tls-key", t.tlsKey, "nginx: key `file` of --tls-cert")
	fs.StringVar(&t.user, "user", t.user, "`user` running the app (default: systemd's DynamicUser, else the app's name)")
	fs.StringVar(&t.group, "group", t.group, "`group` running the app (default: the user's)")
	fs.StringVar(&t.binary, "binary", t.binary, "absolute `path` of the app's executable (default: this one)")
	fs.StringVar(&t.workingDir, "working-dir", t.workingDir, "the app's working `directory` (default: the current one)")
	fs.StringVar(&t.target, "target", t.target, "`distribution`: debian or alpine (docker's base images, nginx's and supervisord's paths); also KIND's prefix, alpine:openrc")
	fs.StringVar(&t.restart, "restart", t.restart, "restart `policy`: on-failure (default) or always")
	fs.Var(&t.env, "env", "add `NAME=value` to the app's environment (repeatable)")
}

// run prints the file of the kind in inv.args[0]. The command line
// parser stops at KIND: the flags after it are parsed here, then the
// settings resolved again with them.
func (t *templateCmd) run(_ context.Context, inv *invocation) error {
	kinds := strings.Join(deploy.Kinds(), ", ")
	if len(inv.args) == 0 {
		return usagef("template needs a KIND: %s", kinds)
	}
	kind := inv.args[0]
	var after []flagArg
	if len(inv.args) > 1 {
		settings, err := inv.settingsOf(inv.cmd)
		if err != nil {
			return err
		}
		given, rest, err := parseFlags(settings, inv.args[1:])
		if errors.Is(err, flag.ErrHelp) {
			return inv.help(inv.cmd)
		}
		if err != nil {
			return err
		}
		if len(rest) > 0 {
			return usagef("unexpected argument %q: template takes one KIND", rest[0])
		}
		// A flag before KIND that the environment or the file also sets
		// loses to them here: flags go after KIND, as --help shows.
		if err := inv.resolve(settings, given); err != nil {
			return err
		}
		after = given
	}
	f, err := t.facts(inv, after)
	if err != nil {
		return err
	}
	out, err := deploy.Render(kind, f)
	if err != nil {
		return usageError{err: err}
	}
	if strings.Contains(f.Binary, "go-build") && t.binary == "" {
		fmt.Fprintf(inv.stderr, "%s: note: %s is a temporary build (go run or go test): give --binary\n", inv.app.name, f.Binary)
	}
	_, err = inv.stdout.Write(out)
	return err
}

// facts gathers what the file says: the resolved settings, the
// directories given to HTTP.Serve, the command's flags.
func (t *templateCmd) facts(inv *invocation, after []flagArg) (deploy.Facts, error) {
	app := inv.app
	s := &app.settings
	f := deploy.Facts{
		App:         app.name,
		Binary:      t.binary,
		Listen:      s.Listen,
		User:        t.user,
		Group:       t.group,
		Restart:     t.restart,
		StopSignal:  "SIGTERM",
		StopTimeout: s.ShutdownTimeout + stopMargin,
		ServerName:  t.serverName,
		MetricsPath: s.Metrics,
		Target:      t.target,
		Env:         slices.Clone(t.env),
	}
	var err error
	if f.Binary == "" {
		if f.Binary, err = os.Executable(); err != nil {
			return f, fmt.Errorf("template: the executable: %w; give --binary", err)
		}
	}
	if s.Connect == "" {
		f.WSPath = wsPath
	}
	if s.DataDir != app.data.dflt {
		f.DataDir = s.DataDir
	}
	f.Config = inv.config
	f.TLSCert, f.TLSKey = t.tlsCert, t.tlsKey
	for _, p := range []*string{&f.DataDir, &f.Config, &f.TLSCert, &f.TLSKey} {
		if *p != "" {
			if *p, err = filepath.Abs(*p); err != nil {
				return f, err
			}
		}
	}
	f.WorkingDir = t.workingDir
	if f.WorkingDir == "" {
		if f.WorkingDir, err = os.Getwd(); err != nil {
			return f, fmt.Errorf("template: the working directory: %w; give --working-dir", err)
		}
	}
	app.HTTP.mu.Lock()
	for _, d := range app.HTTP.dirs {
		f.Static = append(f.Static, deploy.Static{Prefix: d.prefix, Dir: d.dir, Index: d.allowIndex})
	}
	app.HTTP.mu.Unlock()
	settings, err := inv.settingsOf(inv.cmd)
	if err != nil {
		return f, err
	}
	args, env, err := inv.carried(settings, after)
	if err != nil {
		return f, err
	}
	f.Args, f.Env = args, append(f.Env, env...)
	return f, nil
}

// carried returns the settings the service must be given besides
// --listen, --data-dir and --config: as flags, each built-in setting
// whose value is neither its default nor the settings file's, and each
// of the app's own settings given as a flag after KIND; as environment
// variables, the app's own settings that came from the environment. The
// others stay in the settings file, or keep their defaults.
func (inv *invocation) carried(settings []*setting, after []flagArg) (args, env []string, err error) {
	defaults := defaultSettings()
	base := inv.app.builtinSettings(&defaults) // the file's values, over the defaults
	fromFile := make(map[*setting]bool)
	if inv.config != "" {
		known := slices.Clone(base)
		for _, s := range settings {
			if s.group != builtinSetting {
				known = append(known, s)
				fromFile[s] = true // known to the file, left alone
			}
		}
		if err := loadSettingsFile(inv.config, known, fromFile); err != nil {
			return nil, nil, err
		}
	}
	byName := make(map[string]*setting, len(base))
	for _, b := range base {
		byName[b.name] = b
	}
	given := make(map[*setting]bool, len(after))
	for _, g := range after {
		given[g.s] = true
	}
	for _, s := range settings {
		v := s.value.String()
		switch s.group {
		case builtinSetting:
			b := byName[s.name]
			switch {
			case b == nil, s.name == "listen", s.name == "data-dir", s.name == "config":
			case v == b.value.String():
			case s.name == "log-level" && inv.app.settings.Debug && v == "debug":
				// implied by --debug
			default:
				args = append(args, "--"+s.name+"="+v)
			}
		case userSetting:
			if given[s] {
				args = append(args, "--"+s.name+"="+v)
			} else if e, ok := inv.lookupEnv(s.env); ok && s.env != "" {
				env = append(env, s.env+"="+e)
			}
		}
	}
	return args, env, nil
}

// envList is the repeatable --env flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return errors.New("want NAME=value")
	}
	*l = append(*l, v)
	return nil
}

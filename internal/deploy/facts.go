package deploy

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Facts are what a deployment file says about an app. The zero value of
// each optional field has the default documented beside it; Render
// checks the others.
type Facts struct {
	// App is the app's name. Its slug (letters, digits, '.', '_' and
	// '-'; the others turned into '-') names the unit, the program, the
	// nginx upstream, the default user and /var/lib/SLUG. Required.
	App string
	// Binary is the absolute path of the app's executable. Required,
	// but for docker, which builds its own.
	Binary string
	// Args are the settings flags of the run command, "--realm=x",
	// besides --listen, --data-dir and --config, which Render writes
	// from Listen, DataDir and Config: the command line is Binary run
	// --listen=... [--data-dir=...] [--config=...] Args...
	Args []string
	// Listen is the host:port of the app's HTTP; "" for an app with no
	// HTTP, which nginx refuses.
	Listen string
	// DataDir is the absolute path of the app's data dir; "" for the
	// default, which is the service's usual place: StateDirectory=SLUG
	// for systemd (Junction reads $STATE_DIRECTORY), /var/lib/SLUG for
	// the others, given with --data-dir.
	DataDir string
	// Config is the absolute path of the app's settings file; "" for
	// none.
	Config string
	// WSPath is the path of the embedded router's WebSocket endpoint,
	// "/ws"; "" for an app that joins a remote router.
	WSPath string
	// Static are the directories the app serves with HTTP.Serve: nginx
	// serves them itself, docker copies those inside WorkingDir.
	Static []Static
	// User and Group run the app. User "" is systemd's DynamicUser= when
	// DataDir is the default, else the slug; Group "" is the user's
	// group (docker and openrc: the slug).
	User, Group string
	// WorkingDir is the app's working directory, against which relative
	// paths in its code (HTTP.Serve) resolve. "" leaves the manager's
	// default.
	WorkingDir string
	// Env are environment variables of the app, KEY=VALUE; Render sorts
	// them.
	Env []string
	// Restart is "on-failure" (default) or "always".
	Restart string
	// StopSignal is "SIGTERM" (default): Junction shuts down gracefully
	// on the first one. "SIGINT" does the same.
	StopSignal string
	// StopTimeout is how long the manager waits after StopSignal before
	// it kills the app: the app's --shutdown-timeout and a margin.
	// Default 15s; at least 1s.
	StopTimeout time.Duration
	// ServerName are the names nginx answers to, separated by spaces;
	// "" answers any ("_").
	ServerName string
	// TLSCert and TLSKey are the absolute paths of nginx's certificate
	// and key, both or neither: with them nginx serves HTTPS on 443 and
	// redirects port 80 to it.
	TLSCert, TLSKey string
	// MetricsPath is where the app serves Prometheus metrics, "/metrics";
	// nginx hides it from the public. "" for none.
	MetricsPath string
	// Target is the distribution where the kinds differ; "" is the
	// kind's first (see Targets).
	Target string
}

// Static is a directory served by the app at a URL path prefix.
type Static struct {
	Prefix string // "/static/": starts and ends with '/'
	Dir    string // absolute
	// Index lists a directory without index.html (HTTP.Serve's
	// AllowIndex).
	Index bool
}

// withDefaults returns f with the defaults of its zero fields and its
// lists copied and sorted.
func (f Facts) withDefaults() Facts {
	if f.Restart == "" {
		f.Restart = "on-failure"
	}
	if f.StopSignal == "" {
		f.StopSignal = "SIGTERM"
	}
	if f.StopTimeout == 0 {
		f.StopTimeout = 15 * time.Second
	}
	f.Args = slices.Clone(f.Args)
	f.Env = slices.Clone(f.Env)
	slices.Sort(f.Env)
	f.Static = slices.Clone(f.Static)
	for i, s := range f.Static {
		if !strings.HasSuffix(s.Prefix, "/") {
			f.Static[i].Prefix += "/"
		}
	}
	return f
}

var (
	userName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,31}$`)
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	serverName = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$|^_$`)
)

// validate checks what every kind needs of f, with its defaults.
func (f *Facts) validate() error {
	if f.App == "" {
		return badf("no app name")
	}
	texts := []struct{ name, v string }{
		{"app name", f.App}, {"binary", f.Binary}, {"data dir", f.DataDir},
		{"config", f.Config}, {"working dir", f.WorkingDir},
		{"TLS certificate", f.TLSCert}, {"TLS key", f.TLSKey},
		{"metrics path", f.MetricsPath}, {"WebSocket path", f.WSPath},
	}
	for _, a := range f.Args {
		texts = append(texts, struct{ name, v string }{"argument", a})
	}
	for _, e := range f.Env {
		texts = append(texts, struct{ name, v string }{"environment variable", e})
	}
	for _, s := range f.Static {
		texts = append(texts, struct{ name, v string }{"static prefix", s.Prefix}, struct{ name, v string }{"static dir", s.Dir})
	}
	for _, t := range texts {
		if i := strings.IndexFunc(t.v, isControl); i >= 0 {
			return badf("%s %q: control character %q", t.name, t.v, t.v[i])
		}
	}
	for _, p := range []struct{ name, v string }{
		{"binary", f.Binary}, {"data dir", f.DataDir}, {"config", f.Config},
		{"working dir", f.WorkingDir}, {"TLS certificate", f.TLSCert}, {"TLS key", f.TLSKey},
	} {
		if p.v != "" && !filepath.IsAbs(p.v) {
			return badf("%s %q: want an absolute path", p.name, p.v)
		}
	}
	if f.Listen != "" {
		if _, err := f.port(); err != nil {
			return err
		}
	}
	for _, s := range f.Static {
		if !strings.HasPrefix(s.Prefix, "/") {
			return badf("static prefix %q: want a path starting with /", s.Prefix)
		}
		if !filepath.IsAbs(s.Dir) {
			return badf("static dir %q: want an absolute path", s.Dir)
		}
	}
	for _, p := range []struct{ name, v string }{{"metrics path", f.MetricsPath}, {"WebSocket path", f.WSPath}} {
		if p.v != "" && !strings.HasPrefix(p.v, "/") {
			return badf("%s %q: want a path starting with /", p.name, p.v)
		}
	}
	for _, u := range []struct{ name, v string }{{"user", f.User}, {"group", f.Group}} {
		if u.v != "" && !userName.MatchString(u.v) {
			return badf("%s %q: want a name of letters, digits, '_', '.' and '-', not starting with a digit, '.' or '-'", u.name, u.v)
		}
	}
	for _, e := range f.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || !envName.MatchString(k) {
			return badf("environment variable %q: want NAME=value, NAME of letters, digits and '_'", e)
		}
	}
	switch f.Restart {
	case "on-failure", "always":
	default:
		return badf("restart %q: want on-failure or always", f.Restart)
	}
	switch f.StopSignal {
	case "SIGTERM", "SIGINT":
	default:
		return badf("stop signal %q: want SIGTERM or SIGINT", f.StopSignal)
	}
	if f.StopTimeout < time.Second {
		return badf("stop timeout %s: want 1s or more", f.StopTimeout)
	}
	for name := range strings.FieldsSeq(f.ServerName) {
		if !serverName.MatchString(name) {
			return badf("server name %q: want a host name such as example.org or *.example.org", name)
		}
	}
	if (f.TLSCert == "") != (f.TLSKey == "") {
		return badf("TLS: want both a certificate and a key, or neither")
	}
	return nil
}

// port returns the port of Listen.
func (f *Facts) port() (int, error) {
	_, port, err := net.SplitHostPort(f.Listen)
	if err != nil {
		return 0, badf("listen address %q: want host:port", f.Listen)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return 0, badf("listen address %q: want a port from 1 to 65535", f.Listen)
	}
	return int(n), nil
}

// upstream returns the address where a proxy on the same host reaches
// Listen: a wildcard host is the loopback address.
func (f *Facts) upstream() string {
	host, port, _ := net.SplitHostPort(f.Listen)
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// slug returns the app's name as a file and user name: letters, digits,
// '.', '_' and '-', starting with a letter or '_'.
func (f *Facts) slug() string {
	b := []byte(f.App)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	s := strings.TrimLeft(string(b), ".-0123456789")
	if s == "" {
		return "app"
	}
	return s
}

// ident returns the app's name as an identifier of letters, digits and
// '_', for nginx's upstream and variable names.
func (f *Facts) ident() string {
	return strings.NewReplacer("-", "_", ".", "_").Replace(f.slug())
}

// stateDir is where the services keep the app's default data dir.
func (f *Facts) stateDir() string { return "/var/lib/" + f.slug() }

// command returns the command line after the binary, for a service
// whose data dir is dataDir ("" for none on the command line) and whose
// app listens on listen.
func (f *Facts) command(listen, dataDir, config string) []string {
	args := []string{"run", "--listen=" + listen}
	if dataDir != "" {
		args = append(args, "--data-dir="+dataDir)
	}
	if config != "" {
		args = append(args, "--config="+config)
	}
	return append(args, f.Args...)
}

// stopSeconds is StopTimeout in whole seconds, rounded up.
func (f *Facts) stopSeconds() int {
	return int((f.StopTimeout + time.Second - 1) / time.Second)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadFacts, fmt.Sprintf(format, args...))
}

package deploy

import (
	"strconv"
	"strings"
)

// openrcData is the data of openrc.tmpl; its values are quoted for the
// shell.
type openrcData struct {
	App, Slug   string
	Name        string
	Description string
	// Command, CommandArgs, CommandUser, Directory and Log are evaluated
	// twice: assigned, then eval'd by supervise-daemon's start function.
	Command, CommandArgs, CommandUser, Directory, Log string
	// Owner, DataDir and LogFile are for checkpath in start_pre.
	Owner, DataDir, LogFile string
	Env                     []string // export lines' KEY='value'
	Retry                   string
}

// openrcView returns openrc.tmpl's data: an init script run by
// supervise-daemon.
func openrcView(f *Facts) (any, error) {
	if f.Binary == "" {
		return nil, badf("openrc: no binary")
	}
	slug := f.slug()
	user, group := f.User, f.Group
	if user == "" {
		user = slug
	}
	if group == "" {
		group = slug
	}
	owner := user + ":" + group
	dataDir := f.DataDir
	if dataDir == "" {
		dataDir = f.stateDir()
	}
	logFile := "/var/log/" + slug + ".log"
	argv := f.command(f.Listen, dataDir, f.Config)
	var err error
	twice := func(what, s string) string {
		q, e := evalQuote(what, s)
		if err == nil {
			err = e
		}
		return shellQuote(q)
	}
	d := &openrcData{
		App:         f.App,
		Slug:        slug,
		Name:        shellQuote(slug),
		Description: shellQuote(f.App + " (Junction app)"),
		Command:     twice("binary", f.Binary),
		CommandUser: twice("user", owner),
		Log:         twice("log file", logFile),
		Owner:       shellQuote(owner),
		DataDir:     shellQuote(dataDir),
		LogFile:     shellQuote(logFile),
		Retry:       shellQuote(strings.TrimPrefix(f.StopSignal, "SIG") + "/" + strconv.Itoa(f.stopSeconds()) + "/KILL/5"),
	}
	words := make([]string, len(argv))
	for i, a := range argv {
		q, e := evalQuote("argument", a)
		if err == nil {
			err = e
		}
		words[i] = q
	}
	d.CommandArgs = shellQuote(strings.Join(words, " "))
	if f.WorkingDir != "" {
		d.Directory = twice("working dir", f.WorkingDir)
	}
	for _, e := range f.Env {
		k, v, _ := strings.Cut(e, "=")
		d.Env = append(d.Env, k+"="+shellQuote(v))
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// evalQuote quotes s as one word for a variable that openrc expands
// unquoted into eval: its expansion is split at blanks and matched as a
// pattern, then evaluated. Each character that is not plain gets a
// backslash, so that no blank separates words and eval removes the
// backslashes; tabs and pattern characters, which the unquoted
// expansion would mangle, are refused.
func evalQuote(what, s string) (string, error) {
	if strings.ContainsAny(s, "\t*?[") {
		return "", badf("openrc: %s %q: tabs and the characters *?[ are not allowed", what, s)
	}
	if s == "" {
		return "''", nil
	}
	var b strings.Builder
	for _, c := range s {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:=,@+%", c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String(), nil
}

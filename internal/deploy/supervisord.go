package deploy

import (
	"regexp"
	"strings"
)

// supervisordData is the data of supervisord.tmpl; its values are
// quoted.
type supervisordData struct {
	App, Slug   string
	File        string // where the section goes
	Command     string
	Directory   string // "" for none
	User        string
	DataDir     string // to create, in a comment: quoted for the shell
	Environment string // "" for none
	AutoRestart string
	StopSignal  string
	StopSeconds int
}

// supervisordView returns supervisord.tmpl's data: a [program:x]
// section.
func supervisordView(f *Facts) (any, error) {
	if f.Binary == "" {
		return nil, badf("supervisord: no binary")
	}
	d := &supervisordData{
		App:         f.App,
		Slug:        f.slug(),
		File:        "/etc/supervisor/conf.d/" + f.slug() + ".conf",
		User:        f.User,
		AutoRestart: "unexpected",
		StopSignal:  strings.TrimPrefix(f.StopSignal, "SIG"),
		StopSeconds: f.stopSeconds(),
	}
	if f.Target == "alpine" {
		d.File = "/etc/supervisor.d/" + f.slug() + ".ini"
	}
	if d.User == "" {
		d.User = d.Slug
	}
	if f.Restart == "always" {
		d.AutoRestart = "true"
	}
	dataDir := f.DataDir
	if dataDir == "" {
		dataDir = f.stateDir()
	}
	d.DataDir = shellQuote(dataDir)
	argv := append([]string{f.Binary}, f.command(f.Listen, dataDir, f.Config)...)
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = shellQuote(a)
	}
	d.Command = supervisordExpand(strings.Join(words, " "))
	d.Directory = supervisordExpand(f.WorkingDir)
	var env []string
	for _, e := range f.Env {
		k, v, _ := strings.Cut(e, "=")
		// The environment is split as words by a shlex without escapes,
		// then stripped of quotes at both ends.
		if strings.Contains(v, `"`) || strings.HasPrefix(v, "'") || strings.HasSuffix(v, "'") {
			return nil, badf("supervisord: environment variable %q: supervisord cannot carry its quotes", e)
		}
		env = append(env, k+`="`+supervisordExpand(v)+`"`)
	}
	d.Environment = strings.Join(env, ",")
	for _, v := range []struct{ what, s string }{
		{"command", d.Command}, {"working dir", d.Directory}, {"environment", d.Environment},
	} {
		if err := supervisordLine(v.what, v.s); err != nil {
			return nil, err
		}
	}
	if strings.TrimSpace(f.WorkingDir) != f.WorkingDir {
		return nil, badf("supervisord: working dir %q: blanks at either end are not allowed", f.WorkingDir)
	}
	return d, nil
}

// inlineComment is where supervisord's INI parser cuts a value short.
var inlineComment = regexp.MustCompile(`\s[;#]`)

// supervisordLine checks a value of the INI file: a ';' or '#' after a
// blank starts a comment, even in quotes.
func supervisordLine(what, s string) error {
	if inlineComment.MatchString(s) {
		return badf("supervisord: %s %q: a ';' or '#' after a blank starts a comment there", what, s)
	}
	return nil
}

// supervisordExpand writes the '%' of s as "%%": supervisord expands
// %(name)s in values.
func supervisordExpand(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

// shellQuote quotes s as one word of a POSIX shell (and of Python's
// shlex): in single quotes, a quote written '\”.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:=,@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

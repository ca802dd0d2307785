package deploy

import (
	"strings"
)

// systemdData is the data of systemd.tmpl; its values are quoted.
type systemdData struct {
	App, Slug      string
	Description    string
	ExecStart      string
	User, Group    string // "" for none
	DynamicUser    bool
	WorkingDir     string
	StateDirectory string // "" when the data dir is given
	ReadWritePaths string
	Env            []string
	Restart        string
	KillSignal     string
	StopSeconds    int
	// BindService lets the app listen on a port below 1024.
	BindService bool
}

// systemdView returns systemd.tmpl's data: a service unit.
func systemdView(f *Facts) (any, error) {
	if f.Binary == "" {
		return nil, badf("systemd: no binary")
	}
	// systemd refuses such an executable's path, however quoted.
	if err := systemdQuotable("binary", f.Binary); err != nil {
		return nil, err
	}
	d := &systemdData{
		App:         f.App,
		Slug:        f.slug(),
		Restart:     f.Restart,
		KillSignal:  f.StopSignal,
		StopSeconds: f.stopSeconds(),
	}
	var err error
	check := func(what, s string) string {
		if err == nil {
			err = systemdRaw(what, s)
		}
		return systemdSpecifiers(s)
	}
	d.Description = check("app name", f.App+" (Junction app)")
	argv := append([]string{f.Binary}, f.command(f.Listen, f.DataDir, f.Config)...)
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = systemdArg(a)
	}
	// systemd expands variables in the arguments only, not in the
	// executable's path: there "$$" would stay two.
	words[0] = `"` + systemdEscape(f.Binary) + `"`
	d.ExecStart = strings.Join(words, " ")
	switch {
	case f.User != "":
		d.User = f.User
	case f.DataDir == "":
		d.DynamicUser = true
	default:
		d.User = f.slug()
	}
	d.Group = f.Group
	if f.WorkingDir != "" {
		d.WorkingDir = check("working dir", f.WorkingDir)
	}
	if f.DataDir == "" {
		d.StateDirectory = d.Slug
	} else {
		if err == nil {
			err = systemdQuotable("data dir", f.DataDir)
		}
		d.ReadWritePaths = `"` + systemdSpecifiers(f.DataDir) + `"`
	}
	for _, e := range f.Env {
		d.Env = append(d.Env, `"`+systemdEscape(e)+`"`)
	}
	if f.Listen != "" {
		port, _ := f.port()
		d.BindService = port < 1024
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// systemdArg quotes an argument of ExecStart=: in double quotes, with C
// escapes, '%' written "%%" (a specifier) and '$' "$$" (a variable).
func systemdArg(s string) string {
	return `"` + strings.ReplaceAll(systemdEscape(s), "$", "$$") + `"`
}

// systemdEscape escapes s for a double-quoted string of systemd, which
// reads C escapes and specifiers in it.
func systemdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`).Replace(s)
}

// systemdSpecifiers writes the '%' of s as "%%", which a setting that
// is not unquoted needs.
func systemdSpecifiers(s string) string {
	return strings.ReplaceAll(s, "%", "%%")
}

// systemdRaw checks s for a setting systemd takes as it is, to the end
// of the line: no backslash (a line ending in one goes on), and no
// blanks at either end (trimmed).
func systemdRaw(what, s string) error {
	if strings.Contains(s, `\`) {
		return badf("systemd: %s %q: a backslash is not allowed", what, s)
	}
	if strings.TrimSpace(s) != s {
		return badf("systemd: %s %q: blanks at either end are not allowed", what, s)
	}
	return nil
}

// systemdQuotable checks s for a list setting, read as words in
// quotes: no backslash and no quote.
func systemdQuotable(what, s string) error {
	if strings.ContainsAny(s, `\"'`) {
		return badf("systemd: %s %q: quotes and backslashes are not allowed", what, s)
	}
	return nil
}

package junction

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
)

// Templates makes Render use the html/template files under dir: every
// *.html and *.tmpl file, named by its slash-separated path relative to
// dir ("user.html", "admin/list.html"), skipping dot files and
// directories. They form one set, so each can include another with
// {{template "partials/nav.html" .}}.
//
// The files are parsed at the first Render, once; in debug mode (the
// --debug setting) at every Render, so that edits show without a
// restart. A missing dir is reported by Start. Option of New.
func Templates(dir string) Option {
	return appOpt{"Templates", func(app *Application) {
		abs, err := filepath.Abs(dir)
		if err == nil {
			err = isDir(abs)
		}
		if err != nil {
			app.setupError(fmt.Errorf("junction: Templates(%q): %w", dir, err))
			return
		}
		app.HTTP.tmpl.use(os.DirFS(abs), dir)
	}}
}

// TemplatesFS is Templates with the files of fsys (an embed.FS...),
// named by their path in fsys; fs.Sub picks a subdirectory. Option of
// New.
func TemplatesFS(fsys fs.FS) Option {
	return appOpt{"TemplatesFS", func(app *Application) {
		if fsys == nil {
			app.setupError(errors.New("junction: TemplatesFS: nil file system"))
			return
		}
		app.HTTP.tmpl.use(fsys, "TemplatesFS")
	}}
}

// Render executes the template called name (see Templates) with data
// and sends the result as text/html, with status 200 unless the handler
// has sent another. The template runs into a buffer first, so a failure
// (no such template, a parse or execution error) gets a clean 500:
// Render answers and logs it as WriteError does, then returns it, and
// Handle does not answer it twice. An error writing the response (the
// client has gone) is returned but not logged.
//
// The app comes from the request's context (AppFrom), where the
// Application puts it.
func Render(w http.ResponseWriter, r *http.Request, name string, data any) error {
	var buf bytes.Buffer
	if err := execute(&buf, r, name, data); err != nil {
		WriteError(w, r, err)
		return &handledError{err}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return &handledError{err}
	}
	return nil
}

func execute(buf *bytes.Buffer, r *http.Request, name string, data any) error {
	app := AppFrom(r.Context())
	if app == nil {
		return fmt.Errorf("junction: Render(%q): no app in the request's context; serve the request with the Application", name)
	}
	set, err := app.HTTP.tmpl.get(app.settings.Debug)
	if err != nil {
		return fmt.Errorf("junction: Render(%q): %w", name, err)
	}
	t := set.Lookup(name)
	if t == nil || name == "" {
		return fmt.Errorf("junction: Render(%q): no such template", name)
	}
	if err := t.Execute(buf, data); err != nil {
		return fmt.Errorf("junction: Render(%q): %w", name, err)
	}
	return nil
}

// templates is the app's template set.
type templates struct {
	fsys fs.FS  // nil: no templates
	desc string // where they are, for errors

	mu     sync.Mutex
	parsed bool // guarded by mu, with set and err
	set    *template.Template
	err    error
}

func (t *templates) use(fsys fs.FS, desc string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fsys, t.desc = fsys, desc
	t.parsed, t.set, t.err = false, nil, nil
}

// get returns the set, parsed once, or at each call when reload is set.
// A parse error is kept: the files do not change without reload.
func (t *templates) get(reload bool) (*template.Template, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fsys == nil {
		return nil, errors.New("no templates: give New the Templates or TemplatesFS option")
	}
	if reload || !t.parsed {
		t.set, t.err = parseTemplates(t.fsys, t.desc)
		t.parsed = true
	}
	return t.set, t.err
}

// parseTemplates parses the *.html and *.tmpl files of fsys into one
// set, each named by its path.
func parseTemplates(fsys fs.FS, desc string) (*template.Template, error) {
	set := template.New("")
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if ext := path.Ext(name); d.IsDir() || ext != ".html" && ext != ".tmpl" {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		_, err = set.New(name).Parse(string(b))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("templates in %s: %w", desc, err)
	}
	return set, nil
}

// isDir returns an error unless dir is a directory.
func isDir(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("%s is not a directory", dir)
	}
	return err
}

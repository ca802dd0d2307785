package junction

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// writeTestFiles writes files (path: content) under dir.
func writeTestFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var templateFiles = map[string]string{
	"user.html":          `{{template "partials/nav.html" .}}<p>user {{.id}}</p>`,
	"partials/nav.html":  `<nav>{{.id}}</nav>`,
	"admin/list.tmpl":    `{{range .}}<li>{{.}}</li>{{end}}`,
	"notes.txt":          `{{ not a template`,
	".hidden.html":       `{{ broken`,
	".git/x.html":        `{{ broken`,
	"partials/.swp.html": `{{ broken`,
}

// renderRoutes declares routes that render name with the data of
// Query(r, "id").
func renderRoutes(app *Application) {
	app.HTTP.Get("/user/:id", func(w http.ResponseWriter, r *http.Request) {
		Render(w, r, "user.html", M{"id": Param(r, "id")})
	})
	app.HTTP.Get("/list", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return Render(w, r, "admin/list.tmpl", []string{"a", "b"})
	}))
	app.HTTP.Get("/t/{name...}", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return Render(w, r, Param(r, "name"), nil)
	}))
}

func TestHTTPRenderDir(t *testing.T) {
	dir := t.TempDir()
	writeTestFiles(t, dir, templateFiles)
	app, _ := newHTTPApp(t, Templates(dir))
	renderRoutes(app)
	srv := serveApp(t, app)

	r := httpFetch(t, srv, "GET", "/user/%3Cb%3E", "")
	r.check(t, 200, "<nav>&lt;b&gt;</nav><p>user &lt;b&gt;</p>")
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	httpFetch(t, srv, "GET", "/list", "").check(t, 200, "<li>a</li><li>b</li>")
	for _, name := range []string{"notes.txt", ".hidden.html", "missing.html"} {
		httpFetch(t, srv, "GET", "/t/"+name, "").check(t, 500, "internal server error\n")
	}
}

func TestHTTPRenderFS(t *testing.T) {
	fsys := fstest.MapFS{}
	for name, content := range templateFiles {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	app, _ := newHTTPApp(t, TemplatesFS(fsys))
	renderRoutes(app)
	srv := serveApp(t, app)
	httpFetch(t, srv, "GET", "/user/7", "").check(t, 200, "<nav>7</nav><p>user 7</p>")
	httpFetch(t, srv, "GET", "/list", "").check(t, 200, "<li>a</li><li>b</li>")
}

func TestHTTPRenderReload(t *testing.T) {
	for _, debug := range []bool{false, true} {
		dir := t.TempDir()
		writeTestFiles(t, dir, map[string]string{"page.html": "v1"})
		app, _ := newHTTPApp(t, Templates(dir))
		app.settings.Debug = debug
		renderRoutes(app)
		srv := serveApp(t, app)

		httpFetch(t, srv, "GET", "/t/page.html", "").check(t, 200, "v1")
		writeTestFiles(t, dir, map[string]string{"page.html": "v2", "new.html": "new"})
		if debug {
			httpFetch(t, srv, "GET", "/t/page.html", "").check(t, 200, "v2")
			httpFetch(t, srv, "GET", "/t/new.html", "").check(t, 200, "new")
		} else {
			httpFetch(t, srv, "GET", "/t/page.html", "").check(t, 200, "v1")
			httpFetch(t, srv, "GET", "/t/new.html", "").check(t, 500, "internal server error\n")
		}
	}
}

type failingData struct{}

func (failingData) Fail() (string, error) { return "", errors.New("no database") }

func TestHTTPRenderErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestFiles(t, dir, map[string]string{
		"fail.html": `<p>` + strings.Repeat("x", 10000) + `</p>{{.Fail}}`,
	})
	app, log := newHTTPApp(t, Templates(dir))
	app.settings.Debug = true
	app.HTTP.Get("/plain", func(w http.ResponseWriter, r *http.Request) {
		Render(w, r, "fail.html", failingData{})
	})
	app.HTTP.Get("/handled", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return Render(w, r, "fail.html", failingData{})
	}))
	renderRoutes(app)
	srv := serveApp(t, app)

	// An execution error: a clean 500, whether the handler returns the
	// error or not, logged once.
	for _, path := range []string{"/plain", "/handled"} {
		r := httpFetch(t, srv, "GET", path, "")
		r.check(t, 500, "internal server error\n")
		var errs []string
		for _, m := range requestLogLines(t, log, r.header.Get("X-Request-ID")) {
			if m["level"] == "ERROR" {
				errs = append(errs, m["err"].(string))
			}
		}
		want := `junction: Render("fail.html"): template: fail.html:1:10009: executing "fail.html" at <.Fail>: error calling Fail: no database`
		if len(errs) != 1 || errs[0] != want {
			t.Errorf("%s: errors logged %q\nwant [%q]", path, errs, want)
		}
	}

	// A parse error, seen at the next Render in debug mode.
	writeTestFiles(t, dir, map[string]string{"admin/bad.html": "line 1\n{{if}}"})
	r := httpFetch(t, srv, "GET", "/t/fail.html", "")
	r.check(t, 500, "internal server error\n")
	m := requestErrorLog(t, log, r.header.Get("X-Request-ID"))
	want := `junction: Render("fail.html"): templates in ` + dir + `: template: admin/bad.html:2: missing value for if`
	if m["err"] != want {
		t.Errorf("parse error logged as %q\nwant %q", m["err"], want)
	}
}

func TestHTTPRenderWithoutTemplates(t *testing.T) {
	app, log := newHTTPApp(t)
	renderRoutes(app)
	srv := serveApp(t, app)
	r := httpFetch(t, srv, "GET", "/list", "")
	r.check(t, 500, "internal server error\n")
	want := `junction: Render("admin/list.tmpl"): no templates: give New the Templates or TemplatesFS option`
	if m := requestErrorLog(t, log, r.header.Get("X-Request-ID")); m["err"] != want {
		t.Errorf("logged %q", m["err"])
	}
}

func TestHTTPTemplatesSetupErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	app, _ := newHTTPApp(t, Templates(missing), TemplatesFS(nil))
	err := httpSetupErr(app)
	if err == nil || !strings.Contains(err.Error(), `junction: Templates("`+missing+`"): stat `) ||
		!strings.Contains(err.Error(), "junction: TemplatesFS: nil file system") {
		t.Errorf("setup errors: %v", err)
	}
}

package junction

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// staticDir returns a directory holding public/ and, beside it, a
// secret file that must never be served.
func staticDir(t *testing.T) (public string) {
	t.Helper()
	root := t.TempDir()
	writeTestFiles(t, root, map[string]string{
		"secret.txt":                 "TOP SECRET",
		"public/app.js":              "js",
		"public/index.html":          "home",
		"public/docs/a.txt":          "a",
		"public/docs/.private":       "TOP SECRET",
		"public/sub/index.html":      "sub index",
		"public/.env":                "TOP SECRET",
		"public/.git/config":         "TOP SECRET",
		"public/.well-known/x/a.txt": "TOP SECRET",
	})
	return filepath.Join(root, "public")
}

func TestHTTPServe(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Serve("/static/", staticDir(t))
	srv := serveApp(t, app)

	r := httpFetch(t, srv, "GET", "/static/app.js", "")
	r.check(t, 200, "js")
	if ct := r.header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	httpFetch(t, srv, "HEAD", "/static/app.js", "").check(t, 200, "")
	httpFetch(t, srv, "GET", "/static/", "").check(t, 200, "home")
	httpFetch(t, srv, "GET", "/static/sub/", "").check(t, 200, "sub index")
	if r := httpFetch(t, srv, "GET", "/static/sub", ""); r.status != 301 || r.header.Get("Location") != "sub/" {
		t.Errorf("GET /static/sub: %d to %q, want a redirect to sub/", r.status, r.header.Get("Location"))
	}
	if r := httpFetch(t, srv, "POST", "/static/app.js", ""); r.status != 405 {
		t.Errorf("POST: %d, want 405", r.status)
	}
	for _, p := range []string{
		"/static/docs/", "/static/docs", // no index.html, no listing
		"/static/nope.js",
		"/static/.env", "/static/.git/config", "/static/.git/", "/static/docs/.private",
		"/static/.well-known/x/a.txt", "/static/%2eenv", "/static/sub/..%2f.env",
	} {
		r := httpFetch(t, srv, "GET", p, "")
		if r.status != 404 || strings.Contains(r.body, "SECRET") {
			t.Errorf("GET %s: %d %q, want 404", p, r.status, r.body)
		}
	}
}

func TestHTTPServeTraversal(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Serve("/static/", staticDir(t))
	app.HTTP.Serve("/", staticDir(t), AllowIndex())
	srv := serveApp(t, app)
	for _, p := range []string{
		"/static/../secret.txt",
		"/static/sub/../../secret.txt",
		"/static/%2e%2e/secret.txt",
		"/static/..%2fsecret.txt",
		"/static/%2e%2e%2fsecret.txt",
		"/static/..%5csecret.txt",
		"/../secret.txt",
		"/..%2f..%2fsecret.txt",
		"/static//../../secret.txt",
	} {
		req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = p // sent as it is
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "SECRET") || resp.StatusCode == 200 {
			t.Errorf("GET %s: %d %q", p, resp.StatusCode, b)
		}
	}
}

func TestHTTPServeAllowIndex(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Serve("/files/", staticDir(t), AllowIndex())
	srv := serveApp(t, app)
	r := httpFetch(t, srv, "GET", "/files/docs/", "")
	if r.status != 200 || !strings.Contains(r.body, `<a href="a.txt">a.txt</a>`) || strings.Contains(r.body, "private") {
		t.Errorf("listing: %d %q", r.status, r.body)
	}
	r = httpFetch(t, srv, "GET", "/files/", "")
	r.check(t, 200, "home")
	for _, p := range []string{"/files/.git/", "/files/.env"} {
		if r := httpFetch(t, srv, "GET", p, ""); r.status != 404 {
			t.Errorf("GET %s: %d %q, want 404", p, r.status, r.body)
		}
	}
}

func TestHTTPServeFS(t *testing.T) {
	fsys := fstest.MapFS{
		"app.css":       {Data: []byte("css")},
		"img/logo.svg":  {Data: []byte("<svg/>")},
		".secret":       {Data: []byte("TOP SECRET")},
		"list/a.txt":    {Data: []byte("a")},
		"list/.b.txt":   {Data: []byte("b")},
		"list/c/d.txt":  {Data: []byte("d")},
		"list/.e/f.txt": {Data: []byte("f")},
	}
	app, _ := newHTTPApp(t)
	app.HTTP.ServeFS("/assets", fsys, AllowIndex())
	app.HTTP.Get("/assets/dynamic", httpEcho) // more specific than the tree
	srv := serveApp(t, app)
	httpFetch(t, srv, "GET", "/assets/app.css", "").check(t, 200, "css")
	httpFetch(t, srv, "GET", "/assets/img/logo.svg", "").check(t, 200, "<svg/>")
	httpFetch(t, srv, "GET", "/assets/dynamic", "").check(t, 200, "GET /assets/dynamic")
	if r := httpFetch(t, srv, "GET", "/assets/.secret", ""); r.status != 404 {
		t.Errorf("dot file: %d", r.status)
	}
	r := httpFetch(t, srv, "GET", "/assets/list/", "")
	if r.status != 200 || !strings.Contains(r.body, "a.txt") || !strings.Contains(r.body, "c/") ||
		strings.Contains(r.body, ".b.txt") || strings.Contains(r.body, ".e") {
		t.Errorf("listing: %d %q", r.status, r.body)
	}
}

func TestHTTPServeSetupErrors(t *testing.T) {
	dir := staticDir(t)
	for _, tt := range []struct {
		declare func(h *HTTP)
		want    string
	}{
		{func(h *HTTP) { h.Serve("/x/", filepath.Join(dir, "missing")) }, `junction: HTTP.Serve("/x/", "DIR/missing") at HERE: stat DIR/missing: no such file or directory`},
		{func(h *HTTP) { h.Serve("/x/", filepath.Join(dir, "app.js")) }, `junction: HTTP.Serve("/x/", "DIR/app.js") at HERE: DIR/app.js is not a directory`},
		{func(h *HTTP) { h.Serve("/x/", dir, WithPrefix("x")) }, `junction: HTTP.Serve("/x/", "DIR") at HERE: option WithPrefix does not apply here`},
		{func(h *HTTP) { h.ServeFS("/x/", fstest.MapFS{}, nil) }, `junction: HTTP.ServeFS("/x/") at HERE: option nil does not apply here`},
		{func(h *HTTP) { h.ServeFS("/x/", nil) }, `junction: HTTP.ServeFS("/x/") at HERE: nil file system`},
		{func(h *HTTP) { h.Serve("static/", dir) }, `junction: HTTP.Serve("static/", "DIR") at HERE: the prefix must be a path starting with /, without parameters`},
		{func(h *HTTP) { h.ServeFS("/u/:id/", fstest.MapFS{}) }, `junction: HTTP.ServeFS("/u/:id/") at HERE: the prefix must be a path starting with /, without parameters`},
		{func(h *HTTP) { h.Serve("/s/", dir); h.ServeFS("/s", fstest.MapFS{}) }, `junction: HTTP.ServeFS("/s") at HERE: "GET /s/" conflicts with "GET /s/" (declared at HERE):
GET /s/ matches the same requests as GET /s/`},
	} {
		app, _ := newHTTPApp(t)
		tt.declare(app.HTTP)
		err := httpSetupErr(app)
		if err == nil {
			t.Errorf("no error, want %s", tt.want)
			continue
		}
		if got := strings.ReplaceAll(callSites.ReplaceAllString(err.Error(), "HERE"), dir, "DIR"); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

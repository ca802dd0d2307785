package junction

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// httpLog is a log output safe for concurrent writes.
type httpLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *httpLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *httpLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newHTTPApp returns an app logging at debug level, as JSON, to the
// returned log.
func newHTTPApp(t *testing.T, opts ...Option) (*Application, *httpLog) {
	t.Helper()
	log := &httpLog{}
	l := slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New("shop", append([]Option{WithLogger(l)}, opts...)...), log
}

// serveApp serves app on a test server, with no Run.
func serveApp(t *testing.T, app *Application) *httptest.Server {
	t.Helper()
	if err := httpSetupErr(app); err != nil {
		t.Fatalf("setup: %v", err)
	}
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv
}

func httpSetupErr(app *Application) error {
	app.mu.Lock()
	defer app.mu.Unlock()
	return errors.Join(app.setupErrs...)
}

type httpResponse struct {
	status int
	header http.Header
	body   string
}

// httpFetch makes a request to srv; headers are "Name: value" strings.
func httpFetch(t *testing.T, srv *httptest.Server, method, path, body string, headers ...string) httpResponse {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResponse{resp.StatusCode, resp.Header, string(b)}
}

func (r httpResponse) check(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Errorf("got %d %q, want %d %q", r.status, r.body, status, body)
	}
}

func httpEcho(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
}

func TestHTTPRouteMethods(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Get("/x", httpEcho)
	app.HTTP.Post("/x", httpEcho)
	app.HTTP.Put("/x", httpEcho)
	app.HTTP.Patch("/x", httpEcho)
	app.HTTP.Delete("/x", httpEcho)
	app.HTTP.Handle("/any", http.HandlerFunc(httpEcho))
	app.HTTP.HandleFunc("OPTIONS /opt", httpEcho)
	srv := serveApp(t, app)

	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		httpFetch(t, srv, m, "/x", "").check(t, 200, m+" /x")
		httpFetch(t, srv, m, "/any", "").check(t, 200, m+" /any")
	}
	httpFetch(t, srv, "OPTIONS", "/opt", "").check(t, 200, "OPTIONS /opt")
	if r := httpFetch(t, srv, "HEAD", "/x", ""); r.status != 200 || r.header.Get("Content-Length") != "7" {
		t.Errorf("HEAD /x: %d, Content-Length %q", r.status, r.header.Get("Content-Length"))
	}
	r := httpFetch(t, srv, "OPTIONS", "/x", "")
	if r.status != 405 || !strings.Contains(r.header.Get("Allow"), "PATCH") {
		t.Errorf("OPTIONS /x: %d, Allow %q; want 405 listing the methods", r.status, r.header.Get("Allow"))
	}
	if r := httpFetch(t, srv, "GET", "/nope", ""); r.status != 404 {
		t.Errorf("GET /nope: %d, want 404", r.status)
	}
}

func TestHTTPRouteParams(t *testing.T) {
	app, _ := newHTTPApp(t)
	show := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "id=%s name=%s", Param(r, "id"), r.PathValue("name"))
	}
	app.HTTP.Get("/user/:id/", show)
	app.HTTP.Get("/user/:id/:name", show)
	app.HTTP.Get("/team/{id}/{name}/", show)
	app.HTTP.Get("/files/{name...}", show)
	app.HTTP.Handle("GET /post/:id", http.HandlerFunc(show))
	srv := serveApp(t, app)

	httpFetch(t, srv, "GET", "/user/5/", "").check(t, 200, "id=5 name=")
	httpFetch(t, srv, "GET", "/user/5/bob", "").check(t, 200, "id=5 name=bob")
	httpFetch(t, srv, "GET", "/team/7/ops/", "").check(t, 200, "id=7 name=ops")
	httpFetch(t, srv, "GET", "/files/a/b.txt", "").check(t, 200, "id= name=a/b.txt")
	httpFetch(t, srv, "GET", "/post/9", "").check(t, 200, "id=9 name=")
	httpFetch(t, srv, "GET", "/user/caf%C3%A9/", "").check(t, 200, "id=café name=")
}

func TestHTTPRouteTrailingSlashIsExact(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Get("/user/:id/", httpEcho)
	app.HTTP.Get("/", httpEcho)
	app.HTTP.Handle("/tree/", http.HandlerFunc(httpEcho))
	srv := serveApp(t, app)

	httpFetch(t, srv, "GET", "/user/5/", "").check(t, 200, "GET /user/5/")
	httpFetch(t, srv, "GET", "/", "").check(t, 200, "GET /")
	httpFetch(t, srv, "GET", "/tree/a/b", "").check(t, 200, "GET /tree/a/b") // Handle: subtree
	// Without its slash, the path is redirected to it (ServeMux's rule).
	if r := httpFetch(t, srv, "GET", "/user/5?a=1", ""); r.status != 307 || r.header.Get("Location") != "/user/5/?a=1" {
		t.Errorf("GET /user/5: %d, Location %q; want 307 to /user/5/?a=1", r.status, r.header.Get("Location"))
	}
	for _, p := range []string{"/user/5/x", "/user/5/x/", "/other"} {
		if r := httpFetch(t, srv, "GET", p, ""); r.status != 404 {
			t.Errorf("GET %s: %d %q, want 404", p, r.status, r.body)
		}
	}
}

// callSites replaces the call sites in setup errors with "HERE".
var callSites = regexp.MustCompile(`/\S+_test\.go:\d+`)

func TestHTTPRouteBadPatterns(t *testing.T) {
	for _, tt := range []struct {
		declare func(h *HTTP)
		want    string
	}{
		{func(h *HTTP) { h.Get("/user/:/", httpEcho) }, `junction: HTTP.Get("/user/:/") at HERE: empty parameter name after ":"`},
		{func(h *HTTP) { h.Post("/user/a:id", httpEcho) }, `junction: HTTP.Post("/user/a:id") at HERE: "a:id": a parameter must be a whole segment, like /user/:id/`},
		{func(h *HTTP) { h.Get("POST /x", httpEcho) }, `junction: HTTP.Get("POST /x") at HERE: the method "POST" is in the pattern; use HTTP.Handle for that`},
		{func(h *HTTP) { h.Put("/a/:bad-name", httpEcho) }, `junction: HTTP.Put("/a/:bad-name") at HERE: parsing "PUT /a/{bad-name}": at offset 7: bad wildcard name "bad-name"`},
		{func(h *HTTP) { h.Get("/a/:id/:id", httpEcho) }, `junction: HTTP.Get("/a/:id/:id") at HERE: parsing "GET /a/{id}/{id}": at offset 12: duplicate wildcard name "id"`},
		{func(h *HTTP) { h.Delete("/x", nil) }, `junction: HTTP.Delete("/x") at HERE: nil handler`},
		{func(h *HTTP) { h.Handle("", http.NotFoundHandler()) }, `junction: HTTP.Handle("") at HERE: http: invalid pattern`},
		{func(h *HTTP) { h.HandleFunc("/x", httpEcho); h.Handle("/x", http.NotFoundHandler()) }, `junction: HTTP.Handle("/x") at HERE: "/x" conflicts with "/x" (declared at HERE):
/x matches the same requests as /x`},
	} {
		app, _ := newHTTPApp(t)
		tt.declare(app.HTTP)
		err := httpSetupErr(app)
		if err == nil || callSites.ReplaceAllString(err.Error(), "HERE") != tt.want {
			t.Errorf("got  %v\nwant %s", err, tt.want)
		}
	}
}

// TestHTTPRouteConflictSites checks that a conflict names where both
// routes were declared.
func TestHTTPRouteConflictSites(t *testing.T) {
	app, _ := newHTTPApp(t)
	_, file, line, _ := runtime.Caller(0)
	app.HTTP.Get("/a/:x", httpEcho)
	app.HTTP.Get("/a/{y}", httpEcho)
	want := fmt.Sprintf(`junction: HTTP.Get("/a/{y}") at %s:%d: "GET /a/{y}" conflicts with "GET /a/{x}" (declared at %s:%d):
GET /a/{y} matches the same requests as GET /a/{x}`, file, line+2, file, line+1)
	if err := httpSetupErr(app); err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestHTTPUse(t *testing.T) {
	app, _ := newHTTPApp(t)
	tag := func(s string) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Add("X-Order", s)
				next.ServeHTTP(w, r)
			})
		}
	}
	app.HTTP.Use(tag("a"), tag("b"))
	app.HTTP.Get("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, RequestIDFrom(r.Context()) != "")
	})
	srv := serveApp(t, app)
	r := httpFetch(t, srv, "GET", "/", "")
	r.check(t, 200, "true")
	if got := strings.Join(r.header.Values("X-Order"), ","); got != "a,b" {
		t.Errorf("order %q, want a,b", got)
	}
	// Middleware added while serving applies to the next requests.
	app.HTTP.Use(tag("c"))
	if got := strings.Join(httpFetch(t, srv, "GET", "/", "").header.Values("X-Order"), ","); got != "a,b,c" {
		t.Errorf("order after Use %q, want a,b,c", got)
	}
	// It runs for unmatched requests too.
	if got := httpFetch(t, srv, "GET", "/nope", "").header.Values("X-Order"); len(got) != 3 {
		t.Errorf("404: order %q", got)
	}
	app.HTTP.Use(nil)
	if err := httpSetupErr(app); err == nil || callSites.ReplaceAllString(err.Error(), "HERE") != "junction: HTTP.Use at HERE: nil middleware" {
		t.Errorf("Use(nil): %v", err)
	}
}

func TestHTTPUseConcurrentWithRequests(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Get("/", httpEcho)
	srv := serveApp(t, app)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				resp, err := srv.Client().Get(srv.URL + "/")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	for range 20 {
		app.HTTP.Use(func(h http.Handler) http.Handler { return h })
	}
	wg.Wait()
}

// BenchmarkHTTPRoute measures a request through the built-in layers and
// a route with a parameter, with and without the access log.
func BenchmarkHTTPRoute(b *testing.B) {
	for _, opts := range [][]Option{{NoAccessLog()}, nil} {
		name := "access-log"
		if opts != nil {
			name = "no-access-log"
		}
		b.Run(name, func(b *testing.B) {
			app := New("shop", append(opts, WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))...)
			app.HTTP.Get("/user/:id/", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, Param(r, "id"))
			})
			r := httptest.NewRequest("GET", "/user/5/", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				app.ServeHTTP(w, r)
			}
		})
	}
}

package junction

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHTTPRecover(t *testing.T) {
	app, log := newHTTPApp(t)
	app.HTTP.Get("/boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	app.HTTP.Get("/api/boom", func(w http.ResponseWriter, r *http.Request) { panic(fmt.Errorf("api boom")) })
	app.HTTP.Get("/ok", httpEcho)
	srv := serveApp(t, app)

	r := httpFetch(t, srv, "GET", "/boom", "", "X-Request-ID: panic-1")
	r.check(t, 500, "internal server error\n")
	if e := httpFetch(t, srv, "GET", "/api/boom", "").errorBody(t); e.Error != "internal server error" || e.Status != 500 {
		t.Errorf("JSON body %+v", e)
	}
	httpFetch(t, srv, "GET", "/ok", "").check(t, 200, "GET /ok")

	if n := testutil.ToFloat64(app.metrics.panics.WithLabelValues("http")); n != 2 {
		t.Errorf("panics metric %v, want 2", n)
	}
	var found bool
	for _, m := range requestLogLines(t, log, "panic-1") {
		if m["msg"] != "junction: http handler panicked" {
			continue
		}
		found = true
		if m["level"] != "ERROR" || m["panic"] != "boom" || m["method"] != "GET" || m["path"] != "/boom" ||
			!strings.Contains(m["stack"].(string), "http_middleware_test.go") {
			t.Errorf("log line %v", m)
		}
	}
	if !found {
		t.Errorf("panic not logged:\n%s", log)
	}
	// The access log has the 500 the client got.
	for _, m := range requestLogLines(t, log, "panic-1") {
		if m["msg"] == "junction: http request" && m["status"] != float64(500) {
			t.Errorf("access log %v", m)
		}
	}
}

// TestHTTPRecoverAfterResponseStarted checks that a panic after the
// response started aborts it: the client must not take a cut response
// for a whole one.
func TestHTTPRecoverAfterResponseStarted(t *testing.T) {
	app, log := newHTTPApp(t)
	app.HTTP.Get("/half", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "half a page")
		w.(http.Flusher).Flush()
		panic("boom")
	})
	app.HTTP.Get("/abort", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })
	app.HTTP.Get("/ok", httpEcho)
	srv := serveApp(t, app)

	resp, err := srv.Client().Get(srv.URL + "/half")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Errorf("the cut response read as whole: %d %q", resp.StatusCode, b)
	}
	if _, err := srv.Client().Get(srv.URL + "/abort"); err == nil {
		t.Error("http.ErrAbortHandler did not abort the response")
	}
	httpFetch(t, srv, "GET", "/ok", "").check(t, 200, "GET /ok")
	if n := testutil.ToFloat64(app.metrics.panics.WithLabelValues("http")); n != 1 {
		t.Errorf("panics metric %v, want 1 (http.ErrAbortHandler is no panic)", n)
	}
	var aborted []string
	for line := range strings.Lines(log.String()) {
		var m map[string]any
		json.Unmarshal([]byte(line), &m)
		if m["msg"] == "junction: http request" && m["aborted"] == true {
			aborted = append(aborted, m["path"].(string))
		}
	}
	if !slices.Equal(aborted, []string{"/half", "/abort"}) {
		t.Errorf("aborted requests logged: %q", aborted)
	}
}

func TestHTTPRecoverMiddlewarePanic(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Use(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("middleware") })
	})
	srv := serveApp(t, app)
	httpFetch(t, srv, "GET", "/", "").check(t, 500, "internal server error\n")
}

func TestHTTPRequestID(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Get("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, RequestIDFrom(r.Context()))
	})
	srv := serveApp(t, app)

	r := httpFetch(t, srv, "GET", "/", "")
	if len(r.body) != 26 || r.header.Get("X-Request-ID") != r.body {
		t.Errorf("generated ID %q, header %q", r.body, r.header.Get("X-Request-ID"))
	}
	if other := httpFetch(t, srv, "GET", "/", "").body; other == r.body {
		t.Errorf("two requests with ID %q", other)
	}
	for _, id := range []string{"abc-123", "Root=1-5759e988-bd862e3fe1be46a994272793", "a.b_c:d+e/f=g@h"} {
		r := httpFetch(t, srv, "GET", "/", "", "X-Request-ID: "+id)
		if r.body != id || r.header.Get("X-Request-ID") != id {
			t.Errorf("ID %q became %q (header %q)", id, r.body, r.header.Get("X-Request-ID"))
		}
	}
	for _, id := range []string{"with space", "quote\"", strings.Repeat("x", 129), "<script>", "é"} {
		r := httpFetch(t, srv, "GET", "/", "", "X-Request-ID: "+id)
		if r.body == id || len(r.body) != 26 {
			t.Errorf("ID %q kept as %q", id, r.body)
		}
	}
	if id := RequestIDFrom(context.Background()); id != "" {
		t.Errorf("RequestIDFrom outside a request: %q", id)
	}
}

func TestHTTPAccessLog(t *testing.T) {
	app, log := newHTTPApp(t)
	app.HTTP.Post("/x", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "hello")
	})
	srv := serveApp(t, app)
	httpFetch(t, srv, "POST", "/x?token=secret", "", "X-Request-ID: log-1").check(t, 201, "hello")
	httpFetch(t, srv, "GET", "/missing", "", "X-Request-ID: log-2")

	lines := requestLogLines(t, log, "log-1")
	if len(lines) != 1 {
		t.Fatalf("log lines %v", lines)
	}
	m := lines[0]
	if m["msg"] != "junction: http request" || m["level"] != "INFO" || m["method"] != "POST" || m["path"] != "/x" ||
		m["status"] != float64(201) || m["bytes"] != float64(5) || m["duration"] == nil {
		t.Errorf("access log %v", m)
	}
	if strings.Contains(log.String(), "secret") {
		t.Error("the query is logged")
	}
	if lines := requestLogLines(t, log, "log-2"); len(lines) != 1 || lines[0]["status"] != float64(404) {
		t.Errorf("404 logged as %v", lines)
	}
}

func TestHTTPNoAccessLog(t *testing.T) {
	app, log := newHTTPApp(t, NoAccessLog())
	app.HTTP.Get("/", httpEcho)
	srv := serveApp(t, app)
	httpFetch(t, srv, "GET", "/", "").check(t, 200, "GET /")
	if s := log.String(); s != "" {
		t.Errorf("logged %s", s)
	}
}

func TestHTTPCORS(t *testing.T) {
	newCORSApp := func(origins ...string) *Application {
		app, _ := newHTTPApp(t)
		app.HTTP.Use(CORS(origins...))
		app.HTTP.Post("/api/x", httpEcho)
		return app
	}
	srv := serveApp(t, newCORSApp("https://a.example", "https://B.example/"))
	preflight := func(srv *httptest.Server, origin string) httpResponse {
		return httpFetch(t, srv, "OPTIONS", "/api/x", "", "Origin: "+origin,
			"Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type, x-token")
	}

	r := preflight(srv, "https://a.example")
	h := r.header
	if r.status != 204 || h.Get("Access-Control-Allow-Origin") != "https://a.example" ||
		h.Get("Access-Control-Allow-Methods") != "POST" || h.Get("Access-Control-Allow-Headers") != "content-type, x-token" ||
		h.Get("Access-Control-Max-Age") != "600" || !slices.Contains(h.Values("Vary"), "Origin") {
		t.Errorf("preflight: %d %v", r.status, h)
	}
	if r := preflight(srv, "https://b.example"); r.header.Get("Access-Control-Allow-Origin") != "https://b.example" {
		t.Errorf("origin case or slash: %v", r.header)
	}
	if r := preflight(srv, "https://evil.example"); r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d %v", r.status, r.header)
	}

	r = httpFetch(t, srv, "POST", "/api/x", "", "Origin: https://a.example")
	r.check(t, 200, "POST /api/x")
	if r.header.Get("Access-Control-Allow-Origin") != "https://a.example" ||
		r.header.Get("Access-Control-Expose-Headers") != "X-Request-Id" || r.header.Get("Vary") != "Origin" {
		t.Errorf("request: %v", r.header)
	}
	r = httpFetch(t, srv, "POST", "/api/x", "", "Origin: https://evil.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" || r.header.Get("Vary") != "Origin" {
		t.Errorf("request from another origin: %d %v", r.status, r.header)
	}
	r = httpFetch(t, srv, "POST", "/api/x", "")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("request without Origin: %v", r.header)
	}
	// OPTIONS that is no preflight goes to the routes.
	if r := httpFetch(t, srv, "OPTIONS", "/api/x", "", "Origin: https://a.example"); r.status != 405 {
		t.Errorf("plain OPTIONS: %d", r.status)
	}

	anyOrigin := serveApp(t, newCORSApp("*"))
	if r := preflight(anyOrigin, "https://whoever.example"); r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("*: %v", r.header)
	}
	none := serveApp(t, newCORSApp())
	if r := preflight(none, "https://a.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no origins: %v", r.header)
	}
}

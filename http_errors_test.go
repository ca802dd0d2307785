package junction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/wamp"
)

// requestLogLines returns the JSON log lines about the request with id.
func requestLogLines(t *testing.T, log *httpLog, id string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.Lines(log.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["request_id"] == id {
			lines = append(lines, m)
		}
	}
	return lines
}

// requestErrorLog returns the handler error log line about the request with id.
func requestErrorLog(t *testing.T, log *httpLog, id string) map[string]any {
	t.Helper()
	for _, m := range requestLogLines(t, log, id) {
		if strings.HasPrefix(m["msg"].(string), "junction: http handler error") {
			return m
		}
	}
	t.Fatalf("no error logged for request %s:\n%s", id, log)
	return nil
}

func TestHTTPErrorMapping(t *testing.T) {
	const secret = "db: password=hunter2"
	for _, tt := range []struct {
		name   string
		err    error
		status int
		msg    string
		uri    string
	}{
		{"HTTPError", NewHTTPError(404, "no such user"), 404, "no such user", ""},
		{"HTTPErrorf", HTTPErrorf(409, "user %q exists", "ann"), 409, `user "ann" exists`, ""},
		{"HTTPError without message", &HTTPError{Status: 403, Err: errors.New(secret)}, 403, "forbidden", ""},
		{"HTTPError with a bad status", &HTTPError{Status: 200}, 500, "internal server error", ""},
		{"wrapped HTTPError", fmt.Errorf("loading: %w", NewHTTPError(400, "bad id")), 400, "bad id", ""},
		{"invalid_argument", wamp.NewError(wamp.URIInvalidArgument, "age must be positive"), 400, "age must be positive", "wamp.error.invalid_argument"},
		{"not_authorized", wamp.NewError(wamp.URINotAuthorized, "admins only"), 403, "admins only", "wamp.error.not_authorized"},
		{"authorization_failed", &wamp.Error{URI: wamp.URIAuthorizationFailed}, 403, "forbidden", "wamp.error.authorization_failed"},
		{"no_such_procedure", fmt.Errorf("call: %w", &wamp.Error{URI: wamp.URINoSuchProcedure}), 503, "service unavailable", "wamp.error.no_such_procedure"},
		{"no_available_callee", &wamp.Error{URI: wamp.URINoAvailableCallee}, 503, "service unavailable", "wamp.error.no_available_callee"},
		{"unavailable", &wamp.Error{URI: wamp.URIUnavailable}, 503, "service unavailable", "wamp.error.unavailable"},
		{"canceled", &wamp.Error{URI: wamp.URICanceled}, 503, "service unavailable", "wamp.error.canceled"},
		{"timeout", &wamp.Error{URI: wamp.URITimeout}, 504, "gateway timeout", "wamp.error.timeout"},
		{"application error", Error("shop.error.out_of_stock", "out of stock"), 502, "out of stock", "shop.error.out_of_stock"},
		{"application error kwargs", &wamp.Error{URI: "shop.error.x", Kwargs: wamp.Dict{"message": "nope"}}, 502, "nope", "shop.error.x"},
		{"runtime_error", wamp.NewError(client.ErrRuntime.URI, secret), 502, "bad gateway", "wamp.error.runtime_error"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 504, "gateway timeout", ""},
		{"not running", ErrNotRunning, 503, "service unavailable", ""},
		{"unknown task", fmt.Errorf("result of task 42: %w", queue.ErrNotFound), 404, "queue: task not found", ""},
		{"unknown task over WAMP", fmt.Errorf("call: %w", wamp.NewError("junction.error.no_such_task", "queue: task not found")), 404, "queue: task not found", "junction.error.no_such_task"},
		{"no_such_session", &wamp.Error{URI: wamp.URINoSuchSession}, 404, "not found", "wamp.error.no_such_session"},
		{"no_such_registration", &wamp.Error{URI: wamp.URINoSuchRegistration}, 404, "not found", "wamp.error.no_such_registration"},
		{"no_such_subscription", &wamp.Error{URI: wamp.URINoSuchSubscription}, 404, "not found", "wamp.error.no_such_subscription"},
		{"rate limited", &wamp.Error{URI: "junction.error.rate_limit_exceeded"}, 429, "too many requests", "junction.error.rate_limit_exceeded"},
		{"session closed", client.ErrSessionClosed, 503, "service unavailable", ""},
		{"canceled while the client waits", context.Canceled, 500, "internal server error", ""},
		{"other", errors.New(secret), 500, "internal server error", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app, log := newHTTPApp(t)
			app.HTTP.Get("/x", Handle(func(w http.ResponseWriter, r *http.Request) error { return tt.err }))
			srv := serveApp(t, app)

			r := httpFetch(t, srv, "GET", "/x", "", "Accept: application/json")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d", r.status, tt.status)
			}
			e := r.errorBody(t)
			if e.Error != tt.msg || e.URI != tt.uri {
				t.Errorf("body %q, want error %q, uri %q", r.body, tt.msg, tt.uri)
			}
			if strings.Contains(r.body, "hunter2") {
				t.Errorf("the body leaks the error: %s", r.body)
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			text := httpFetch(t, srv, "GET", "/x", "")
			text.check(t, tt.status, tt.msg+"\n")

			m := requestErrorLog(t, log, e.RequestID)
			wantLevel := "DEBUG"
			if tt.status >= 500 {
				wantLevel = "ERROR"
			}
			if m["level"] != wantLevel || m["method"] != "GET" || m["path"] != "/x" || m["status"] != float64(tt.status) || m["err"] != tt.err.Error() {
				t.Errorf("log line %v; want level %s and err %q", m, wantLevel, tt.err)
			}
			if n := testutil.ToFloat64(app.metrics.errors.WithLabelValues("http")); n != 2 {
				t.Errorf("errors metric %v, want 2", n)
			}
		})
	}
}

func TestHTTPErrorJSONOrText(t *testing.T) {
	app, _ := newHTTPApp(t)
	fail := Handle(func(w http.ResponseWriter, r *http.Request) error { return NewHTTPError(409, "taken") })
	app.HTTP.Handle("/", fail)
	srv := serveApp(t, app)
	for _, tt := range []struct {
		path, header string
		json         bool
	}{
		{"/x", "", false},
		{"/x", "Accept: application/json", true},
		{"/x", "Accept: application/problem+json", true},
		{"/x", "Accept: application/json, text/plain, */*", true}, // axios
		{"/x", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
		{"/x", "Accept: text/html;q=0.5, application/json;q=0.4", false},
		{"/x", "Accept: text/html;q=0.5, application/json", true},
		{"/x", "Accept: application/json;q=0", false},
		{"/x", "Accept: */*", false},
		{"/x", "Content-Type: application/json", true},
		{"/api/x", "", true},
		{"/api", "", true},
		{"/apis", "", false},
	} {
		var headers []string
		if tt.header != "" {
			headers = append(headers, tt.header)
		}
		r := httpFetch(t, srv, "POST", tt.path, "", headers...)
		if got := strings.HasPrefix(r.body, "{"); got != tt.json || r.status != 409 {
			t.Errorf("%s with %q: %d %q, want JSON %v", tt.path, tt.header, r.status, r.body, tt.json)
		}
	}
}

func TestHTTPErrorAfterResponseStarted(t *testing.T) {
	app, log := newHTTPApp(t)
	app.HTTP.Get("/x", Handle(func(w http.ResponseWriter, r *http.Request) error {
		io.WriteString(w, "partial")
		return errors.New("disk full")
	}))
	srv := serveApp(t, app)
	r := httpFetch(t, srv, "GET", "/x", "")
	r.check(t, 200, "partial")
	m := requestErrorLog(t, log, r.header.Get("X-Request-ID"))
	if m["msg"] != "junction: http handler error after the response started" || m["level"] != "ERROR" || m["err"] != "disk full" {
		t.Errorf("log line %v", m)
	}
}

// TestHTTPErrorClientGone checks that a handler giving up because its
// client left is logged as 499, at debug level.
func TestHTTPErrorClientGone(t *testing.T) {
	app, log := newHTTPApp(t)
	waiting, done := make(chan struct{}), make(chan struct{})
	app.HTTP.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			next.ServeHTTP(w, r)
		})
	})
	app.HTTP.Get("/slow", Handle(func(w http.ResponseWriter, r *http.Request) error {
		close(waiting)
		<-r.Context().Done()
		return fmt.Errorf("waiting: %w", r.Context().Err())
	}))
	srv := serveApp(t, app)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/slow", nil)
	req.Header.Set("X-Request-ID", "gone-1")
	go func() { <-waiting; cancel() }()
	if _, err := srv.Client().Do(req); err == nil {
		t.Fatal("the request was not canceled")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not end")
	}
	m := requestErrorLog(t, log, "gone-1")
	if m["level"] != "DEBUG" || m["status"] != float64(499) {
		t.Errorf("log line %v", m)
	}
}

func TestHTTPErrorValues(t *testing.T) {
	if got := NewHTTPError(404, "").Error(); got != "http 404: not found" {
		t.Errorf("Error() = %q", got)
	}
	e := HTTPErrorf(400, "bad header: %w", io.EOF)
	if e.Error() != "http 400: bad header: EOF" || e.Message != "bad header: EOF" || !errors.Is(e, io.EOF) {
		t.Errorf("HTTPErrorf: %q, %+v", e.Error(), e)
	}
	e = &HTTPError{Status: 502, Message: "upstream", Err: io.ErrUnexpectedEOF}
	if e.Error() != "http 502: upstream: unexpected EOF" {
		t.Errorf("Error() = %q", e.Error())
	}
	if HTTPErrorf(500, "plain").Err != nil {
		t.Error("Err set without %w")
	}
}

func TestHTTPErrorfWrapsSeveral(t *testing.T) {
	e := HTTPErrorf(503, "%w and %w", io.EOF, context.Canceled)
	if e.Message != "EOF and context canceled" || !errors.Is(e, io.EOF) || !errors.Is(e, context.Canceled) {
		t.Errorf("HTTPErrorf: %+v", e)
	}
}

// TestHTTPCallErrors maps the errors of real calls through the app's
// session.
func TestHTTPCallErrors(t *testing.T) {
	app, log := newHTTPApp(t, WithSettings(func(s *Settings) { s.Listen = "127.0.0.1:0" }))
	app.Register("age", func(age int) (int, error) {
		if age < 0 {
			return 0, Error("wamp.error.invalid_argument", "age must be positive")
		}
		return age, nil
	})
	app.Register("crash", func() error { return errors.New("db: password=hunter2") })
	app.Register("slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	app.HTTP.Get("/call/:proc", Handle(func(w http.ResponseWriter, r *http.Request) error {
		var args []any
		if a := Query(r, "arg"); a != "" {
			var v any
			if err := json.Unmarshal([]byte(a), &v); err != nil {
				return NewHTTPError(400, "arg is not JSON")
			}
			args = append(args, v)
		}
		args = append(args, Timeout(500*time.Millisecond))
		res, err := app.Call(r.Context(), Param(r, "proc"), args...)
		if err != nil {
			return err
		}
		return JSON(w, 200, res.Args)
	}))
	srv := serveApp(t, app)

	if r := httpFetch(t, srv, "GET", "/call/age?arg=3", ""); r.status != 503 { // not running yet
		t.Errorf("before Start: %d %q", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	})

	httpFetch(t, srv, "GET", "/call/age?arg=3", "").check(t, 200, "[3]\n")
	for _, tt := range []struct {
		path   string
		status int
		msg    string
		uri    string
	}{
		{"/call/age?arg=-1", 400, "age must be positive", "wamp.error.invalid_argument"},
		{"/call/age?arg=%22x%22", 400, "", "wamp.error.invalid_argument"},
		{"/call/crash", 502, "bad gateway", "wamp.error.runtime_error"},
		{"/call/nope", 503, "", "wamp.error.no_such_procedure"},
		{"/call/slow", 504, "", "wamp.error.timeout"},
	} {
		r := httpFetch(t, srv, "GET", tt.path, "", "Accept: application/json")
		e := r.errorBody(t)
		if r.status != tt.status || e.URI != tt.uri || tt.msg != "" && e.Error != tt.msg {
			t.Errorf("%s: %d %s, want %d %q %s", tt.path, r.status, r.body, tt.status, tt.msg, tt.uri)
		}
		if strings.Contains(r.body, "hunter2") {
			t.Errorf("%s: the body leaks the callee's error: %s", tt.path, r.body)
		}
		if tt.path == "/call/crash" {
			if m := requestErrorLog(t, log, e.RequestID); !strings.Contains(m["err"].(string), "hunter2") {
				t.Errorf("the callee's error is not logged: %v", m)
			}
		}
	}
}

// TestHTTPErrorCanceledWithCause checks that a request context canceled
// with a cause (a server stopping, say) is answered for the cause, not
// as a client gone.
func TestHTTPErrorCanceledWithCause(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancelCause(r.Context())
			cancel(ErrNotRunning)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	})
	app.HTTP.Get("/", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("waiting: %w", r.Context().Err())
	}))
	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 503 || w.Body.String() != "service unavailable\n" {
		t.Errorf("got %d %q", w.Code, w.Body)
	}
}

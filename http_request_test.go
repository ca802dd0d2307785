package junction

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
)

type testUser struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
	Addr struct {
		Zip uint8 `json:"zip"`
	} `json:"addr"`
}

// errorBody is the JSON of an error response.
type errorBody struct {
	Error     string `json:"error"`
	Status    int    `json:"status"`
	RequestID string `json:"request_id"`
	URI       string `json:"uri"`
}

func (r httpResponse) errorBody(t *testing.T) errorBody {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json (body %q)", ct, r.body)
	}
	var e errorBody
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Status != r.status || e.RequestID == "" || e.RequestID != r.header.Get("X-Request-ID") {
		t.Errorf("error body %+v for status %d, request ID %q", e, r.status, r.header.Get("X-Request-ID"))
	}
	return e
}

func TestHTTPDecode(t *testing.T) {
	app, _ := newHTTPApp(t, MaxBody(64))
	app.HTTP.Post("/api/users", Handle(func(w http.ResponseWriter, r *http.Request) error {
		var u testUser
		if err := Decode(r, &u); err != nil {
			return err
		}
		return JSON(w, http.StatusCreated, u)
	}))
	srv := serveApp(t, app)

	const jsonCT = "Content-Type: application/json"
	for _, tt := range []struct {
		name, body, header string
		status             int
		want               string
	}{
		{"ok", `{"name": "ann", "age": 7, "other": 1}`, jsonCT, 201, ""},
		{"no content type", `{"name": "ann"}`, "", 201, ""},
		{"json with charset", `{"name": "ann"}`, "Content-Type: application/json; charset=utf-8", 201, ""},
		{"json suffix", `{"name": "ann"}`, "Content-Type: application/merge-patch+json", 201, ""},
		{"malformed", "{\n \"name\": x}", jsonCT, 400, `invalid JSON at line 2, column 10: invalid character 'x' looking for beginning of value`},
		{"bad key", `{"name" 1}`, jsonCT, 400, `invalid JSON at line 1, column 9: invalid character '1' after object key`},
		{"truncated", `{"name":`, jsonCT, 400, `invalid JSON at line 1, column 9: unexpected end of the body`},
		{"wrong type", `{"age": "x"}`, jsonCT, 400, `invalid JSON: field "age": expected int, got string`},
		{"not an integer", `{"age": 1.5}`, jsonCT, 400, `invalid JSON: field "age": expected int, got number 1.5`},
		{"nested out of range", `{"addr": {"zip": 300}}`, jsonCT, 400, `invalid JSON: field "addr.zip": expected uint8, got number 300`},
		{"not an object", `[1]`, jsonCT, 400, `invalid JSON: body: expected object, got array`},
		{"empty", ``, jsonCT, 400, `request body is empty: expected JSON`},
		{"blank", " \n\t", jsonCT, 400, `request body is empty: expected JSON`},
		{"trailing garbage", `{"name":"a"} x`, jsonCT, 400, `invalid JSON at line 1, column 14: data after the JSON value`},
		{"two values", "{}\n{}", jsonCT, 400, `invalid JSON at line 2, column 1: data after the JSON value`},
		{"too large", `{"name": "` + strings.Repeat("a", 60) + `"}`, jsonCT, 413, `request body is larger than 64 bytes`},
		{"not json", `name=ann`, "Content-Type: application/x-www-form-urlencoded", 415, `Content-Type "application/x-www-form-urlencoded" is not JSON: send application/json`},
		{"text", `{}`, "Content-Type: text/plain", 415, `Content-Type "text/plain" is not JSON: send application/json`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.header != "" {
				headers = append(headers, tt.header)
			}
			r := httpFetch(t, srv, "POST", "/api/users", tt.body, headers...)
			if r.status != tt.status {
				t.Fatalf("status %d %q, want %d", r.status, r.body, tt.status)
			}
			if tt.want == "" {
				return
			}
			if e := r.errorBody(t); e.Error != tt.want {
				t.Errorf("error %q\nwant       %q", e.Error, tt.want)
			}
		})
	}
}

// TestHTTPDecodeTooLargeChunked checks the limit on a body of unknown
// length, read until the limit.
func TestHTTPDecodeTooLargeChunked(t *testing.T) {
	app, _ := newHTTPApp(t, MaxBody(64))
	app.HTTP.Post("/api/x", Handle(func(w http.ResponseWriter, r *http.Request) error {
		var v any
		return Decode(r, &v)
	}))
	srv := serveApp(t, app)
	body := io.MultiReader(strings.NewReader(`["`), strings.NewReader(strings.Repeat("a", 100)), strings.NewReader(`"]`))
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/api/x", body)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if req.ContentLength != 0 || resp.StatusCode != 413 || !strings.Contains(string(b), "request body is larger than 64 bytes") {
		t.Errorf("chunked body: %d %s (sent Content-Length %d)", resp.StatusCode, b, req.ContentLength)
	}
}

func TestHTTPDecodeNotPointer(t *testing.T) {
	app, log := newHTTPApp(t)
	app.HTTP.Post("/x", Handle(func(w http.ResponseWriter, r *http.Request) error {
		var u testUser
		return Decode(r, u)
	}))
	srv := serveApp(t, app)
	httpFetch(t, srv, "POST", "/x", `{}`).check(t, 500, "internal server error\n")
	if !strings.Contains(log.String(), `"err":"junction: Decode: json: Unmarshal(non-pointer junction.testUser)"`) {
		t.Errorf("log:\n%s", log)
	}
}

func TestHTTPQueryForm(t *testing.T) {
	app, _ := newHTTPApp(t)
	app.HTTP.Get("/q", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s", Query(r, "a"), Query(r, "missing"))
	})
	app.HTTP.Post("/f", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s", Form(r, "user"), Form(r, "q"))
	})
	srv := serveApp(t, app)
	httpFetch(t, srv, "GET", "/q?a=1&a=2", "").check(t, 200, "1|")
	httpFetch(t, srv, "POST", "/f?q=s", "user=ann", "Content-Type: application/x-www-form-urlencoded").check(t, 200, "ann|s")
}

func TestHTTPRespond(t *testing.T) {
	app, log := newHTTPApp(t)
	app.HTTP.Get("/json", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return JSON(w, 0, M{"b": 1, "a": "<x>"})
	}))
	app.HTTP.Get("/json-bad", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return JSON(w, 200, M{"x": math.NaN()})
	}))
	app.HTTP.Get("/text", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return Text(w, http.StatusAccepted, "hello %s", "ann")
	}))
	app.HTTP.Get("/html", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return HTML(w, http.StatusTeapot, "<p>hi</p>")
	}))
	srv := serveApp(t, app)

	for _, tt := range []struct {
		path   string
		status int
		ctype  string
		body   string
	}{
		{"/json", 200, "application/json", `{"a":"\u003cx\u003e","b":1}` + "\n"},
		{"/json-bad", 500, "text/plain; charset=utf-8", "internal server error\n"},
		{"/text", 202, "text/plain; charset=utf-8", "hello ann"},
		{"/html", 418, "text/html; charset=utf-8", "<p>hi</p>"},
	} {
		r := httpFetch(t, srv, "GET", tt.path, "")
		r.check(t, tt.status, tt.body)
		if ct := r.header.Get("Content-Type"); ct != tt.ctype {
			t.Errorf("%s: Content-Type %q, want %q", tt.path, ct, tt.ctype)
		}
	}
	if !strings.Contains(log.String(), `"err":"junction: JSON: json: unsupported value: NaN"`) {
		t.Errorf("the JSON error is not logged:\n%s", log)
	}
}

package proctest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// httpClient bounds every request, so that a hung server fails the test
// rather than stalling it.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// Do sends a request with body (of contentType, unless "") and returns
// the response with its body read.
func Do(t testing.TB, method, url, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, url, err)
	}
	return res, string(b)
}

// Expect checks a response's status, media type and, unless wantBody is
// "", its body.
func Expect(t testing.TB, res *http.Response, body string, status int, mediaType, wantBody string) {
	t.Helper()
	what := res.Request.Method + " " + res.Request.URL.Path
	if res.StatusCode != status {
		t.Errorf("%s: status %d, want %d; body %s", what, res.StatusCode, status, body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, mediaType) {
		t.Errorf("%s: Content-Type %q, want %s", what, ct, mediaType)
	}
	if wantBody != "" && body != wantBody {
		t.Errorf("%s: body %q, want %q", what, body, wantBody)
	}
}

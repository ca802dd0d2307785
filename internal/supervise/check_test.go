package supervise

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTCPCheck(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := TCP(ln.Addr().String()).Check(ctx); err != nil {
		t.Errorf("listening: %v", err)
	}
	if err := TCP(closedAddr(t)).Check(ctx); err == nil || err.Error() != "connection refused" {
		t.Errorf("closed: %v, want connection refused", err)
	}
}

func TestHTTPCheck(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
		case "/moved":
			// Not followed: its target is not ready.
			http.Redirect(w, r, "/other", http.StatusFound)
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	for path, want := range map[string]string{
		"/ok":    "",
		"/moved": "",
		"/other": "status 503 Service Unavailable",
	} {
		err := HTTP(srv.URL + path).Check(ctx)
		if (want == "" && err != nil) || (want != "" && (err == nil || err.Error() != want)) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
	if err := HTTP("http://" + closedAddr(t) + "/").Check(ctx); err == nil || err.Error() != "connection refused" {
		t.Errorf("closed: %v, want connection refused", err)
	}
	short, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-short.Done()
	if err := HTTP(srv.URL + "/ok").Check(short); err == nil {
		t.Error("passed with an ended context")
	}
}

package junction_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/junction-run/junction"
)

// The JSONRoute benchmarks serve the same small JSON route, in process
// (httptest.NewRecorder, no network), through the Application and
// through a plain net/http ServeMux with encoding/json, so that their
// ratio is the framework's overhead: the built-in layers (request ID,
// access log, panic recovery), the app in the request's context, and
// junction.JSON.

// benchRoute is the request both serve: a route with a path parameter.
const benchRoute = "/hello/gopher"

const benchWant = `{"hello":"gopher","n":1}` + "\n"

// BenchmarkJSONRouteApp serves the route through app.ServeHTTP, with the
// access log sent to a disabled handler (log=discard), formatted as text
// into io.Discard (log=text), or turned off (log=off).
func BenchmarkJSONRouteApp(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []junction.Option
	}{
		{"log=discard", []junction.Option{junction.WithLogger(slog.New(slog.DiscardHandler))}},
		{"log=text", []junction.Option{junction.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}},
		{"log=off", []junction.Option{junction.WithLogger(slog.New(slog.DiscardHandler)), junction.NoAccessLog()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			app := junction.New("bench", bc.opts...)
			app.HTTP.Get("/hello/:name", func(w http.ResponseWriter, r *http.Request) {
				junction.JSON(w, http.StatusOK, junction.M{"hello": junction.Param(r, "name"), "n": 1})
			})
			benchJSONRoute(b, app)
		})
	}
}

// BenchmarkJSONRouteNetHTTP serves the route with net/http alone.
func BenchmarkJSONRouteNetHTTP(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"hello": r.PathValue("name"), "n": 1})
	})
	benchJSONRoute(b, mux)
}

func benchJSONRoute(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, benchRoute, nil)
	check := httptest.NewRecorder()
	h.ServeHTTP(check, req)
	if check.Code != http.StatusOK || check.Body.String() != benchWant {
		b.Fatalf("GET %s: %d %q, want 200 %q", benchRoute, check.Code, check.Body, benchWant)
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkHTTPHandlerRPC serves an HTTP route whose handler calls a
// procedure the app registered, through the embedded router in process,
// and answers its result as JSON: the cost of reaching a WAMP component
// from HTTP.
func BenchmarkHTTPHandlerRPC(b *testing.B) {
	app := junction.New("bench",
		junction.WithLogger(slog.New(slog.DiscardHandler)),
		junction.WithSettings(func(s *junction.Settings) { s.Listen = "127.0.0.1:0" }))
	app.Register("add", func(a, b int) int { return a + b })
	app.HTTP.Get("/add", junction.Handle(func(w http.ResponseWriter, r *http.Request) error {
		res, err := app.Call(r.Context(), "add", 2, 3)
		if err != nil {
			return err
		}
		return junction.JSON(w, http.StatusOK, junction.M{"sum": res.Arg(0)})
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			b.Error(err)
		}
	})

	req := httptest.NewRequest(http.MethodGet, "/add", nil)
	check := httptest.NewRecorder()
	app.ServeHTTP(check, req)
	if want := `{"sum":5}` + "\n"; check.Code != http.StatusOK || check.Body.String() != want {
		b.Fatalf("GET /add: %d %q, want 200 %q", check.Code, check.Body, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		app.ServeHTTP(httptest.NewRecorder(), req)
	}
}

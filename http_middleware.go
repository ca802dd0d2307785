package junction

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// requestIDHeader carries a request's ID, in the request and the
// response.
const requestIDHeader = "X-Request-Id" // canonical form: no re-canonicalizing per request

type requestIDKey struct{}

// RequestIDFrom returns the ID of the HTTP request that ctx belongs to,
// or "" outside one. The ID is the request's X-Request-ID header when it
// looks sane (1 to 128 letters, digits and -_.:+/=@), so that an ID set
// by a proxy in front carries through; otherwise a random one. Either
// way the response carries it in X-Request-ID, and every log line about
// the request has it as request_id.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// saneRequestID reports whether id, taken from a request, may be logged
// and echoed as it is.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.:+/=@", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// NoAccessLog turns off the access log, one line at info level for each
// request (method, path, status, bytes, duration, request ID). To log
// requests another way, turn it off and add your own middleware with Use.
// Option of New.
func NoAccessLog() Option {
	return appOpt{"NoAccessLog", func(app *Application) { app.HTTP.accessLog = false }}
}

// serve runs the built-in layers around next: request ID, access log,
// panic recovery.
func (h *HTTP) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	id := r.Header.Get(requestIDHeader)
	if !saneRequestID(id) {
		id = rand.Text()
	}
	w.Header().Set(requestIDHeader, id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	rw := &responseWriter{ResponseWriter: w}
	if h.accessLog {
		defer h.logAccess(rw, r, time.Now())
	}
	defer h.recoverPanic(rw, r)
	defer h.app.watch("http", r.Method+" "+r.URL.Path)()
	next.ServeHTTP(rw, r)
}

// logAccess, deferred, logs a request. An aborted response (a panic
// with http.ErrAbortHandler, the only one recoverPanic lets through) is
// logged as such, then the panic goes on up.
func (h *HTTP) logAccess(w *responseWriter, r *http.Request, start time.Time) {
	p := recover()
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", w.statusSent()),
		slog.Int64("bytes", w.bytes),
		slog.Duration("duration", time.Since(start)),
		slog.String("request_id", RequestIDFrom(r.Context())),
	}
	if w.hijacked {
		attrs = append(attrs, slog.Bool("hijacked", true))
	}
	if p != nil {
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	h.app.Logger().LogAttrs(r.Context(), slog.LevelInfo, "junction: http request", attrs...)
	if p != nil {
		panic(p)
	}
}

// recoverPanic, deferred, turns a handler's panic into a log line with
// the stack, a count in the panics metric and a 500 response. If the
// response had started, it aborts it instead, so that the client does
// not take a cut one for a whole one. http.ErrAbortHandler goes on up
// untouched: it is net/http's way to abort a response on purpose.
func (h *HTTP) recoverPanic(w *responseWriter, r *http.Request) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler { // compared as net/http does
		panic(p)
	}
	h.app.metrics.panics.WithLabelValues("http").Inc()
	h.app.Logger().LogAttrs(r.Context(), slog.LevelError, "junction: http handler panicked",
		slog.String("request_id", RequestIDFrom(r.Context())),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("panic", fmt.Sprint(p)),
		slog.String("stack", string(debug.Stack())))
	if w.status != 0 || w.hijacked {
		panic(http.ErrAbortHandler)
	}
	writeErrorBody(w, r, errInternal)
}

// responseWriter records what a handler sent, for the access log and to
// know whether an error can still get a clean response. Unwrap lets
// http.ResponseController reach the connection's writer.
type responseWriter struct {
	http.ResponseWriter
	status   int // 0 until the header is sent
	bytes    int64
	hijacked bool
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the copy from files in http.ServeContent efficient.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher for handlers that assert it (server-sent
// events...).
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker for handlers that assert it
// (WebSocket libraries); it fails where the connection cannot be
// hijacked, as on HTTP/2.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// statusSent is the status the client got: 200 if the handler sent
// nothing, as net/http does.
func (w *responseWriter) statusSent() int {
	if w.status == 0 && !w.hijacked {
		return http.StatusOK
	}
	return w.status
}

// findResponseWriter returns the built-in layer's writer under w, or nil
// if a middleware's writer in between hides it.
func findResponseWriter(w http.ResponseWriter) *responseWriter {
	for {
		switch t := w.(type) {
		case *responseWriter:
			return t
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
	}
}

// CORS returns middleware that lets pages from other origins call the
// app's routes (Cross-Origin Resource Sharing). origins are exact origins
// like "https://example.com", or "*" for any; with none, no origin is
// allowed. Credentials (cookies) are not allowed across origins.
//
// A preflight request (OPTIONS with Access-Control-Request-Method) is
// answered 204 without reaching the routes, allowing the requested
// method and headers for 10 minutes if the origin is allowed. Other
// requests from an allowed origin get Access-Control-Allow-Origin and
// can read the X-Request-ID header. Responses vary on Origin.
func CORS(origins ...string) func(http.Handler) http.Handler {
	anyOrigin := slices.Contains(origins, "*")
	allowed := make(map[string]bool, len(origins))
	for _, o := range origins {
		allowed[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Add("Vary", "Origin")
			origin := r.Header.Get("Origin")
			if origin == "" {
				next.ServeHTTP(w, r)
				return
			}
			ok := anyOrigin || allowed[strings.ToLower(origin)]
			allowOrigin := origin
			if anyOrigin {
				allowOrigin = "*"
			}
			method := r.Header.Get("Access-Control-Request-Method")
			if r.Method == http.MethodOptions && method != "" {
				h.Add("Vary", "Access-Control-Request-Method")
				h.Add("Vary", "Access-Control-Request-Headers")
				if ok {
					h.Set("Access-Control-Allow-Origin", allowOrigin)
					h.Set("Access-Control-Allow-Methods", method)
					if hdrs := r.Header.Get("Access-Control-Request-Headers"); hdrs != "" {
						h.Set("Access-Control-Allow-Headers", hdrs)
					}
					h.Set("Access-Control-Max-Age", "600")
				}
				w.WriteHeader(http.StatusNoContent)
				return
			}
			if ok {
				h.Set("Access-Control-Allow-Origin", allowOrigin)
				h.Set("Access-Control-Expose-Headers", requestIDHeader)
			}
			next.ServeHTTP(w, r)
		})
	}
}

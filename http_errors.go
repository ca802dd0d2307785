package junction

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/junction-run/junction/internal/wamphttp"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/wamp"
)

// HTTPError is an error that says which response it gets: a handler
// wrapped by Handle returns it to answer with Status and Message.
type HTTPError struct {
	// Status is the response's status, 4xx or 5xx; any other is taken
	// as 500.
	Status int
	// Message is sent to the client; "" means the status's text ("not
	// found").
	Message string
	// Err, if set, is the cause: logged, never sent.
	Err error
}

// NewHTTPError returns an *HTTPError with status and message.
func NewHTTPError(status int, message string) *HTTPError {
	return &HTTPError{Status: status, Message: message}
}

// HTTPErrorf returns an *HTTPError with status and a message formatted as
// fmt.Errorf does: the errors given with %w become its Err too, so
// errors.Is sees them, but the message shows their text to the client.
func HTTPErrorf(status int, format string, args ...any) *HTTPError {
	err := fmt.Errorf(format, args...)
	e := &HTTPError{Status: status, Message: err.Error()}
	switch w := err.(type) {
	case interface{ Unwrap() error }:
		e.Err = w.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = errors.Join(w.Unwrap()...)
	}
	return e
}

// Error returns "http <status>: <message>", followed by Err's text
// unless the message has it.
func (e *HTTPError) Error() string {
	s := "http " + strconv.Itoa(e.status()) + ": " + e.message()
	if e.Err != nil && !strings.Contains(e.Message, e.Err.Error()) {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err.
func (e *HTTPError) Unwrap() error { return e.Err }

func (e *HTTPError) status() int {
	if e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

func (e *HTTPError) message() string {
	if e.Message == "" {
		return statusText(e.status())
	}
	return e.Message
}

// Handle adapts a handler that returns an error: the error becomes a
// response as WriteError describes. A nil error means the handler has
// answered.
func Handle(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, err)
		}
	}
}

// WriteError answers r with err, logs it and counts it; Handle calls it
// for the errors its handler returns. Statuses:
//
//   - an *HTTPError (found with errors.As): its Status and Message;
//   - a *wamp.Error, as Application.Call returns: by its URI,
//     wamp.error.invalid_argument 400; not_authorized and
//     authorization_failed 403; no_such_procedure, no_available_callee,
//     unavailable and canceled 503; timeout 504; any other, including
//     the application's own URIs, 502. The message is the WAMP error's
//     (its first argument, or its "message" keyword argument), except
//     for wamp.error.runtime_error (a callee's Go error or panic), which
//     is only logged;
//   - ErrNotRunning, or the app's session closed or reconnecting: 503;
//   - context.DeadlineExceeded: 504;
//   - context.Canceled once the client has gone: 499 (nginx's "client
//     closed request"), for the logs; if the request's context was
//     canceled with a cause, the status of the cause;
//   - anything else: 500 "internal server error". Its text is logged,
//     never sent.
//
// The response is JSON, {"error": message, "status": status,
// "request_id": id} plus "uri" for a WAMP error, when the client asked
// for JSON: a path under /api/, a JSON request body (Content-Type
// application/json or */*+json), or an Accept header that ranks
// application/json (or */*+json) at least as high as text/html and
// text/plain. Otherwise it is text/plain: the message and a newline.
//
// The log line has the request ID, method, path, status and error: at
// error level for 5xx, debug for 4xx. If the response had already
// started, WriteError only logs, at error level.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil || errors.As(err, new(*handledError)) {
		return
	}
	e := classify(r, err)
	rw := findResponseWriter(w)
	started := rw != nil && (rw.status != 0 || rw.hijacked)
	app := AppFrom(r.Context())
	log := slog.Default()
	if app != nil {
		app.metrics.errors.WithLabelValues("http").Inc()
		log = app.Logger()
	}
	level, msg := slog.LevelDebug, "junction: http handler error"
	if e.status >= 500 {
		level = slog.LevelError
	}
	if started {
		level, msg = slog.LevelError, "junction: http handler error after the response started"
	}
	log.LogAttrs(r.Context(), level, msg,
		slog.String("request_id", RequestIDFrom(r.Context())),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", e.status),
		slog.String("err", err.Error()))
	if !started {
		writeErrorBody(w, r, e)
	}
}

// errorResponse is what the client learns of an error.
type errorResponse struct {
	status  int
	message string
	uri     wamp.URI // for a WAMP error
}

var errInternal = errorResponse{status: http.StatusInternalServerError, message: "internal server error"}

// statusClientClosed is nginx's status for a client gone before the
// response, used in logs.
const statusClientClosed = 499

// classify maps err to its response, as WriteError documents.
func classify(r *http.Request, err error) errorResponse {
	var he *HTTPError
	if errors.As(err, &he) {
		return errorResponse{status: he.status(), message: he.message()}
	}
	var we *wamp.Error
	if errors.As(err, &we) {
		e := errorResponse{status: wampStatus(we.URI), message: wampMessage(we), uri: we.URI}
		if errors.Is(we, client.ErrRuntime) {
			e.message = "" // a callee's Go error: its text may tell too much
		}
		if e.message == "" {
			e.message = statusText(e.status)
		}
		return e
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errorResponse{status: http.StatusGatewayTimeout, message: statusText(http.StatusGatewayTimeout)}
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// net/http cancels without a cause when the client goes; a
		// cause says who else canceled.
		if cause := context.Cause(r.Context()); !errors.Is(cause, context.Canceled) {
			return classify(r, cause)
		}
		return errorResponse{status: statusClientClosed, message: "client closed request"}
	case errors.Is(err, queue.ErrNotFound):
		// An unknown task id: the caller's mistake, and saying so leaks
		// nothing.
		return errorResponse{status: http.StatusNotFound, message: queue.ErrNotFound.Error()}
	case errors.Is(err, ErrNotRunning), errors.Is(err, client.ErrSessionClosed), errors.Is(err, client.ErrConnectionLost):
		return errorResponse{status: http.StatusServiceUnavailable, message: statusText(http.StatusServiceUnavailable)}
	}
	return errInternal
}

func wampStatus(uri wamp.URI) int { return wamphttp.Status(uri) }

// wampMessage is the human-readable message of a WAMP error, or "".
func wampMessage(e *wamp.Error) string {
	if len(e.Args) > 0 {
		s, _ := e.Args[0].(string)
		return s
	}
	s, _ := e.Kwargs["message"].(string)
	return s
}

func statusText(status int) string {
	return strings.ToLower(http.StatusText(status))
}

// writeErrorBody sends e as JSON or text, as WriteError documents.
func writeErrorBody(w http.ResponseWriter, r *http.Request, e errorResponse) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("X-Content-Type-Options", "nosniff")
	if !wantsJSON(r) {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.status)
		fmt.Fprintln(w, e.message)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(struct {
		Error     string   `json:"error"`
		Status    int      `json:"status"`
		RequestID string   `json:"request_id,omitempty"`
		URI       wamp.URI `json:"uri,omitempty"`
	}{e.message, e.status, RequestIDFrom(r.Context()), e.uri})
}

// wantsJSON reports whether r gets its errors as JSON: see WriteError.
func wantsJSON(r *http.Request) bool {
	p := r.URL.Path
	if p == "/api" || strings.HasPrefix(p, "/api/") || isJSON(r.Header.Get("Content-Type")) {
		return true
	}
	var jsonQ, textQ float64
	for _, accept := range r.Header.Values("Accept") {
		for media := range strings.SplitSeq(accept, ",") {
			mt, params, err := mime.ParseMediaType(media)
			if err != nil {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(s, 64); err != nil {
					continue
				}
			}
			switch {
			case isJSON(mt):
				jsonQ = max(jsonQ, q)
			case mt == "text/html" || mt == "text/plain" || mt == "text/*":
				textQ = max(textQ, q)
			}
		}
	}
	return jsonQ > 0 && jsonQ >= textQ
}

// isJSON reports whether the media type (parameters allowed) is JSON.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// handledError is an error the response already accounts for: answered
// and logged by Render, or a failure to write to a client that has gone.
// WriteError leaves it be.
type handledError struct{ err error }

func (e *handledError) Error() string { return e.err.Error() }
func (e *handledError) Unwrap() error { return e.err }

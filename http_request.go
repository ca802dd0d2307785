package junction

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
)

// Param returns the value of the path parameter name of the request's
// route (":id" or "{id}" in the pattern), or "". It is r.PathValue.
func Param(r *http.Request, name string) string { return r.PathValue(name) }

// Query returns the first value of the URL query parameter name, or "".
func Query(r *http.Request, name string) string { return r.URL.Query().Get(name) }

// Form returns the first value of the form field name, from a POST, PUT
// or PATCH body (url-encoded or multipart) or else the URL query, or "".
// It is r.FormValue, with net/http's limits on the body.
func Form(r *http.Request, name string) string { return r.FormValue(name) }

// defaultMaxBody is Decode's limit without MaxBody: 1 MiB.
const defaultMaxBody = 1 << 20

// MaxBody sets the size limit of the request bodies Decode reads, 1 MiB
// by default. Option of New.
func MaxBody(n int64) Option {
	return appOpt{"MaxBody", func(app *Application) {
		if n <= 0 {
			app.setupError(fmt.Errorf("junction: MaxBody(%d): the limit must be positive", n))
			return
		}
		app.HTTP.maxBody = n
	}}
}

// Decode decodes the request's JSON body into v, which must be a
// pointer. Fields of the body that v lacks are ignored. What the client
// did wrong comes back as an *HTTPError with a precise message (return it
// from a Handle handler to answer with it):
//
//   - 400 for an empty body, malformed JSON (with its line and column), a
//     value of the wrong type (with its field and the type expected), or
//     data after the JSON value;
//   - 413 for a body over the limit (see MaxBody);
//   - 415 for a Content-Type other than JSON (application/json or
//     */*+json); a request without one is read as JSON.
//
// Any other error, such as v not being a pointer, is a programmer's
// mistake and answers 500.
func Decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return &HTTPError{Status: http.StatusUnsupportedMediaType,
			Message: fmt.Sprintf("Content-Type %q is not JSON: send application/json", ct)}
	}
	limit := maxBody(r)
	if r.ContentLength > limit {
		return tooLarge(limit, nil)
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit, err)
		}
		if err != nil {
			return &HTTPError{Status: http.StatusBadRequest, Message: "cannot read the request body", Err: err}
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &HTTPError{Status: http.StatusBadRequest, Message: "request body is empty: expected JSON"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return decodeError(body, err)
	}
	rest := body[dec.InputOffset():]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
		line, col := position(body, len(body)-len(trimmed))
		return &HTTPError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("invalid JSON at line %d, column %d: data after the JSON value", line, col)}
	}
	return nil
}

// maxBody is the limit of r's app.
func maxBody(r *http.Request) int64 {
	if app := AppFrom(r.Context()); app != nil && app.HTTP.maxBody > 0 {
		return app.HTTP.maxBody
	}
	return defaultMaxBody
}

func tooLarge(limit int64, err error) *HTTPError {
	return &HTTPError{Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("request body is larger than %d bytes", limit), Err: err}
}

// decodeError turns an error of json.Decoder.Decode into the client's
// error.
func decodeError(body []byte, err error) error {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		inv    *json.InvalidUnmarshalError
	)
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the bad one included.
		line, col := position(body, int(syntax.Offset)-1)
		return &HTTPError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, syntax), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(body, len(body))
		return &HTTPError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("invalid JSON at line %d, column %d: unexpected end of the body", line, col), Err: err}
	case errors.As(err, &typ):
		where := "body"
		if typ.Field != "" {
			where = fmt.Sprintf("field %q", typ.Field)
		}
		return &HTTPError{Status: http.StatusBadRequest,
			Message: fmt.Sprintf("invalid JSON: %s: expected %s, got %s", where, jsonType(typ.Type), typ.Value), Err: err}
	case errors.As(err, &inv):
		return fmt.Errorf("junction: Decode: %w", err)
	}
	// An UnmarshalJSON method's error: about the client's data.
	return &HTTPError{Status: http.StatusBadRequest, Message: "invalid JSON value: " + err.Error(), Err: err}
}

// jsonType names what JSON a value of type t decodes from: the Go type
// for numbers, whose range matters.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return t.String()
}

// position returns the 1-based line and column of byte offset in b.
func position(b []byte, offset int) (line, col int) {
	offset = max(0, min(offset, len(b)))
	before := b[:offset]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = offset - bytes.LastIndexByte(before, '\n')
	return line, col
}

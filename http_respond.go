package junction

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// M is a shorthand for the maps handed to JSON and Render.
type M = map[string]any

// JSON sends v encoded as JSON, with status (0 means 200). If v cannot be
// encoded, JSON sends nothing and returns the error: return it from a
// Handle handler, or pass it to WriteError, to answer 500. An error
// writing the response (the client has gone) is returned, and WriteError
// ignores it.
func JSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("junction: JSON: %w", err)
	}
	return send(w, status, "application/json", buf.Bytes())
}

// Text sends a text/plain response with status (0 means 200), formatted
// as fmt.Sprintf does. Its error is a failure to write (the client has
// gone), which WriteError ignores.
func Text(w http.ResponseWriter, status int, format string, args ...any) error {
	return send(w, status, "text/plain; charset=utf-8", fmt.Appendf(nil, format, args...))
}

// HTML sends html, as it is, with status (0 means 200). Its error is a
// failure to write (the client has gone), which WriteError ignores. To
// build HTML from data safely, use Render.
func HTML(w http.ResponseWriter, status int, html string) error {
	return send(w, status, "text/html; charset=utf-8", []byte(html))
}

func send(w http.ResponseWriter, status int, contentType string, body []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(statusOrOK(status))
	if _, err := w.Write(body); err != nil {
		return &handledError{err}
	}
	return nil
}

func statusOrOK(status int) int {
	if status == 0 {
		return http.StatusOK
	}
	return status
}

package junction

import "net/http"

// HTTP holds the app's routes, static file trees and middleware.
type HTTP struct {
	app *Application
	mux *http.ServeMux
}

func newHTTP(app *Application) *HTTP {
	return &HTTP{app: app, mux: http.NewServeMux()}
}

// ServeHTTP serves a request through the middleware and the routes.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

package junction

import (
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
)

// HTTP holds the app's routes, static file trees and middleware. Routes
// go to a net/http ServeMux, so its pattern syntax, precedence rules,
// 404 and 405 answers apply; see Handle.
//
// Every request first goes through built-in layers that cannot be turned
// off, outermost first: a request ID (see RequestIDFrom), the access log
// (unless NoAccessLog), and panic recovery; then through the middleware
// added with Use; then to the route.
//
// Declare routes, static trees and middleware before Start, which
// reports the bad ones. Declaring is safe for concurrent use, also while
// the app serves requests.
type HTTP struct {
	app *Application
	mux *http.ServeMux

	// Set by options of New, before the first request.
	maxBody   int64 // MaxBody; 0 means defaultMaxBody
	accessLog bool  // on unless NoAccessLog
	tmpl      templates

	mu    sync.Mutex
	mws   []func(http.Handler) http.Handler // guarded by mu
	sites map[string]string                 // pattern: where it was declared; guarded by mu
	dirs  []servedDir                       // Serve's directories, for the template command; guarded by mu
	// chain is the middleware and the mux, built at the first request
	// and rebuilt by the next one after Use.
	chain atomic.Pointer[http.Handler]
}

func newHTTP(app *Application) *HTTP {
	return &HTTP{app: app, mux: http.NewServeMux(), accessLog: true}
}

// ServeHTTP serves a request through the built-in layers, the middleware
// and the routes. Mounted on its own, without the Application, it still
// puts its app in the request's context (see AppFrom).
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if AppFrom(r.Context()) != h.app {
		r = r.WithContext(withApp(r.Context(), h.app))
	}
	h.serve(w, r, h.handler())
}

// Use adds middleware around the routes. The first added is the
// outermost: Use(a, b) serves a request with a(b(route)). Middleware
// runs inside the built-in layers, so it sees the request ID and its
// panics are recovered; it runs for every request, matched or not (a
// 404 too), except /ws when the app embeds the router.
//
// Middleware added while the app serves requests applies to the requests
// that start afterwards.
func (h *HTTP) Use(mw ...func(http.Handler) http.Handler) {
	if slices.ContainsFunc(mw, func(m func(http.Handler) http.Handler) bool { return m == nil }) {
		h.refuse("Use", errors.New("nil middleware"))
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mws = append(h.mws, mw...)
	h.chain.Store(nil)
}

// handler returns the middleware chain around the mux, built once per
// change of the middleware.
func (h *HTTP) handler() http.Handler {
	if p := h.chain.Load(); p != nil {
		return *p
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if p := h.chain.Load(); p != nil {
		return *p
	}
	var next http.Handler = h.mux
	for i := len(h.mws) - 1; i >= 0; i-- {
		next = h.mws[i](next)
	}
	h.chain.Store(&next)
	return next
}

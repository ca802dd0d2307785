package junction

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
)

// Get routes GET (and HEAD) requests matching pattern to f. A pattern is
// a path, optionally after a host ("example.com/x"), whose segments may
// be parameters: ":id", or net/http's "{id}" and "{path...}"; read them
// with Param. Unlike Handle, a pattern ending in "/" matches exactly:
// "/user/:id/" matches /user/5/ but not /user/5/x (and /user/5 is
// redirected to /user/5/, as ServeMux does). A pattern ending in
// {name...} matches the rest of the path.
//
// A bad pattern (an empty parameter name, a ":" inside a segment, a
// method in the pattern) or one that conflicts with another route is
// reported by Start.
func (h *HTTP) Get(pattern string, f http.HandlerFunc) { h.route(http.MethodGet, "Get", pattern, f) }

// Post routes POST requests matching pattern to f; see Get.
func (h *HTTP) Post(pattern string, f http.HandlerFunc) { h.route(http.MethodPost, "Post", pattern, f) }

// Put routes PUT requests matching pattern to f; see Get.
func (h *HTTP) Put(pattern string, f http.HandlerFunc) { h.route(http.MethodPut, "Put", pattern, f) }

// Patch routes PATCH requests matching pattern to f; see Get.
func (h *HTTP) Patch(pattern string, f http.HandlerFunc) {
	h.route(http.MethodPatch, "Patch", pattern, f)
}

// Delete routes DELETE requests matching pattern to f; see Get.
func (h *HTTP) Delete(pattern string, f http.HandlerFunc) {
	h.route(http.MethodDelete, "Delete", pattern, f)
}

// Handle routes the requests matching pattern to handler, whatever their
// method, or those of the method the pattern starts with ("POST /x").
// Patterns are net/http ServeMux patterns, with ":id" parameters too (see
// Get), and follow ServeMux rules: a pattern ending in "/" matches the
// whole subtree ("/files/" matches /files/a/b) unless it ends in {$}; the
// most specific pattern wins; a request for a path that only matches
// with another method gets 405. Bad and conflicting patterns are
// reported by Start.
func (h *HTTP) Handle(pattern string, handler http.Handler) {
	h.handle(fmt.Sprintf("Handle(%q)", pattern), pattern, handler)
}

// HandleFunc is Handle for a function.
func (h *HTTP) HandleFunc(pattern string, f http.HandlerFunc) {
	h.handle(fmt.Sprintf("HandleFunc(%q)", pattern), pattern, nilIfNil(f))
}

// route registers f for method on pattern, matching exactly.
func (h *HTTP) route(method, caller, pattern string, f http.HandlerFunc) {
	call := fmt.Sprintf("%s(%q)", caller, pattern)
	if m, _, ok := strings.Cut(pattern, " "); ok {
		h.refuse(call, fmt.Errorf("the method %q is in the pattern; use HTTP.Handle for that", m))
		return
	}
	p := pattern
	if strings.HasSuffix(p, "/") {
		p += "{$}"
	}
	h.handle(call, method+" "+p, nilIfNil(f))
}

// handle registers handler for pattern p, reporting a bad pattern or a
// conflict as the error of call.
func (h *HTTP) handle(call, p string, handler http.Handler) {
	p, err := muxPattern(p)
	if err == nil && handler == nil {
		err = errors.New("nil handler")
	}
	if err == nil {
		err = h.register(p, handler, callSite())
	}
	if err != nil {
		h.refuse(call, err)
	}
}

// refuse records the error of a declaration, call, for Start to report
// with the place of the call.
func (h *HTTP) refuse(call string, err error) {
	h.app.setupError(fmt.Errorf("junction: HTTP.%s at %s: %w", call, callSite(), err))
}

// register is mux.Handle, which panics on a bad or conflicting pattern.
// Its messages locate the patterns in this file: they get the user's
// call site instead, site for pattern.
func (h *HTTP) register(pattern string, handler http.Handler, site string) (err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			n := 0 // the new pattern comes first, then the one it conflicts with
			err = errors.New(registeredAt.ReplaceAllStringFunc(fmt.Sprint(r), func(s string) string {
				p := registeredAt.FindStringSubmatch(s)[1]
				if n++; n == 1 {
					return strconv.Quote(p)
				}
				return fmt.Sprintf("%q (declared at %s)", p, h.sites[p])
			}))
		}
	}()
	h.mux.Handle(pattern, handler)
	if h.sites == nil {
		h.sites = make(map[string]string)
	}
	h.sites[pattern] = site
	return nil
}

var registeredAt = regexp.MustCompile(`pattern "([^"]*)" \(registered at [^)]*\)`)

// callSite returns the file and line of the code that called into HTTP.
func callSite() string {
	pc := make([]uintptr, 8)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		if !strings.Contains(f.Function, "junction.(*HTTP).") {
			return f.File + ":" + strconv.Itoa(f.Line)
		}
		if !more {
			return "?"
		}
	}
}

// muxPattern turns the ":name" segments of pattern's path into ServeMux's
// "{name}".
func muxPattern(pattern string) (string, error) {
	i := strings.IndexByte(pattern, '/')
	if i < 0 || !strings.Contains(pattern[i:], ":") {
		return pattern, nil
	}
	segs := strings.Split(pattern[i:], "/")
	for j, s := range segs {
		c := strings.IndexByte(s, ':')
		switch {
		case c < 0:
		case c > 0:
			return "", fmt.Errorf("%q: a parameter must be a whole segment, like /user/:id/", s)
		case len(s) == 1:
			return "", fmt.Errorf("empty parameter name after \":\"")
		default:
			segs[j] = "{" + s[1:] + "}"
		}
	}
	return pattern[:i] + strings.Join(segs, "/"), nil
}

// nilIfNil returns nil for a nil f, which would otherwise be a non-nil
// http.Handler.
func nilIfNil(f http.HandlerFunc) http.Handler {
	if f == nil {
		return nil
	}
	return f
}

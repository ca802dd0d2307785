package junction

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// serveOption is an Option of HTTP.Serve and HTTP.ServeFS.
type serveOption interface {
	Option
	applyServe(*serveConfig)
}

type serveConfig struct {
	allowIndex bool
}

type serveOpt struct {
	name  string
	apply func(*serveConfig)
}

func (o serveOpt) optionName() string        { return o.name }
func (o serveOpt) applyServe(c *serveConfig) { o.apply(c) }

// AllowIndex makes HTTP.Serve list the files of a directory that has no
// index.html. Option of HTTP.Serve and HTTP.ServeFS.
func AllowIndex() Option {
	return serveOpt{"AllowIndex", func(c *serveConfig) { c.allowIndex = true }}
}

// Serve serves the files under dir at the URL path prefix ("/static/"
// serves dir/app.js as /static/app.js), to GET and HEAD requests, with
// net/http's FileServer: content types, Last-Modified and ranges. A
// directory is served as its index.html; without one, it is 404 unless
// AllowIndex is given. Files and directories whose name starts with "."
// are never served (404). Paths cannot leave dir; symbolic links inside
// it are followed, as os.DirFS does.
//
// dir is resolved against the working directory now; a missing dir or a
// bad option is reported by Start. The prefix "/" serves files for the
// paths no other route takes.
func (h *HTTP) Serve(prefix, dir string, opts ...Option) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		err = isDir(abs)
	}
	if err != nil {
		h.refuse(fmt.Sprintf("Serve(%q, %q)", prefix, dir), err)
		return
	}
	h.serveFS(fmt.Sprintf("Serve(%q, %q)", prefix, dir), prefix, abs, os.DirFS(abs), opts)
}

// ServeFS is Serve for the files of fsys (an embed.FS...); fs.Sub picks
// a subdirectory.
func (h *HTTP) ServeFS(prefix string, fsys fs.FS, opts ...Option) {
	if fsys == nil {
		h.refuse(fmt.Sprintf("ServeFS(%q)", prefix), errors.New("nil file system"))
		return
	}
	h.serveFS(fmt.Sprintf("ServeFS(%q)", prefix), prefix, "", fsys, opts)
}

// servedDir is a directory given to Serve: the template command has
// nginx serve it.
type servedDir struct {
	prefix, dir string // "/static/", absolute
	allowIndex  bool
}

// serveFS serves fsys at prefix for call, Serve or ServeFS; dir is the
// directory of Serve, "" for ServeFS.
func (h *HTTP) serveFS(call, prefix, dir string, fsys fs.FS, opts []Option) {
	var cfg serveConfig
	for _, o := range opts {
		so, ok := o.(serveOption)
		if !ok {
			h.refuse(call, fmt.Errorf("option %s does not apply here", optionName(o)))
			return
		}
		so.applyServe(&cfg)
	}
	if !strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, ":{} ") {
		h.refuse(call, errors.New("the prefix must be a path starting with /, without parameters"))
		return
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	files := http.FileServerFS(staticFS{fsys: fsys, allowIndex: cfg.allowIndex})
	h.handle(call, "GET "+prefix, http.StripPrefix(strings.TrimSuffix(prefix, "/"), files))
	if dir != "" {
		h.mu.Lock()
		h.dirs = append(h.dirs, servedDir{prefix: prefix, dir: dir, allowIndex: cfg.allowIndex})
		h.mu.Unlock()
	}
}

// optionName is o's name, or "nil".
func optionName(o Option) string {
	if o == nil {
		return "nil"
	}
	return o.optionName()
}

// staticFS is the file system Serve shows: no dot files, and no
// directory without index.html unless allowIndex.
type staticFS struct {
	fsys       fs.FS
	allowIndex bool
}

func (s staticFS) Open(name string) (fs.File, error) {
	if hidden(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.IsDir() {
		return f, err
	}
	if s.allowIndex {
		if d, ok := f.(fs.ReadDirFile); ok {
			return visibleDir{d}, nil
		}
		return f, nil
	}
	if _, err := fs.Stat(s.fsys, path.Join(name, "index.html")); err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

// hidden reports whether a segment of name starts with ".".
func hidden(name string) bool {
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") && seg != "." {
			return true
		}
	}
	return false
}

// visibleDir is a directory listed without its dot files.
type visibleDir struct{ fs.ReadDirFile }

func (d visibleDir) ReadDir(n int) ([]fs.DirEntry, error) {
	for {
		entries, err := d.ReadDirFile.ReadDir(n)
		visible := slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), ".") })
		// With n > 0, an empty batch and no error would read as the end.
		if len(visible) > 0 || n <= 0 || err != nil {
			return visible, err
		}
	}
}

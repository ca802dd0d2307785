package admin

import (
	"embed"
	"html"
	"io/fs"
	"net/http"
	"strings"
)

// ui holds the admin's pages and assets, built into the binary: the
// admin needs no files and no Node at run time.
//
//go:embed ui
var ui embed.FS

// assets serves ui/assets under /admin/assets/.
func assets() http.Handler {
	sub, err := fs.Sub(ui, "ui/assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.StripPrefix("/admin/assets/", http.FileServerFS(sub))
}

// servePage answers with the page ui/name, the message (if any) shown
// where the page has its <!--message--> mark.
func servePage(w http.ResponseWriter, status int, name, message string) {
	b, err := ui.ReadFile("ui/" + name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	page := string(b)
	if message != "" {
		page = strings.Replace(page, "<!--message-->", `<p class="error" role="alert">`+html.EscapeString(message)+`</p>`, 1)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(page))
}

// Command hello is the first snippet of the seed written with Junction:
// a form handler answering JSON, a page rendered from a template, static
// files with a directory listing, and, on the embedded WAMP router, a
// procedure and a topic that browsers and other WAMP clients can reach
// at ws://HOST:PORT/ws. Templates and static files are embedded in the
// binary.
//
//	go run ./examples/hello run --listen 127.0.0.1:8080
package main

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"

	"github.com/junction-run/junction"
)

//go:embed templates public
var files embed.FS

func main() {
	app := junction.New("hello", junction.TemplatesFS(sub("templates")))
	app.HTTP.Post("/form", junction.Handle(postForm))
	app.HTTP.Get("/user/:id/", junction.Handle(showUser))
	app.HTTP.ServeFS("/static/", sub("public"), junction.AllowIndex())
	app.Register("greet", greet) // relative: "hello.greet"
	app.Run()
}

// postForm answers {"data": ...} with the "data" field of a form or of a
// JSON body.
func postForm(w http.ResponseWriter, r *http.Request) error {
	data, err := formData(r)
	if err != nil {
		return err
	}
	return junction.JSON(w, http.StatusOK, junction.M{"data": data})
}

// showUser renders templates/user.html and tells the WAMP subscribers
// of hello.user.viewed.
func showUser(w http.ResponseWriter, r *http.Request) error {
	id := junction.Param(r, "id")
	app := junction.AppFrom(r.Context())
	// ".user.viewed" is relative (a leading dot): "hello.user.viewed".
	if err := app.Publish(r.Context(), ".user.viewed", id); err != nil {
		// The page does not depend on it: log, and render anyway.
		app.Logger().Warn("publish hello.user.viewed", "err", err)
	}
	return junction.Render(w, r, "user.html", junction.M{"id": id})
}

// greet is the WAMP procedure hello.greet. Junction decodes its argument
// from the call's and answers wamp.error.invalid_argument to a call that
// does not send one string.
func greet(name string) string {
	return "Hello, " + name + "!"
}

// formData returns the "data" field of the request: a form field
// (application/x-www-form-urlencoded or multipart/form-data) or, for any
// other request, the string "data" of a JSON body, {"data": "..."}. A
// missing or empty field, malformed JSON or a non-string value is a 400
// with a message that says so.
func formData(r *http.Request) (string, error) {
	var data string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		data = junction.Form(r, "data")
	} else {
		var body struct {
			Data string `json:"data"`
		}
		if err := junction.Decode(r, &body); err != nil {
			return "", err
		}
		data = body.Data
	}
	if data == "" {
		return "", junction.NewHTTPError(http.StatusBadRequest, `missing "data": send it as a form field or in a JSON body, {"data": "..."}`)
	}
	return data, nil
}

// sub returns the directory dir of the embedded files.
func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // only for a malformed name
	}
	return f
}

package junction_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"github.com/junction-run/junction"
)

func ExampleHTTP_Get() {
	app := junction.New("shop")
	app.HTTP.Get("/user/:id/", func(w http.ResponseWriter, r *http.Request) {
		junction.Text(w, http.StatusOK, "user %s", junction.Param(r, "id"))
	})

	// The app is an http.Handler: here without Run, as in tests.
	for _, path := range []string{"/user/5/", "/user/5/x"} {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(w.Code, w.Body)
	}
	// Output:
	// 200 user 5
	// 404 404 page not found
}

func ExampleHandle() {
	type order struct {
		Item string `json:"item"`
		Qty  int    `json:"qty"`
	}
	app := junction.New("shop")
	app.HTTP.Post("/api/orders", junction.Handle(func(w http.ResponseWriter, r *http.Request) error {
		var o order
		if err := junction.Decode(r, &o); err != nil {
			return err // 400, 413 or 415 with a precise message
		}
		if o.Qty <= 0 {
			return junction.HTTPErrorf(http.StatusUnprocessableEntity, "qty must be positive, not %d", o.Qty)
		}
		return junction.JSON(w, http.StatusCreated, junction.M{"item": o.Item, "qty": o.Qty})
	}))

	for _, body := range []string{`{"item": "tea", "qty": 2}`, `{"item": "tea", "qty": "two"}`, `{"item": "tea"}`} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/api/orders", strings.NewReader(body))
		r.Header.Set("X-Request-ID", "req-1")
		app.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body)
	}
	// Output:
	// 201 {"item":"tea","qty":2}
	// 400 {"error":"invalid JSON: field \"qty\": expected int, got string","status":400,"request_id":"req-1"}
	// 422 {"error":"qty must be positive, not 0","status":422,"request_id":"req-1"}
}

func ExampleRender() {
	templates := fstest.MapFS{ // or an embed.FS
		"layout.html": {Data: []byte(`<h1>{{.title}}</h1>{{block "body" .}}{{end}}`)},
		"user.html":   {Data: []byte(`{{template "layout.html" .}}<p>{{.name}}</p>`)},
	}
	app := junction.New("shop", junction.TemplatesFS(templates))
	app.HTTP.Get("/user/:id", func(w http.ResponseWriter, r *http.Request) {
		junction.Render(w, r, "user.html", junction.M{"title": "User " + junction.Param(r, "id"), "name": "<Ann>"})
	})

	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest("GET", "/user/5", nil))
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Println(w.Body)
	// Output:
	// 200 text/html; charset=utf-8
	// <h1>User 5</h1><p>&lt;Ann&gt;</p>
}

func ExampleHTTP_ServeFS() {
	public := fstest.MapFS{ // or an embed.FS, or HTTP.Serve with a directory
		"index.html":  {Data: []byte("home")},
		"css/app.css": {Data: []byte("body{}")},
		".env":        {Data: []byte("SECRET=1")},
	}
	app := junction.New("shop")
	app.HTTP.ServeFS("/static/", public)

	for _, path := range []string{"/static/", "/static/css/app.css", "/static/css/", "/static/.env"} {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Content-Type"))
	}
	// Output:
	// /static/ 200 text/html; charset=utf-8
	// /static/css/app.css 200 text/css; charset=utf-8
	// /static/css/ 404 text/plain; charset=utf-8
	// /static/.env 404 text/plain; charset=utf-8
}

func ExampleCORS() {
	app := junction.New("shop")
	app.HTTP.Use(junction.CORS("https://shop.example"))
	app.HTTP.Post("/api/cart", func(w http.ResponseWriter, r *http.Request) {})

	r := httptest.NewRequest("OPTIONS", "/api/cart", nil)
	r.Header.Set("Origin", "https://shop.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w := httptest.NewRecorder()
	app.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Access-Control-Allow-Origin"), w.Header().Get("Access-Control-Allow-Methods"))
	// Output:
	// 204 https://shop.example POST
}

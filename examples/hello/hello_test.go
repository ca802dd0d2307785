package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/examples/internal/proctest"
	"github.com/junction-run/junction/wamp"
)

// TestHello builds the example, runs it as its users do, checks each of
// its routes over real HTTP and its procedure and topic over WAMP, and
// stops it with SIGTERM.
func TestHello(t *testing.T) {
	dir := t.TempDir()
	proctest.Build(t, dir, ".")
	p := proctest.Start(t, filepath.Join(dir, "hello"), "run", "--listen", "127.0.0.1:0")
	base := p.URL(t) // http://127.0.0.1:PORT/

	t.Run("form", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", base+"form", "application/x-www-form-urlencoded", "data=pouet")
		proctest.Expect(t, res, body, 200, "application/json", `{"data":"pouet"}`+"\n")
	})
	t.Run("json", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", base+"form", "application/json", `{"data": "pouet"}`)
		proctest.Expect(t, res, body, 200, "application/json", `{"data":"pouet"}`+"\n")
	})
	t.Run("malformed JSON", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", base+"form", "application/json", "{\n  \"data\": pouet\n}")
		proctest.Expect(t, res, body, 400, "application/json", "")
		want := `"error":"invalid JSON at line 2, column 11: invalid character 'p' looking for beginning of value"`
		if !strings.Contains(body, want) {
			t.Errorf("body %s\nwant it to contain %s", body, want)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", base+"form", "application/json", `{"data": 42}`)
		proctest.Expect(t, res, body, 400, "application/json", "")
		if want := `invalid JSON: field \"data\": expected string, got number`; !strings.Contains(body, want) {
			t.Errorf("body %s\nwant it to contain %s", body, want)
		}
	})
	t.Run("missing data", func(t *testing.T) {
		res, body := proctest.Do(t, "POST", base+"form", "application/x-www-form-urlencoded", "other=1")
		proctest.Expect(t, res, body, 400, "text/plain", `missing "data": send it as a form field or in a JSON body, {"data": "..."}`+"\n")
	})
	t.Run("user page", func(t *testing.T) {
		res, body := proctest.Do(t, "GET", base+"user/42/", "", "")
		proctest.Expect(t, res, body, 200, "text/html", "")
		if !strings.Contains(body, "<h1>User 42</h1>") {
			t.Errorf("page does not show the id:\n%s", body)
		}
	})
	t.Run("user page escapes the id", func(t *testing.T) {
		res, body := proctest.Do(t, "GET", base+"user/%3Cscript%3Ex%3C%2Fscript%3E/", "", "")
		proctest.Expect(t, res, body, 200, "text/html", "")
		if !strings.Contains(body, "<h1>User &lt;script&gt;x&lt;/script&gt;</h1>") || strings.Contains(body, "<script>x") {
			t.Errorf("page does not show the id escaped:\n%s", body)
		}
	})
	t.Run("static file", func(t *testing.T) {
		res, body := proctest.Do(t, "GET", base+"static/hello.txt", "", "")
		proctest.Expect(t, res, body, 200, "text/plain", "Hello from an embedded static file.\n")
	})
	t.Run("static index", func(t *testing.T) {
		res, body := proctest.Do(t, "GET", base+"static/", "", "")
		proctest.Expect(t, res, body, 200, "text/html", "")
		for _, f := range []string{`href="hello.txt"`, `href="style.css"`} {
			if !strings.Contains(body, f) {
				t.Errorf("listing of /static/ lacks %s:\n%s", f, body)
			}
		}
	})

	t.Run("wamp", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws := "ws" + strings.TrimPrefix(base, "http") + "ws"
		sess, err := client.Dial(ctx, ws, client.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("dial %s: %v", ws, err)
		}
		defer sess.Close(ctx)

		res, err := sess.Call(ctx, "hello.greet", wamp.List{"Sam"}, nil, nil)
		if err != nil {
			t.Fatalf("call hello.greet: %v", err)
		}
		if got := res.Arg(0); got != "Hello, Sam!" {
			t.Errorf("hello.greet(Sam) = %v, want Hello, Sam!", got)
		}
		_, err = sess.Call(ctx, "hello.greet", wamp.List{7}, nil, nil)
		if !errors.Is(err, wamp.ErrInvalidArgument) {
			t.Errorf("hello.greet(7): err %v, want wamp.error.invalid_argument", err)
		}

		viewed := make(chan any, 1)
		_, err = sess.Subscribe(ctx, "hello.user.viewed", func(_ context.Context, e *client.Event) {
			select {
			case viewed <- e.Arg(0):
			default:
			}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		proctest.Do(t, "GET", base+"user/7/", "", "")
		select {
		case id := <-viewed:
			if id != "7" {
				t.Errorf("hello.user.viewed carried %v, want 7", id)
			}
		case <-ctx.Done():
			t.Fatal("no hello.user.viewed event after GET /user/7/")
		}
	})

	p.Terminate(t)
}

package junction

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type blogSettings struct {
	PerPage int    `help:"posts per page"`
	Title   string `help:"the blog's title"`
}

// newBlog is a small app of its own: routes, a relative registration, a
// setting, hooks.
func newBlog(events *[]string, mu *sync.Mutex) (*Application, *blogSettings) {
	blog := New("blog")
	cfg := &blogSettings{PerPage: 10, Title: "Notes"}
	blog.AddSettings(cfg)
	record := func(s string) Hook {
		return func(ctx context.Context, _ ...any) error {
			mu.Lock()
			defer mu.Unlock()
			*events = append(*events, fmt.Sprintf("%s(%s)", s, AppFrom(ctx).Name()))
			return nil
		}
	}
	blog.On(Starting, record("blog starting"))
	blog.On(Ready, record("blog ready"))
	blog.On(Stopping, record("blog stopping"))
	blog.HTTP.Get("/posts", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s: %d per page, from app %s", cfg.Title, cfg.PerPage, AppFrom(r.Context()).Name())
	})
	// Relative: blog.count, whatever app runs it.
	blog.Register("count", func(ctx context.Context) (string, error) {
		res, err := AppFrom(ctx).Call(ctx, "per_page")
		if err != nil {
			return "", err
		}
		n, err := Arg[int](&res.Values, 0)
		return fmt.Sprintf("%d via %s", n, AppFrom(ctx).Name()), err
	})
	blog.Register("per_page", func() int { return cfg.PerPage })
	return blog, cfg
}

func TestEmbedRunsAnotherAppInside(t *testing.T) {
	var mu sync.Mutex
	var events []string
	blog, _ := newBlog(&events, &mu)
	app, _ := newTestApp(t, "site")
	record := func(s string) Hook {
		return func(ctx context.Context, _ ...any) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, fmt.Sprintf("%s(%s)", s, AppFrom(ctx).Name()))
			return nil
		}
	}
	app.On(Starting, record("site starting"))
	app.On(Ready, record("site ready"))
	app.On(Stopping, record("site stopping"))
	app.Embed(blog, Mount("/journal"), Override(func(s *blogSettings) { s.PerPage = 25 }))
	startApp(t, app)

	resp, err := http.Get("http://" + app.Addr().String() + "/journal/posts")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "Notes: 25 per page, from app blog" {
		t.Fatalf("GET /journal/posts: %d %q", resp.StatusCode, body)
	}
	s := dial(t, wsURL(app))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Call(ctx, "blog.count", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Arg[string](&res.Values, 0); got != "25 via blog" {
		t.Errorf("blog.count = %q", got)
	}
	if blog.Session() != app.Session() || blog.Session() == nil {
		t.Error("the embedded app does not share the app's session")
	}
	if err := app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "blog starting(blog), site starting(site), blog ready(blog), site ready(site), site stopping(site), blog stopping(blog)"
	if got := strings.Join(events, ", "); got != want {
		t.Errorf("hooks ran in the order\n%s\nwant\n%s", got, want)
	}
}

func TestEmbeddedSettingsOnTheCommandLine(t *testing.T) {
	var mu sync.Mutex
	var events []string
	blog, cfg := newBlog(&events, &mu)
	app := New("site")
	app.Embed(blog, Override(func(s *blogSettings) { s.PerPage = 25 }))
	res := runCLI(t, app, map[string]string{"SITE_BLOG_TITLE": "Journal"}, "--help")
	for _, want := range []string{"Settings of blog (embedded):", "--blog-per-page", "default 25", "SITE_BLOG_TITLE"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, res.stdout)
		}
	}
	file := writeFile(t, "site.yaml", "blog-per-page: 40\n")
	res = runCLI(t, app, map[string]string{"SITE_BLOG_TITLE": "Journal"}, "--config", file)
	if res.code != 0 || !res.ran {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if cfg.PerPage != 40 || cfg.Title != "Journal" {
		t.Errorf("settings %+v, want 40 from the file and Journal from the environment", cfg)
	}
	res = runCLI(t, app, nil, "--blog-per-page", "7")
	if res.code != 0 || cfg.PerPage != 7 {
		t.Errorf("--blog-per-page 7: exit %d, %+v: %s", res.code, cfg, res.stderr)
	}
}

func TestEmbedMistakes(t *testing.T) {
	for _, c := range []struct {
		name  string
		embed func(app *Application)
		want  string
	}{
		{"itself", func(app *Application) { app.Embed(app) }, "itself"},
		{"twice", func(app *Application) {
			b := New("b")
			app.Embed(b)
			New("c").Embed(b)
			app.Embed(b)
		}, "already embedded"},
		{"override of settings it lacks", func(app *Application) {
			app.Embed(New("b"), Override(func(*blogSettings) {}))
		}, "declares no settings"},
		{"bad mount", func(app *Application) { app.Embed(New("b"), Mount("blog")) }, `Mount("blog")`},
		{"clashing processes", func(app *Application) {
			app.Process("auth")
			b := New("b")
			b.Process("auth")
			app.Embed(b)
		}, "already has a process called auth"},
	} {
		t.Run(c.name, func(t *testing.T) {
			app, _ := newTestApp(t, "a")
			c.embed(app)
			err := app.Start(context.Background())
			if err == nil {
				app.Shutdown(context.Background())
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
	b := New("b")
	New("a").Embed(b)
	if err := b.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "embedded") {
		t.Errorf("Start of an embedded app: %v", err)
	}
}

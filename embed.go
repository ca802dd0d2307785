package junction

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// Composition: an app runs other apps inside it (Embed). The embeddedApp
// app keeps its name, its URI prefix and its code; what it declares
// (HTTP routes, components, queues, cron jobs, processes, services,
// settings, hooks) becomes part of the app that embeds it, which runs
// everything with one router, one HTTP server and one command line.

// embeddedApp is an app embeddedApp in another.
type embeddedApp struct {
	app   *Application
	mount string
}

// EmbedOption is an option of Application.Embed.
type EmbedOption interface {
	applyEmbed(e *embeddedApp) error
}

type embedOpt func(*embeddedApp) error

func (o embedOpt) applyEmbed(e *embeddedApp) error { return o(e) }

// Mount serves the embedded app's HTTP routes under prefix ("/blog":
// its "GET /posts" answers /blog/posts). Default "/" + its name.
func Mount(prefix string) EmbedOption {
	return embedOpt(func(e *embeddedApp) error {
		if !strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, "{} ") || prefix == "/" {
			return fmt.Errorf("Mount(%q): want a path below / such as /blog, without parameters", prefix)
		}
		e.mount = strings.TrimSuffix(prefix, "/")
		return nil
	})
}

// Override changes, from the embedding app's code, the defaults of
// settings the embedded app declared with AddSettings: f gets the
// embedded app's *T, whose fields it may set. The command line,
// environment and settings file still override them.
//
//	app.Embed(blog.New(), junction.Override(func(s *blog.Config) { s.PerPage = 20 }))
func Override[T any](f func(*T)) EmbedOption {
	return embedOpt(func(e *embeddedApp) error {
		if f == nil {
			return errors.New("Override: nil function")
		}
		e.app.mu.Lock()
		structs := slices.Clone(e.app.cli.structs)
		e.app.mu.Unlock()
		for _, st := range structs {
			if p, ok := st.(*T); ok {
				f(p)
				return nil
			}
		}
		return fmt.Errorf("Override(func(*%s)): app %s declares no settings of that type with AddSettings (declare them before Embed)",
			reflect.TypeFor[T](), e.app.name)
	})
}

// Embed runs other inside app: its HTTP routes mounted under a prefix
// (Mount), its components, queues, cron jobs, processes and services
// declared in app, its URIs keeping its own prefix, its AddSettings
// settings on app's command line prefixed with its name (--blog-per-page,
// MYAPP_BLOG_PER_PAGE, key blog-per-page in the settings file, listed
// under "Settings of blog" by --help), its lifecycle hooks run by app's
// lifecycle: Starting and Ready hooks of embedded apps first, in Embed
// order, then app's; Stopping and Stopped hooks of app first, then the
// embedded apps'. From then on other is run by app: its Publish, Call,
// Session, Logger and Settings are app's, and AppFrom in its handlers
// gives other, so that its relative URIs stay its own.
//
// Embed other before Run, after its declarations and AddSettings; other
// must not be run on its own.
func (app *Application) Embed(other *Application, opts ...EmbedOption) {
	err := func() error {
		if other == nil {
			return errors.New("nil app")
		}
		for a := app; a != nil; a = a.host {
			if a == other {
				return errors.New("an app cannot embed itself")
			}
		}
		other.mu.Lock()
		defer other.mu.Unlock()
		if other.host != nil {
			return fmt.Errorf("app %s is already embedded in app %s", other.name, other.host.name)
		}
		if other.state != stateNew {
			return fmt.Errorf("app %s was started on its own", other.name)
		}
		return nil
	}()
	if err != nil {
		app.setupError(fmt.Errorf("junction: Embed: %w", err))
		return
	}
	e := &embeddedApp{app: other, mount: "/" + other.name}
	for _, o := range opts {
		if o == nil {
			app.setupError(fmt.Errorf("junction: Embed(%s): nil option", other.name))
			continue
		}
		if err := o.applyEmbed(e); err != nil {
			app.setupError(fmt.Errorf("junction: Embed(%s): %w", other.name, err))
		}
	}
	other.mu.Lock()
	other.host = app
	// Its handlers' errors, panics and slow runs count in app's metrics.
	other.metrics = app.metrics
	other.mu.Unlock()
	app.mu.Lock()
	for _, o := range app.embeds {
		if o.app.name == other.name {
			app.setupErrs = append(app.setupErrs, fmt.Errorf("junction: Embed: two embedded apps are called %s", other.name))
		}
		if o.mount == e.mount {
			app.setupErrs = append(app.setupErrs, fmt.Errorf("junction: Embed(%s): %s is already the mount of %s", other.name, e.mount, o.app.name))
		}
	}
	app.embeds = append(app.embeds, e)
	app.mu.Unlock()
	app.HTTP.Handle(e.mount+"/", http.StripPrefix(e.mount, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.HTTP.ServeHTTP(w, r.WithContext(withApp(r.Context(), other)))
	})))
}

// root returns the app that runs app: itself, or the app it is
// embeddedApp in (and so on).
func (app *Application) root() *Application {
	for app.host != nil {
		app = app.host
	}
	return app
}

// adopt moves the declarations of the embedded apps (and theirs, in
// turn) into app, before it starts: app runs them.
func (app *Application) adopt() {
	app.mu.Lock()
	embeds := slices.Clone(app.embeds)
	app.mu.Unlock()
	for _, e := range embeds {
		o := e.app
		o.adopt()
		o.mu.Lock()
		comps, queues, jobs := o.components, o.queues, o.jobs
		procs, sels, svcs, errs := o.procs, o.selectors, o.services, o.setupErrs
		openEmbedded := o.openEmbedded
		o.components, o.queues, o.jobs, o.procs, o.selectors, o.services, o.setupErrs = nil, nil, nil, nil, nil, nil, nil
		o.mu.Unlock()
		app.mu.Lock()
		app.components = append(app.components, comps...)
		app.queues = append(app.queues, queues...)
		app.jobs = append(app.jobs, jobs...)
		clash := func(kind, name string, taken bool) {
			if taken {
				errs = append(errs, fmt.Errorf("junction: Embed(%s): app %s already has a %s called %s", o.name, app.name, kind, name))
			}
		}
		for _, p := range procs {
			clash("process", p.name, slices.ContainsFunc(app.procs, func(q *Process) bool { return q.name == p.name }))
			p.app = app
		}
		for _, s := range svcs {
			clash("service", s.name, slices.ContainsFunc(app.services, func(t *Service) bool { return t.name == s.name }))
			s.app = app
		}
		app.procs = append(app.procs, procs...)
		app.selectors = append(app.selectors, sels...)
		app.services = append(app.services, svcs...)
		app.setupErrs = append(app.setupErrs, errs...)
		if openEmbedded != nil {
			app.openEmbedded = openEmbedded
		}
		app.mu.Unlock()
	}
}

// embeddedHooks returns the hooks of event in the embedded apps, theirs
// first, in Embed order.
func (app *Application) embeddedHooks(event string) []appHook {
	app.mu.Lock()
	embeds := slices.Clone(app.embeds)
	app.mu.Unlock()
	var out []appHook
	for _, e := range embeds {
		out = append(out, e.app.embeddedHooks(event)...)
		for _, h := range e.app.hooks.get(event) {
			out = append(out, appHook{e.app, h})
		}
	}
	return out
}

// appHook is a hook and the app that added it, whose context it gets.
type appHook struct {
	app *Application
	h   Hook
}

// allEmbedded returns the apps embeddedApp in app, and in them, depth
// first.
func (app *Application) allEmbedded() []*embeddedApp {
	app.mu.Lock()
	embeds := slices.Clone(app.embeds)
	app.mu.Unlock()
	var out []*embeddedApp
	for _, e := range embeds {
		out = append(out, e)
		out = append(out, e.app.allEmbedded()...)
	}
	return out
}

// embeddedSettings returns e's AddSettings settings as app's command
// line has them: the flag and file key prefixed with e's name, the
// environment variable app's (unless the field's env tag named one).
func (app *Application) embeddedSettings(e *embeddedApp) []*setting {
	o := e.app
	o.mu.Lock()
	user := slices.Clone(o.cli.user)
	o.mu.Unlock()
	out := make([]*setting, 0, len(user))
	for _, s := range user {
		c := *s
		c.name = o.name + "-" + s.name
		if s.env == o.envVar(s.name) {
			c.env = app.envVar(c.name)
		}
		c.owner = o.name
		if c.field != "" {
			c.field = o.name + "." + c.field
		}
		out = append(out, &c)
	}
	return out
}

package junction

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// The built-in lifecycle events, in the order an app goes through them.
// Their hooks get no arguments except ConnectionLost, which gets the
// error that ended the connection.
const (
	// Starting: settings are resolved and the logger is ready; nothing
	// listens yet. A hook's error stops the app from starting.
	Starting = "app.starting"
	// Ready: the router is up (or joined), the components are
	// registered and subscribed, HTTP is listening. Hooks may publish and
	// call.
	Ready = "app.ready"
	// ConnectionLost: the connection to a remote router (--connect) is
	// lost; the app reconnects on its own.
	ConnectionLost = "app.connection_lost"
	// ConnectionRestored: the app joined the remote router again and its
	// subscriptions and registrations are back.
	ConnectionRestored = "app.connection_restored"
	// Stopping: shutdown began and HTTP no longer accepts connections;
	// in-flight requests and calls are still running, and the app's
	// session is up: hooks may publish a farewell.
	Stopping = "app.stopping"
	// Stopped: everything is closed.
	Stopped = "app.stopped"
)

// Hook handles a lifecycle event. ctx carries the app (AppFrom); for
// Ready and the connection events it ends when the app stops, for
// Stopping and Stopped with the shutdown deadline.
type Hook func(ctx context.Context, args ...any) error

// hooks holds the lifecycle handlers registered with On.
type hooks struct {
	mu sync.Mutex
	m  map[string][]Hook
}

// On adds h to the hooks of event: one of the built-in events (Ready...)
// or any name of the app's own, fired with Emit. Hooks of an event run
// one after the other, in the order they were added.
func (app *Application) On(event string, h Hook) {
	if h == nil {
		app.setupError(fmt.Errorf("junction: On(%q) with a nil hook", event))
		return
	}
	app.hooks.add(event, h)
}

func (hs *hooks) add(event string, h Hook) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.m == nil {
		hs.m = make(map[string][]Hook)
	}
	hs.m[event] = append(hs.m[event], h)
}

func (hs *hooks) get(event string) []Hook {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.m[event]
}

// Emit runs the hooks of event with args, in order, and returns their
// errors joined. Every hook runs even if an earlier one failed; each
// error and panic is logged with the event's name and counted. Lifecycle
// events are local to the app; Publish is the network-wide counterpart.
func (app *Application) Emit(ctx context.Context, event string, args ...any) error {
	var hs []appHook
	for _, h := range app.processHooks().get(event) {
		hs = append(hs, appHook{app, h})
	}
	if app.child == nil && app.host == nil {
		switch event {
		case Starting, Ready, ConnectionLost, ConnectionRestored:
			hs = append(app.embeddedHooks(event), hs...)
		case Stopping, Stopped:
			hs = append(hs, app.embeddedHooks(event)...)
		}
	}
	if AppFrom(ctx) == nil {
		ctx = withApp(ctx, app)
	}
	var errs []error
	for i, h := range hs {
		name := fmt.Sprintf("hook %d of %s", i+1, event)
		hctx := ctx
		if h.app != app {
			hctx = withApp(ctx, h.app)
		}
		if err := app.runHook(hctx, name, h.h, args); err != nil {
			app.Logger().Error("junction: lifecycle hook failed", "event", event, "hook", i+1, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runHook runs one hook, turning a panic into an error.
func (app *Application) runHook(ctx context.Context, name string, h Hook, args []any) (err error) {
	defer app.watch("hook", name)()
	defer func() {
		if r := recover(); r != nil {
			err = app.recovered("hook", name, r)
		}
	}()
	err = h(ctx, args...)
	if err != nil {
		app.metrics.errors.WithLabelValues("hook").Inc()
	}
	return err
}

// connectionEvents delivers ConnectionLost and ConnectionRestored in
// order, off the session's supervisor goroutine (which must not block).
type connectionEvents struct {
	mu      sync.Mutex
	pending []connectionEvent
	running bool
}

type connectionEvent struct {
	name string
	args []any
}

// emitAsync queues a connection event; one goroutine at a time drains the
// queue, so hooks see the events in the order they happened.
func (app *Application) emitAsync(ctx context.Context, name string, args ...any) {
	q := &app.connEvents
	q.mu.Lock()
	q.pending = append(q.pending, connectionEvent{name, args})
	if q.running {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.mu.Unlock()
	app.background.Go(func() {
		for {
			q.mu.Lock()
			if len(q.pending) == 0 {
				q.running = false
				q.mu.Unlock()
				return
			}
			e := q.pending[0]
			q.pending = q.pending[1:]
			q.mu.Unlock()
			app.Emit(ctx, e.name, e.args...)
		}
	})
}

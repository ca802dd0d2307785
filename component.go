package junction

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// component is a subscription or registration of the app. Declared
// before Start, it is put in place when the app joins its router, and,
// with --connect, restored by the session after each reconnection.
type component struct {
	app  *Application
	kind string // "event" or "call"
	uri  wamp.URI

	subOpts client.SubscribeOptions
	regOpts client.RegisterOptions
	event   client.EventHandler
	invoke  client.InvocationHandler

	// proc is the process group that runs it, "" for the main process;
	// declaredIn is the group it was declared on (Process.Register), ""
	// for the app: a selector may move only the app's declarations.
	proc, declaredIn string
	// internal: registered by Junction itself (junction.queue.*...), not
	// for selectors.
	internal bool

	// limit is LimitCalls' n, 0 for none; calls counts the runs so far.
	limit int64
	calls atomic.Int64

	mu      sync.Mutex
	sub     *client.Subscription
	reg     *client.Registration
	removed bool // the limit was reached
}

// componentOption is an Option of Subscribe and Register.
type componentOption interface {
	Option
	applyComponent(*component) error
}

type componentOpt struct {
	name  string
	apply func(*component) error
}

func (o componentOpt) optionName() string                { return o.name }
func (o componentOpt) applyComponent(c *component) error { return o.apply(c) }

// LimitCalls makes a handler run at most n times: after its n-th event or
// invocation it unsubscribes or unregisters itself. Option of Subscribe
// and Register.
func LimitCalls(n int) Option {
	return componentOpt{"LimitCalls", func(c *component) error {
		if n <= 0 {
			return fmt.Errorf("LimitCalls(%d): want a positive count", n)
		}
		c.limit = int64(n)
		return nil
	}}
}

// Match sets the match policy: exact (the default), prefix or wildcard
// (empty components match anything: "shop..created"). Option of
// Subscribe and Register.
func Match(policy wamp.MatchPolicy) Option {
	return componentOpt{"Match", func(c *component) error {
		switch policy {
		case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
		default:
			return fmt.Errorf("Match(%q): want exact, prefix or wildcard", policy)
		}
		c.subOpts.Match, c.regOpts.Match = policy, policy
		return nil
	}}
}

// Invoke sets the invocation policy of a shared registration: single
// (the default: the procedure cannot be registered twice), roundrobin,
// random, first or last. Every registration of the procedure must use the
// same policy. Option of Register.
func Invoke(policy string) Option {
	return componentOpt{"Invoke", func(c *component) error {
		if c.kind != "call" {
			return errors.New("Invoke applies to Register only")
		}
		switch policy {
		case "single", "roundrobin", "random", "first", "last":
		default:
			return fmt.Errorf("Invoke(%q): want single, roundrobin, random, first or last", policy)
		}
		c.regOpts.Invoke = policy
		return nil
	}}
}

// DiscloseCaller asks the router to tell the handler who calls, whether
// or not the caller asked to be disclosed (see InvocationFrom). Option of
// Register.
func DiscloseCaller() Option {
	return componentOpt{"DiscloseCaller", func(c *component) error {
		if c.kind != "call" {
			return errors.New("DiscloseCaller applies to Register only")
		}
		c.regOpts.DiscloseCaller = true
		return nil
	}}
}

// GetRetained asks the broker for the topic's retained event, delivered
// first. Option of Subscribe.
func GetRetained() Option {
	return componentOpt{"GetRetained", func(c *component) error {
		if c.kind != "event" {
			return errors.New("GetRetained applies to Subscribe only")
		}
		c.subOpts.GetRetained = true
		return nil
	}}
}

// Subscribe subscribes handler to topic (a relative or absolute name, see
// URI). The handler is a func(context.Context, *client.Event) or a typed
// function of the event's arguments (see Register for the forms), whose
// error, if it returns one, is logged and counted. Each event runs in
// order on the session's event goroutine: hand long work to a goroutine
// or a queue.
//
// Before the app runs, Subscribe records the subscription, Start makes
// it, and an error (bad handler, bad option) is returned here and by
// Start. While the app runs, it subscribes at once.
func (app *Application) Subscribe(topic string, handler any, opts ...Option) error {
	c := &component{app: app, kind: "event", uri: app.URI(topic)}
	if err := c.configure(handler, opts); err != nil {
		return app.refuse(c, err)
	}
	return app.add(c)
}

// Register registers handler as procedure (a relative or absolute name,
// see URI). The handler is either a func(context.Context,
// *client.Invocation) (*client.Result, error), for full control, or a
// typed function such as
//
//	func(ctx context.Context, a, b int) (int, error)
//	func(name string, opts Options) error
//	func(ctx context.Context, ids ...int64) []User
//
// whose optional leading context.Context is the invocation's, whose other
// parameters are the call's positional arguments (decoded to the
// parameter's type; structs, maps and slices through their JSON form),
// and whose results are an optional value, sent as the single result
// argument, then an optional error. Arguments that do not fit get
// wamp.error.invalid_argument, naming the argument. A returned *wamp.Error
// (see Error) reaches the caller as it is, any other error as
// wamp.error.runtime_error with its message; a panic is recovered,
// logged with its stack, counted, and returned as runtime_error.
//
// Before the app runs, Register records the registration and Start
// makes it; while the app runs, it registers at once.
func (app *Application) Register(procedure string, handler any, opts ...Option) error {
	c := &component{app: app, kind: "call", uri: app.URI(procedure)}
	if err := c.configure(handler, opts); err != nil {
		return app.refuse(c, err)
	}
	return app.add(c)
}

// registerInternal registers one of Junction's own procedures
// (junction.queue.*, junction.cron.list, junction.process.*): it runs in
// the main process, and no selector moves it.
func (app *Application) registerInternal(procedure string, h client.InvocationHandler, opts ...Option) {
	c := &component{app: app, kind: "call", uri: wamp.URI(procedure), internal: true}
	if err := c.configure(h, opts); err != nil {
		app.refuse(c, err)
		return
	}
	if err := app.add(c); err != nil {
		app.setupError(err)
	}
}

// refuse reports a bad declaration: returned to the caller, and kept for
// Start (or logged, once the app runs) by setupError.
func (app *Application) refuse(c *component, err error) error {
	verb := map[string]string{"event": "Subscribe", "call": "Register"}[c.kind]
	err = fmt.Errorf("junction: %s(%q): %w", verb, c.uri, err)
	app.setupError(err)
	return err
}

// configure applies opts and adapts handler.
func (c *component) configure(handler any, opts []Option) error {
	for _, o := range opts {
		co, ok := o.(componentOption)
		if !ok {
			return fmt.Errorf("option %s does not apply here", o.optionName())
		}
		if err := co.applyComponent(c); err != nil {
			return err
		}
	}
	if !c.uri.ValidPattern(false, c.subOpts.Match) {
		return fmt.Errorf("%w: %q is not a valid URI for match policy %s", wamp.ErrInvalidURI, c.uri, cmp.Or(c.subOpts.Match, wamp.MatchExact))
	}
	name := string(c.uri)
	var err error
	if c.kind == "event" {
		var h client.EventHandler
		if h, err = eventHandler(name, handler); err == nil {
			c.event = c.wrapEvent(h)
		}
	} else {
		var h client.InvocationHandler
		if h, err = invocationHandler(name, handler); err == nil {
			c.invoke = c.wrapInvocation(h)
		}
	}
	return err
}

// add records c and, while the app runs, puts it in place.
func (app *Application) add(c *component) error {
	app.mu.Lock()
	app.components = append(app.components, c)
	sess := app.sess
	running := app.state == stateRunning
	app.mu.Unlock()
	if !running || sess == nil || !app.runsHere(c.proc) {
		return nil
	}
	return c.start(context.Background(), sess)
}

// start subscribes or registers c on sess.
func (c *component) start(ctx context.Context, sess *client.Session) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil
	}
	var err error
	if c.kind == "event" {
		c.sub, err = sess.Subscribe(ctx, c.uri, c.event, &c.subOpts)
	} else {
		c.reg, err = sess.Register(ctx, c.uri, c.invoke, &c.regOpts)
	}
	if err != nil {
		verb := map[string]string{"event": "subscribe to", "call": "register"}[c.kind]
		return fmt.Errorf("junction: %s %s: %w", verb, c.uri, err)
	}
	return nil
}

// take counts one run against LimitCalls: it reports whether this run may
// go ahead, and removes c after the last one.
func (c *component) take() bool {
	if c.limit == 0 {
		return true
	}
	n := c.calls.Add(1)
	if n > c.limit {
		return false
	}
	if n == c.limit {
		c.app.background.Go(c.remove)
	}
	return true
}

// remove unsubscribes or unregisters c for good.
func (c *component) remove() {
	c.mu.Lock()
	c.removed = true
	sub, reg := c.sub, c.reg
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
	defer cancel()
	var err error
	switch {
	case sub != nil:
		err = sub.Unsubscribe(ctx)
	case reg != nil:
		err = reg.Unregister(ctx)
	}
	if err != nil && !errors.Is(err, client.ErrSessionClosed) {
		c.app.Logger().Warn("junction: removing a handler after its last call failed", "uri", c.uri, "err", err)
	}
}

// wrapEvent runs h as the app runs every event handler: LimitCalls, the
// app in ctx, the watchdog, panics recovered and counted, shutdown
// waiting for it.
func (c *component) wrapEvent(h client.EventHandler) client.EventHandler {
	app, name := c.app, string(c.uri)
	return func(ctx context.Context, e *client.Event) {
		if !c.take() {
			return
		}
		host := app.root()
		host.handlers.Add(1)
		defer host.handlers.Done()
		defer app.watch("event", name)()
		defer func() {
			if r := recover(); r != nil {
				app.recovered("event", name, r)
			}
		}()
		h(withApp(ctx, app), e)
	}
}

// wrapInvocation is wrapEvent for invocations; a panic becomes the
// caller's error.
func (c *component) wrapInvocation(h client.InvocationHandler) client.InvocationHandler {
	app, name := c.app, string(c.uri)
	return func(ctx context.Context, inv *client.Invocation) (res *client.Result, err error) {
		if !c.take() {
			return nil, wamp.NewError(wamp.URINoSuchProcedure, name+": the handler reached its call limit")
		}
		host := app.root()
		host.handlers.Add(1)
		defer host.handlers.Done()
		defer app.watch("call", name)()
		defer func() {
			if r := recover(); r != nil {
				res, err = nil, app.recovered("call", name, r)
			}
		}()
		ctx = context.WithValue(withApp(ctx, app), invocationKey{}, inv)
		res, err = h(ctx, inv)
		if err != nil {
			app.metrics.errors.WithLabelValues("call").Inc()
			app.Logger().Debug("junction: call handler failed", "procedure", name, "err", err)
		}
		return res, err
	}
}

// removeTimeout bounds the UNSUBSCRIBE or UNREGISTER that follows a
// handler's last allowed run.
const removeTimeout = 10 * time.Second

type invocationKey struct{}

// InvocationFrom returns the invocation a registered handler is running
// for (caller identity, procedure matched, progressive results), or nil
// outside one.
func InvocationFrom(ctx context.Context) *client.Invocation {
	inv, _ := ctx.Value(invocationKey{}).(*client.Invocation)
	return inv
}

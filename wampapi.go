package junction

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/wamp"
)

// Kwargs are keyword arguments: given among the arguments of Publish or
// Call, they are sent as the message's kwargs rather than as a
// positional argument.
type Kwargs map[string]any

// Error returns a WAMP error with an application URI and arguments: a
// handler returning it makes the caller's Call fail with it, so
// errors.Is(err, junction.Error(uri)) matches on the other side.
func Error(uri string, args ...any) error {
	e := &wamp.Error{URI: wamp.URI(uri)}
	for _, a := range args {
		v, err := toWire(a)
		if err != nil {
			v = fmt.Sprint(a)
		}
		e.Args = append(e.Args, v)
	}
	return e
}

// callOption is an Option of Call; publishOption one of Publish.
type callOption interface {
	Option
	applyCall(*client.CallOptions)
}

type publishOption interface {
	Option
	applyPublish(*client.PublishOptions)
}

type requestOpt struct {
	name    string
	call    func(*client.CallOptions)
	publish func(*client.PublishOptions)
}

func (o requestOpt) optionName() string { return o.name }

func (o requestOpt) applyCall(c *client.CallOptions) { o.call(c) }

func (o requestOpt) applyPublish(p *client.PublishOptions) { o.publish(p) }

// Timeout bounds a call (the router cancels it at the callee and the
// call fails with wamp.error.timeout), a run of a scheduled job, or an
// attempt of a queued task (its context ends; the attempt fails and is
// retried). Option of Call, Every, Cron, At, Queue and Enqueue.
func Timeout(d time.Duration) Option { return timeoutOpt(d) }

type timeoutOpt time.Duration

func (timeoutOpt) optionName() string                { return "Timeout" }
func (o timeoutOpt) applyCall(c *client.CallOptions) { c.Timeout = time.Duration(o) }
func (o timeoutOpt) applyJob(j *jobDecl)             { j.opts.Timeout = time.Duration(o) }
func (o timeoutOpt) applyQueue(c *queue.QueueConfig) bool {
	c.Timeout = time.Duration(o)
	return true
}

func (o timeoutOpt) applyEnqueue(e *queue.EnqueueOptions) bool {
	e.Timeout = time.Duration(o)
	return true
}

// Progress asks for progressive results, each handed to f before Call
// returns the final result. Option of Call.
func Progress(f func(*client.Result)) Option {
	return callOpt{"Progress", func(c *client.CallOptions) { c.Progress = f }}
}

// DiscloseMe asks the router to tell the callee or the subscribers who
// calls or publishes. Option of Call and Publish.
func DiscloseMe() Option {
	return requestOpt{"DiscloseMe",
		func(c *client.CallOptions) { c.DiscloseMe = true },
		func(p *client.PublishOptions) { p.DiscloseMe = true }}
}

// Acknowledge makes Publish wait for the router's acknowledgement, so
// that a refused publication is an error. Option of Publish.
func Acknowledge() Option {
	return publishOpt{"Acknowledge", func(p *client.PublishOptions) { p.Acknowledge = true }}
}

// IncludeMe delivers the event to the app's own subscriptions too, which
// is Publish's default: it states it. Option of Publish.
func IncludeMe() Option {
	return publishOpt{"IncludeMe", func(p *client.PublishOptions) { p.ExcludeMe = &notExcluded }}
}

// ExcludeMe keeps the event from the app's own subscriptions: only other
// sessions receive it, as WAMP does by default for a publisher. Option
// of Publish.
func ExcludeMe() Option {
	return publishOpt{"ExcludeMe", func(p *client.PublishOptions) { p.ExcludeMe = &excluded }}
}

// The values PublishOptions.ExcludeMe points to, shared (the client only
// reads them): Publish sets one on every event without allocating.
var notExcluded, excluded = false, true

// Retain asks the broker to keep the event for subscribers that arrive
// later with GetRetained. Option of Publish.
func Retain() Option {
	return publishOpt{"Retain", func(p *client.PublishOptions) { p.Retain = true }}
}

type callOpt struct {
	name  string
	apply func(*client.CallOptions)
}

func (o callOpt) optionName() string              { return o.name }
func (o callOpt) applyCall(c *client.CallOptions) { o.apply(c) }

type publishOpt struct {
	name  string
	apply func(*client.PublishOptions)
}

func (o publishOpt) optionName() string                    { return o.name }
func (o publishOpt) applyPublish(p *client.PublishOptions) { o.apply(p) }

// request splits a Publish or Call's variadic arguments into positional
// arguments, keyword arguments and options.
func request(args []any) (wamp.List, wamp.Dict, []Option, error) {
	var list wamp.List
	var kwargs wamp.Dict
	var opts []Option
	for i, a := range args {
		switch x := a.(type) {
		case Option:
			opts = append(opts, x)
		case Kwargs:
			if kwargs == nil {
				kwargs = make(wamp.Dict, len(x))
			}
			for k, v := range x {
				w, err := toWire(v)
				if err != nil {
					return nil, nil, nil, fmt.Errorf("kwarg %q: %w", k, err)
				}
				kwargs[k] = w
			}
		default:
			w, err := toWire(a)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("argument %d: %w", i, err)
			}
			list = append(list, w)
		}
	}
	return list, kwargs, opts, nil
}

// Publish publishes an event to topic (a relative or absolute name, see
// URI) with args: positional arguments, Kwargs, and options (DiscloseMe,
// Acknowledge, ExcludeMe, Retain). Structs and other typed values travel
// in their JSON form. Without Acknowledge it returns once the event is
// handed to the router.
//
// The app's own subscriptions receive what the app publishes: its
// handlers are components of their own, which share one WAMP session
// only as an implementation detail. ExcludeMe restores WAMP's default,
// where a publisher does not receive its own events (which stays the
// default for clients outside the app).
func (app *Application) Publish(ctx context.Context, topic string, args ...any) error {
	uri := app.URI(topic)
	list, kwargs, opts, err := request(args)
	if err != nil {
		return fmt.Errorf("junction: publish %s: %w", uri, err)
	}
	po := client.PublishOptions{ExcludeMe: &notExcluded}
	for _, o := range opts {
		p, ok := o.(publishOption)
		if !ok {
			return fmt.Errorf("junction: publish %s: option %s does not apply to Publish", uri, o.optionName())
		}
		p.applyPublish(&po)
	}
	sess, err := app.joined()
	if err != nil {
		return fmt.Errorf("junction: publish %s: %w", uri, err)
	}
	if _, err := sess.Publish(ctx, uri, list, kwargs, &po); err != nil {
		return fmt.Errorf("junction: publish %s: %w", uri, err)
	}
	return nil
}

// Call calls procedure (a relative or absolute name, see URI) with args:
// positional arguments, Kwargs, and options (Timeout, Progress,
// DiscloseMe). A WAMP error from the callee or the router is returned as
// a *wamp.Error, which errors.Is matches against Error(uri) and the
// wamp.Err* values; an HTTP handler returning it answers with the
// matching status.
func (app *Application) Call(ctx context.Context, procedure string, args ...any) (*client.Result, error) {
	uri := app.URI(procedure)
	list, kwargs, opts, err := request(args)
	if err != nil {
		return nil, fmt.Errorf("junction: call %s: %w", uri, err)
	}
	var co client.CallOptions
	for _, o := range opts {
		c, ok := o.(callOption)
		if !ok {
			return nil, fmt.Errorf("junction: call %s: option %s does not apply to Call", uri, o.optionName())
		}
		c.applyCall(&co)
	}
	sess, err := app.joined()
	if err != nil {
		return nil, fmt.Errorf("junction: call %s: %w", uri, err)
	}
	return sess.Call(ctx, uri, list, kwargs, &co)
}

// joined returns the app's session if it is connected.
func (app *Application) joined() (*client.Session, error) {
	sess := app.Session()
	switch {
	case sess == nil:
		return nil, ErrNotRunning
	case !app.Connected():
		return nil, ErrNotConnected
	}
	return sess, nil
}

// Arg decodes positional argument i of a result, event or invocation
// into a T, the way typed handlers decode theirs: numbers to any numeric
// type that holds them, structs, maps and slices through their JSON form.
//
//	user, err := junction.Arg[User](&res.Values, 0)
func Arg[T any](v *client.Values, i int) (T, error) {
	var zero T
	if i < 0 || i >= len(v.Args) {
		return zero, wamp.NewError(wamp.URIInvalidArgument, fmt.Sprintf("argument %d: missing (%d given)", i, len(v.Args)))
	}
	return decodeAs[T](v.Args[i], fmt.Sprintf("argument %d", i))
}

// Kwarg decodes keyword argument key into a T, as Arg does.
func Kwarg[T any](v *client.Values, key string) (T, error) {
	var zero T
	x, ok := v.Kwargs[key]
	if !ok {
		return zero, wamp.NewError(wamp.URIInvalidArgument, fmt.Sprintf("kwarg %q: missing", key))
	}
	return decodeAs[T](x, fmt.Sprintf("kwarg %q", key))
}

func decodeAs[T any](a any, what string) (T, error) {
	var zero T
	x, err := decodeArg(a, reflect.TypeFor[T]())
	if err != nil {
		return zero, wamp.NewError(wamp.URIInvalidArgument, fmt.Sprintf("%s: %v", what, err))
	}
	v, _ := x.Interface().(T) // a nil interface stays T's zero value
	return v, nil
}

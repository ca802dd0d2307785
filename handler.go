package junction

import (
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
)

// eventHandler adapts a Subscribe handler.
func eventHandler(name string, handler any) (client.EventHandler, error) {
	switch h := handler.(type) {
	case nil:
		return nil, errors.New("nil handler")
	case client.EventHandler:
		return h, nil
	case func(context.Context, *client.Event):
		return h, nil
	}
	f, err := newTypedFunc(name, handler, false)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, e *client.Event) {
		if _, err := f.call(ctx, &e.Values); err != nil {
			app := AppFrom(ctx)
			app.metrics.errors.WithLabelValues("event").Inc()
			app.Logger().Error("junction: event handler failed", "topic", name, "err", err)
		}
	}, nil
}

// invocationHandler adapts a Register handler.
func invocationHandler(name string, handler any) (client.InvocationHandler, error) {
	switch h := handler.(type) {
	case nil:
		return nil, errors.New("nil handler")
	case client.InvocationHandler:
		return h, nil
	case func(context.Context, *client.Invocation) (*client.Result, error):
		return h, nil
	}
	f, err := newTypedFunc(name, handler, true)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
		out, err := f.call(ctx, &inv.Values)
		if err != nil {
			return nil, err
		}
		if !f.hasValue {
			return nil, nil
		}
		v, err := toWire(out)
		if err != nil {
			return nil, fmt.Errorf("%s: result: %w", name, err)
		}
		return &client.Result{Values: client.Values{Args: wamp.List{v}}}, nil
	}, nil
}

// typedFunc is a handler written as a plain Go function of the WAMP
// arguments.
type typedFunc struct {
	name     string
	fn       reflect.Value
	withCtx  bool           // the first parameter is a context.Context
	params   []reflect.Type // the other parameters
	variadic bool
	hasValue bool // the first result is a value
	hasErr   bool // the last result is an error
}

// newTypedFunc checks handler's signature. Event handlers return nothing
// or an error; invocation handlers may return a value first.
func newTypedFunc(name string, handler any, valueOK bool) (*typedFunc, error) {
	fn := reflect.ValueOf(handler)
	t := fn.Type()
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("handler is a %s, not a function", t)
	}
	f := &typedFunc{name: name, fn: fn, variadic: t.IsVariadic()}
	for i := range t.NumIn() {
		p := t.In(i)
		if i == 0 && p == contextType {
			f.withCtx = true
			continue
		}
		if p == contextType {
			return nil, fmt.Errorf("handler %s: context.Context must be the first parameter", t)
		}
		f.params = append(f.params, p)
	}
	switch out := t.NumOut(); {
	case out == 0:
	case out == 1 && t.Out(0) == errorType:
		f.hasErr = true
	case out == 1 && valueOK:
		f.hasValue = true
	case out == 2 && valueOK && t.Out(1) == errorType:
		f.hasValue, f.hasErr = true, true
	case valueOK:
		return nil, fmt.Errorf("handler %s: want results (), (error), (T) or (T, error)", t)
	default:
		return nil, fmt.Errorf("handler %s: want results () or (error)", t)
	}
	return f, nil
}

// call decodes v's positional arguments into the function's parameters
// and calls it. Arguments that do not fit give wamp.error.invalid_argument.
func (f *typedFunc) call(ctx context.Context, v *client.Values) (any, error) {
	n := len(f.params)
	fixed := n
	if f.variadic {
		fixed--
	}
	if len(v.Args) < fixed || (!f.variadic && len(v.Args) > n) {
		want := fmt.Sprint(n)
		if f.variadic {
			want = fmt.Sprintf("at least %d", fixed)
		}
		return nil, wamp.NewError(wamp.URIInvalidArgument,
			fmt.Sprintf("%s: want %s arguments, got %d", f.name, want, len(v.Args)))
	}
	in := make([]reflect.Value, 0, len(v.Args)+1)
	if f.withCtx {
		in = append(in, reflect.ValueOf(ctx))
	}
	for i, a := range v.Args {
		t := f.params[min(i, n-1)]
		if f.variadic && i >= fixed {
			t = t.Elem()
		}
		x, err := decodeArg(a, t)
		if err != nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, fmt.Sprintf("%s: argument %d: %v", f.name, i, err))
		}
		in = append(in, x)
	}
	out := f.fn.Call(in)
	var err error
	if f.hasErr {
		if e := out[len(out)-1]; !e.IsNil() {
			err = e.Interface().(error)
		}
	}
	if f.hasValue && err == nil {
		return out[0].Interface(), nil
	}
	return nil, err
}

// decodeArg converts a WAMP argument, as a serializer decoded it (or as
// an in-process peer sent it), to t.
func decodeArg(a any, t reflect.Type) (reflect.Value, error) {
	if a == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
			return reflect.Zero(t), nil
		}
		return reflect.Value{}, fmt.Errorf("want %s, got null", t)
	}
	av := reflect.ValueOf(a)
	if av.Type().AssignableTo(t) {
		return av, nil
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		if s, ok := a.(string); ok {
			p := reflect.New(t)
			if err := p.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				return reflect.Value{}, err
			}
			return p.Elem(), nil
		}
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String:
		if av.Kind() == t.Kind() {
			return av.Convert(t), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n, ok := wholeNumber(a); ok {
			x := reflect.New(t).Elem()
			if n < math.MinInt64 || n > math.MaxInt64 || x.OverflowInt(int64(n)) {
				return reflect.Value{}, fmt.Errorf("%v overflows %s", a, t)
			}
			x.SetInt(int64(n))
			return x, nil
		}
		if i, ok := wamp.AsInt64(a); ok {
			x := reflect.New(t).Elem()
			if x.OverflowInt(i) {
				return reflect.Value{}, fmt.Errorf("%v overflows %s", a, t)
			}
			x.SetInt(i)
			return x, nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u, ok := asUint64(a); ok {
			x := reflect.New(t).Elem()
			if x.OverflowUint(u) {
				return reflect.Value{}, fmt.Errorf("%v overflows %s", a, t)
			}
			x.SetUint(u)
			return x, nil
		}
	case reflect.Float32, reflect.Float64:
		if fl, ok := asFloat(a); ok {
			return reflect.ValueOf(fl).Convert(t), nil
		}
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array, reflect.Pointer:
		// Through the JSON form, so that json tags name the fields
		// whichever serializer carried the value.
		b, err := json.Marshal(a)
		if err != nil {
			return reflect.Value{}, fmt.Errorf("want %s: %v", t, err)
		}
		p := reflect.New(t)
		if err := json.Unmarshal(b, p.Interface()); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return reflect.Value{}, fmt.Errorf("field %s: want %s, got %s", te.Field, te.Type, te.Value)
			}
			return reflect.Value{}, fmt.Errorf("want %s: %v", t, err)
		}
		return p.Elem(), nil
	}
	return reflect.Value{}, fmt.Errorf("want %s, got %s", t, describe(a))
}

// wholeNumber reports a float argument that holds an integer (JSON
// clients such as browsers send 3 as 3.0 at times).
func wholeNumber(a any) (float64, bool) {
	f, ok := a.(float64)
	return f, ok && f == math.Trunc(f) && !math.IsInf(f, 0)
}

func asUint64(a any) (uint64, bool) {
	switch n := a.(type) {
	case uint64:
		return n, true
	case wamp.ID:
		return uint64(n), true
	case float64:
		if f, ok := wholeNumber(n); ok && f >= 0 && f < math.MaxUint64 {
			return uint64(f), true
		}
		return 0, false
	}
	i, ok := wamp.AsInt64(a)
	return uint64(i), ok && i >= 0
}

func asFloat(a any) (float64, bool) {
	if f, ok := a.(float64); ok {
		return f, true
	}
	if f, ok := a.(float32); ok {
		return float64(f), true
	}
	if u, ok := a.(uint64); ok {
		return float64(u), true
	}
	i, ok := wamp.AsInt64(a)
	return float64(i), ok
}

// describe names a WAMP value's type the way a client developer thinks of
// it.
func describe(a any) string {
	switch a.(type) {
	case string:
		return fmt.Sprintf("string %q", a)
	case bool:
		return fmt.Sprintf("bool %v", a)
	case float64, float32:
		return fmt.Sprintf("number %v", a)
	case wamp.List:
		return "list"
	case wamp.Dict:
		return "dict"
	}
	if _, ok := wamp.AsInt64(a); ok {
		return fmt.Sprintf("integer %v", a)
	}
	return fmt.Sprintf("%T", a)
}

// toWire turns a value into what every serializer encodes the same way:
// basic values stay as they are; structs, typed maps and slices take
// their JSON form (json tags name the fields, for Autobahn|JS and Python
// peers alike), decoded into lists, dicts and numbers.
func toWire(v any) (any, error) {
	switch v.(type) {
	case nil, bool, string, []byte, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, float32, float64,
		wamp.ID, wamp.URI, wamp.List, wamp.Dict:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return numbersToInts(out), nil
}

// numbersToInts makes the whole floats encoding/json decoded from
// integers back into int64, so 3 stays an integer on the wire.
func numbersToInts(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case []any:
		for i := range x {
			x[i] = numbersToInts(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = numbersToInts(x[k])
		}
	}
	return v
}

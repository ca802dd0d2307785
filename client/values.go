package client

import (
	"fmt"
	"strconv"

	"github.com/junction-run/junction/wamp"
)

// Values are the arguments of an event, invocation or result, with typed
// accessors. They are shared with other receivers: treat them as
// read-only.
type Values struct {
	Args   wamp.List
	Kwargs wamp.Dict
}

// Arg returns positional argument i, or nil if there is none.
func (v *Values) Arg(i int) any {
	x, _ := v.arg(i)
	return x
}

// Kwarg returns keyword argument key, or nil if there is none.
func (v *Values) Kwarg(key string) any { return v.Kwargs[key] }

// ArgString returns positional argument i as a string.
func (v *Values) ArgString(i int) (string, error) {
	x, ok := v.arg(i)
	return convert(x, ok, argName(i), asString)
}

// ArgInt returns positional argument i as an integer; an integral float
// is accepted too.
func (v *Values) ArgInt(i int) (int64, error) {
	x, ok := v.arg(i)
	return convert(x, ok, argName(i), wamp.AsInt64)
}

// ArgFloat returns positional argument i as a float; an integer is
// accepted too.
func (v *Values) ArgFloat(i int) (float64, error) {
	x, ok := v.arg(i)
	return convert(x, ok, argName(i), asFloat)
}

// ArgBool returns positional argument i as a bool.
func (v *Values) ArgBool(i int) (bool, error) {
	x, ok := v.arg(i)
	return convert(x, ok, argName(i), asBool)
}

// KwargString returns keyword argument key as a string.
func (v *Values) KwargString(key string) (string, error) {
	x, ok := v.Kwargs[key]
	return convert(x, ok, kwargName(key), asString)
}

// KwargInt returns keyword argument key as an integer.
func (v *Values) KwargInt(key string) (int64, error) {
	x, ok := v.Kwargs[key]
	return convert(x, ok, kwargName(key), wamp.AsInt64)
}

// KwargFloat returns keyword argument key as a float.
func (v *Values) KwargFloat(key string) (float64, error) {
	x, ok := v.Kwargs[key]
	return convert(x, ok, kwargName(key), asFloat)
}

// KwargBool returns keyword argument key as a bool.
func (v *Values) KwargBool(key string) (bool, error) {
	x, ok := v.Kwargs[key]
	return convert(x, ok, kwargName(key), asBool)
}

func (v *Values) arg(i int) (any, bool) {
	if i < 0 || i >= len(v.Args) {
		return nil, false
	}
	return v.Args[i], true
}

func argName(i int) string        { return "argument " + strconv.Itoa(i) }
func kwargName(key string) string { return "keyword argument " + strconv.Quote(key) }

func convert[T any](x any, present bool, name string, conv func(any) (T, bool)) (T, error) {
	var zero T
	if !present {
		return zero, fmt.Errorf("%w: %s", ErrMissingArgument, name)
	}
	t, ok := conv(x)
	if !ok {
		return zero, fmt.Errorf("%w: %s is %T", ErrArgumentType, name, x)
	}
	return t, nil
}

func asString(x any) (string, bool) {
	s, ok := x.(string)
	return s, ok
}

func asBool(x any) (bool, bool) {
	b, ok := x.(bool)
	return b, ok
}

func asFloat(x any) (float64, bool) {
	switch f := x.(type) {
	case float64:
		return f, true
	case float32:
		return float64(f), true
	case uint64:
		return float64(f), true
	}
	n, ok := wamp.AsInt64(x)
	return float64(n), ok
}

// asID reads an ID from details: a serializer's integer, or a wamp.ID as an
// in-process router may leave it.
func asID(v any) (wamp.ID, bool) {
	if id, ok := v.(wamp.ID); ok {
		return id, true
	}
	return wamp.AsID(v)
}

package wamp

import "math"

// DictBool returns d[key] as a bool and whether it was a bool.
func DictBool(d Dict, key string) (v, ok bool) {
	v, ok = d[key].(bool)
	return v, ok
}

// DictString returns d[key] as a string and whether it was a string.
func DictString(d Dict, key string) (string, bool) {
	s, ok := d[key].(string)
	return s, ok
}

// DictDict returns d[key] as a Dict and whether it was one.
func DictDict(d Dict, key string) (Dict, bool) {
	v, ok := d[key].(Dict)
	return v, ok
}

// DictInt returns d[key] as an int64 and whether it held an integer that
// fits (a float64 with an integral value counts, as JSON peers send those).
func DictInt(d Dict, key string) (int64, bool) {
	return AsInt64(d[key])
}

// AsInt64 converts an integer value produced by a serializer (any Go
// integer type, or an integral float64) to int64. It reports false for
// anything else, including values that do not fit.
func AsInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case ID: // in-process payloads keep the router's types
		if n > MaxID {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case int32:
		return int64(n), true
	case int16:
		return int64(n), true
	case int8:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float32:
		return AsInt64(float64(n))
	}
	return 0, false
}

// AsID converts a value produced by a serializer to an ID. It reports
// false if v is not an integer in [0, MaxID].
func AsID(v any) (ID, bool) {
	if u, ok := v.(uint64); ok {
		if u > MaxID {
			return 0, false
		}
		return ID(u), true
	}
	n, ok := AsInt64(v)
	if !ok || n < 0 || n > MaxID {
		return 0, false
	}
	return ID(n), true
}

package codec

import "unicode/utf8"

// scanMaxDepth bounds the nesting the single-pass scanner follows; deeper
// input takes the slow path, which refuses what is over MaxDepth.
const scanMaxDepth = MaxDepth + 1

// scanJSONArray is the fast path of Decode: one pass over data that
// validates it as a JSON array (the grammar encoding/json accepts), checks
// that every string is valid UTF-8, and records each top-level element
// with how deep containers nest in it. It returns false for anything it
// does not accept, and the caller then takes the slow path, which finds
// and words the error: scanJSONArray never accepts what the slow path
// refuses (the fuzz test checks it).
func scanJSONArray(d []byte, f *jsonFrame) bool {
	i := skipJSONSpace(d, 0)
	if i >= len(d) || d[i] != '[' {
		return false
	}
	i = skipJSONSpace(d, i+1)
	if i < len(d) && d[i] == ']' {
		return skipJSONSpace(d, i+1) == len(d)
	}
	for {
		start := i
		end, depth, ok := scanJSONValue(d, i)
		if !ok {
			return false
		}
		f.add(d[start:end], depth)
		i = skipJSONSpace(d, end)
		if i >= len(d) {
			return false
		}
		switch d[i] {
		case ',':
			i = skipJSONSpace(d, i+1)
		case ']':
			return skipJSONSpace(d, i+1) == len(d)
		default:
			return false
		}
	}
}

// scanJSONValue scans the value at d[i] (no leading space) and returns
// where it ends and how deep containers nest in it.
func scanJSONValue(d []byte, i int) (end, deepest int, ok bool) {
	var stack [scanMaxDepth]byte // the open containers, '[' or '{'
	n := 0
	for {
		// A value starts at i.
		if i >= len(d) {
			return 0, 0, false
		}
		closed := false // the value at i was a container closed at once
		switch c := d[i]; {
		case c == '[' || c == '{':
			if n == len(stack) {
				return 0, 0, false
			}
			stack[n] = c
			n++
			deepest = max(deepest, n)
			i = skipJSONSpace(d, i+1)
			if i < len(d) && (c == '[' && d[i] == ']' || c == '{' && d[i] == '}') {
				i++
				n--
				closed = true
			} else if c == '{' {
				if i, ok = scanJSONKey(d, i); !ok {
					return 0, 0, false
				}
			}
			if !closed {
				continue // the container's first value
			}
		case c == '"':
			if i, ok = scanJSONString(d, i); !ok {
				return 0, 0, false
			}
		case c == '-' || '0' <= c && c <= '9':
			if i, ok = scanJSONNumber(d, i); !ok {
				return 0, 0, false
			}
		case c == 't':
			if i, ok = scanJSONLiteral(d, i, "true"); !ok {
				return 0, 0, false
			}
		case c == 'f':
			if i, ok = scanJSONLiteral(d, i, "false"); !ok {
				return 0, 0, false
			}
		case c == 'n':
			if i, ok = scanJSONLiteral(d, i, "null"); !ok {
				return 0, 0, false
			}
		default:
			return 0, 0, false
		}
		// A value ended at i: close containers, or go to the next value.
		for {
			if n == 0 {
				return i, deepest, true
			}
			i = skipJSONSpace(d, i)
			if i >= len(d) {
				return 0, 0, false
			}
			c := d[i]
			if c == ',' {
				i = skipJSONSpace(d, i+1)
				if stack[n-1] == '{' {
					if i, ok = scanJSONKey(d, i); !ok {
						return 0, 0, false
					}
				}
				break
			}
			if c == ']' && stack[n-1] == '[' || c == '}' && stack[n-1] == '{' {
				i++
				n--
				continue
			}
			return 0, 0, false
		}
	}
}

// scanJSONKey scans an object's key and its colon, and the space after
// it: the value follows.
func scanJSONKey(d []byte, i int) (int, bool) {
	if i >= len(d) || d[i] != '"' {
		return 0, false
	}
	i, ok := scanJSONString(d, i)
	if !ok {
		return 0, false
	}
	i = skipJSONSpace(d, i)
	if i >= len(d) || d[i] != ':' {
		return 0, false
	}
	return skipJSONSpace(d, i+1), true
}

// scanJSONString scans the string that starts at d[i], a quote.
func scanJSONString(d []byte, i int) (int, bool) {
	for i++; i < len(d); {
		c := d[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(d) {
				return 0, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) {
					return 0, false
				}
				for _, h := range d[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, false
					}
				}
				i += 6
			default:
				return 0, false
			}
		case c < 0x20:
			return 0, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false
			}
			i += size
		}
	}
	return 0, false
}

// scanJSONNumber scans -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func scanJSONNumber(d []byte, i int) (int, bool) {
	if d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && '1' <= d[i] && d[i] <= '9':
		i = skipDigits(d, i)
	default:
		return 0, false
	}
	if i < len(d) && d[i] == '.' {
		j := skipDigits(d, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := skipDigits(d, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func skipDigits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

func scanJSONLiteral(d []byte, i int, lit string) (int, bool) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

func skipJSONSpace(d []byte, i int) int {
	for i < len(d) {
		switch d[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

package wamp

// List is a WAMP list: the positional arguments of a message, or a list
// value inside a payload.
type List = []any

// Dict is a WAMP dictionary: details, options, keyword arguments.
type Dict = map[string]any

// Payload is the application data of a message: positional arguments
// (Args) and keyword arguments (Kwargs).
//
// Values are those a serializer produces (see package codec): nil, bool,
// int64, uint64 (only above math.MaxInt64), float64, string, []byte, List and
// Dict. Receivers must treat them as read-only: a router in one process may
// hand the same values to several subscribers.
//
// When Raw is non-nil the arguments are still encoded, as the serializer
// named in Raw left them, and Args and Kwargs are unset. A router forwards
// such a payload byte for byte to peers using the same serializer;
// codec.Resolve decodes it for everyone else.
type Payload struct {
	Args   List
	Kwargs Dict
	Raw    *RawPayload
}

// RawPayload holds the encoded argument elements of a message.
type RawPayload struct {
	// Serializer names the serializer that encoded Args and Kwargs,
	// e.g. "json" (see codec.Codec.Name).
	Serializer string
	// Args is the encoded positional arguments list, nil when absent.
	Args []byte
	// Kwargs is the encoded keyword arguments dict, nil when absent.
	Kwargs []byte
}

// Elements returns how many message elements the payload takes: 0 when
// there are neither args nor kwargs, 1 for args only, 2 when kwargs are
// present (args are then sent, empty if need be, as the specification
// requires).
func (p *Payload) Elements() int {
	if r := p.Raw; r != nil {
		switch {
		case r.Kwargs != nil:
			return 2
		case r.Args != nil:
			return 1
		}
		return 0
	}
	switch {
	case len(p.Kwargs) > 0:
		return 2
	case len(p.Args) > 0:
		return 1
	}
	return 0
}

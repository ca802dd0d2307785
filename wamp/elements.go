package wamp

import "fmt"

// This file maps messages to and from their positional elements, once for
// every serializer: a codec only reads and writes values, and the shape of
// each message (arity, element kinds, URI rules) is checked here.

// PayloadIndex returns the index of the Args element in messages of type t,
// or -1 if t carries no payload. Kwargs, when present, follow Args.
func PayloadIndex(t Type) int {
	switch t {
	case TypeError:
		return 5
	case TypePublish, TypeEvent, TypeCall, TypeInvocation:
		return 4
	case TypeResult, TypeYield:
		return 3
	}
	return -1
}

// arity gives the minimum and maximum element count of each message type,
// the type code included; {0, 0} marks an unknown type. An array indexed
// by the code, as it is read once per message.
var arity = [256][2]uint8{
	TypeHello: {3, 3}, TypeWelcome: {3, 3}, TypeAbort: {3, 3},
	TypeChallenge: {3, 3}, TypeAuthenticate: {3, 3}, TypeGoodbye: {3, 3},
	TypeError: {5, 7}, TypePublish: {4, 6}, TypePublished: {3, 3},
	TypeSubscribe: {4, 4}, TypeSubscribed: {3, 3}, TypeUnsubscribe: {3, 3},
	TypeUnsubscribed: {2, 3}, TypeEvent: {4, 6}, TypeCall: {4, 6},
	TypeCancel: {3, 3}, TypeResult: {3, 5}, TypeRegister: {4, 4},
	TypeRegistered: {3, 3}, TypeUnregister: {3, 3}, TypeUnregistered: {2, 3},
	TypeInvocation: {4, 6}, TypeInterrupt: {3, 3}, TypeYield: {3, 5},
}

// Build makes a message of type t from its decoded elements. It is meant
// for codecs: elems holds elements 1 up to the payload (or the end), as
// decoded values; n is the element count of the whole message, type code
// and payload included; raw holds the payload elements still encoded,
// already checked to be a list and a dict, with nil Args when the message
// has none. The message and its RawPayload are one allocation.
//
// Build returns a *DecodeError when the arity, an element's kind, an ID's
// range or a URI is wrong.
func Build(t Type, elems []any, n int, raw RawPayload) (Message, error) {
	ar := arity[t]
	if ar[1] == 0 {
		return nil, &DecodeError{Index: 0, Field: "Type", Reason: fmt.Sprintf("unknown message type %d", t)}
	}
	if n < int(ar[0]) || n > int(ar[1]) {
		want := fmt.Sprintf("%d", ar[0])
		if ar[0] != ar[1] {
			want = fmt.Sprintf("%d to %d", ar[0], ar[1])
		}
		return nil, &DecodeError{Type: t, Index: -1, Reason: fmt.Sprintf("has %d elements, want %s", n, want)}
	}
	b := builder{t: t, elems: elems, raw: raw}
	m := b.build()
	if b.err != nil {
		b.err.Request = b.req
		b.err.Unacknowledged = unacknowledged(t, elems)
		return nil, b.err
	}
	return m, nil
}

type builder struct {
	t     Type
	elems []any
	raw   RawPayload
	req   ID
	err   *DecodeError
}

// withRaw returns a new message of type M and, when the builder has a
// payload, a copy of it allocated together with the message: one
// allocation where there were two, for every message that carries
// arguments. The message keeps the pair alive, and so does the payload.
func withRaw[M any](b *builder) (*M, *RawPayload) {
	if b.raw.Args == nil {
		return new(M), nil
	}
	pair := &struct {
		m M
		r RawPayload
	}{r: b.raw}
	return &pair.m, &pair.r
}

func (b *builder) fail(i int, field, format string, args ...any) {
	if b.err == nil {
		b.err = &DecodeError{Type: b.t, Index: i, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
}

func (b *builder) elem(i int) any { return b.elems[i-1] }

func (b *builder) has(i int) bool { return i-1 < len(b.elems) }

func (b *builder) id(i int, field string, zeroOK bool) ID {
	v := b.elem(i)
	id, ok := AsID(v)
	if !ok {
		b.fail(i, field, "want an ID (integer in [1, 2^53]), got %s", describe(v))
		return 0
	}
	if id == 0 && !zeroOK {
		b.fail(i, field, "ID 0 is not allowed here")
	}
	return id
}

func (b *builder) request(i int) ID {
	id := b.id(i, "Request", false)
	if b.err == nil {
		b.req = id
	}
	return id
}

func (b *builder) dict(i int, field string) Dict {
	v := b.elem(i)
	d, ok := v.(Dict)
	if !ok {
		b.fail(i, field, "want a dict, got %s", describe(v))
	}
	// An empty dict is nil, whatever the codec (JSON's and MessagePack's
	// frames decode an empty header dict as nil, without allocating; see
	// present for the optional ones). Most dicts are empty, where even
	// starting a range costs.
	if len(d) == 0 {
		return nil
	}
	// An option or detail whose value is null (or undefined, as
	// JavaScript encoders write what was never set) reads as absent.
	for k, e := range d {
		if e == nil {
			delete(d, k)
		}
	}
	if len(d) == 0 {
		return nil
	}
	return d
}

// present returns d, or an empty Dict if d is nil, for an optional
// element whose presence is told by a non-nil Dict (a codec may decode an
// empty dict as nil).
func (b *builder) present(d Dict) Dict {
	if d == nil {
		return Dict{}
	}
	return d
}

func (b *builder) str(i int, field string) string {
	v := b.elem(i)
	s, ok := v.(string)
	if !ok {
		b.fail(i, field, "want a string, got %s", describe(v))
	}
	return s
}

func (b *builder) uri(i int, field string, policy MatchPolicy) URI {
	v := b.elem(i)
	s, ok := v.(string)
	if !ok {
		b.fail(i, field, "want a URI string, got %s", describe(v))
		return ""
	}
	u := URI(s)
	if !u.ValidPattern(false, policy) {
		b.fail(i, field, "invalid URI %q", s)
		if b.err != nil {
			b.err.InvalidURI = true
		}
	}
	return u
}

func (b *builder) typ(i int) Type {
	v := b.elem(i)
	n, ok := AsInt64(v)
	if !ok || n < 0 || n > 255 || !Type(n).Known() {
		b.fail(i, "RequestType", "want a message type code, got %s", describe(v))
		return 0
	}
	return Type(n)
}

// policy reads the "match" option that decides how a pattern URI is
// checked, tolerating its absence.
func (b *builder) policy(opts Dict) MatchPolicy {
	if s, ok := opts["match"].(string); ok {
		return MatchPolicy(s)
	}
	return MatchExact
}

func (b *builder) build() Message {
	switch b.t {
	case TypeHello:
		return &Hello{Realm: b.uri(1, "Realm", MatchExact), Details: b.dict(2, "Details")}
	case TypeWelcome:
		return &Welcome{Session: b.id(1, "Session", false), Details: b.dict(2, "Details")}
	case TypeAbort:
		return &Abort{Details: b.dict(1, "Details"), Reason: b.uri(2, "Reason", MatchExact)}
	case TypeChallenge:
		return &Challenge{AuthMethod: b.str(1, "AuthMethod"), Extra: b.dict(2, "Extra")}
	case TypeAuthenticate:
		return &Authenticate{Signature: b.str(1, "Signature"), Extra: b.dict(2, "Extra")}
	case TypeGoodbye:
		return &Goodbye{Details: b.dict(1, "Details"), Reason: b.uri(2, "Reason", MatchExact)}
	case TypeError:
		m, raw := withRaw[ErrorMessage](b)
		m.RequestType, m.Request, m.Details, m.Payload.Raw = b.typ(1), b.request(2), b.dict(3, "Details"), raw
		m.Error = b.uri(4, "Error", MatchExact)
		return m
	case TypePublish:
		m, raw := withRaw[Publish](b)
		m.Request, m.Options, m.Payload.Raw = b.request(1), b.dict(2, "Options"), raw
		m.Topic = b.uri(3, "Topic", MatchExact)
		return m
	case TypePublished:
		return &Published{Request: b.request(1), Publication: b.id(2, "Publication", false)}
	case TypeSubscribe:
		m := &Subscribe{Request: b.request(1), Options: b.dict(2, "Options")}
		m.Topic = b.uri(3, "Topic", b.policy(m.Options))
		return m
	case TypeSubscribed:
		return &Subscribed{Request: b.request(1), Subscription: b.id(2, "Subscription", false)}
	case TypeUnsubscribe:
		return &Unsubscribe{Request: b.request(1), Subscription: b.id(2, "Subscription", false)}
	case TypeUnsubscribed:
		m := &Unsubscribed{Request: b.id(1, "Request", true)}
		if b.has(2) {
			m.Details = b.present(b.dict(2, "Details"))
		}
		return m
	case TypeEvent:
		m, raw := withRaw[Event](b)
		m.Subscription, m.Publication, m.Details, m.Payload.Raw = b.id(1, "Subscription", false), b.id(2, "Publication", false), b.dict(3, "Details"), raw
		return m
	case TypeCall:
		m, raw := withRaw[Call](b)
		m.Request, m.Options, m.Payload.Raw = b.request(1), b.dict(2, "Options"), raw
		m.Procedure = b.uri(3, "Procedure", MatchExact)
		return m
	case TypeCancel:
		return &Cancel{Request: b.request(1), Options: b.dict(2, "Options")}
	case TypeResult:
		m, raw := withRaw[Result](b)
		m.Request, m.Details, m.Payload.Raw = b.request(1), b.dict(2, "Details"), raw
		return m
	case TypeRegister:
		m := &Register{Request: b.request(1), Options: b.dict(2, "Options")}
		m.Procedure = b.uri(3, "Procedure", b.policy(m.Options))
		return m
	case TypeRegistered:
		return &Registered{Request: b.request(1), Registration: b.id(2, "Registration", false)}
	case TypeUnregister:
		return &Unregister{Request: b.request(1), Registration: b.id(2, "Registration", false)}
	case TypeUnregistered:
		m := &Unregistered{Request: b.id(1, "Request", true)}
		if b.has(2) {
			m.Details = b.present(b.dict(2, "Details"))
		}
		return m
	case TypeInvocation:
		m, raw := withRaw[Invocation](b)
		m.Request, m.Registration, m.Details, m.Payload.Raw = b.request(1), b.id(2, "Registration", false), b.dict(3, "Details"), raw
		return m
	case TypeInterrupt:
		return &Interrupt{Request: b.request(1), Options: b.dict(2, "Options")}
	case TypeYield:
		m, raw := withRaw[Yield](b)
		m.Request, m.Options, m.Payload.Raw = b.request(1), b.dict(2, "Options"), raw
		return m
	}
	panic("unreachable: arity table and build disagree on " + b.t.String())
}

func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case []byte:
		return "binary"
	case List:
		return "a list"
	case Dict:
		return "a dict"
	case float64, float32:
		return fmt.Sprintf("the number %v", v)
	}
	if n, ok := AsInt64(v); ok {
		return fmt.Sprintf("the integer %d", n)
	}
	if u, ok := v.(uint64); ok {
		return fmt.Sprintf("the integer %d", u)
	}
	return fmt.Sprintf("%T", v)
}

// Encoder receives the elements of a message, in order, from Encode. Each
// codec implements it; errors (an unsupported value in a dict) are kept by
// the Encoder and reported by its codec.
type Encoder interface {
	// Array starts the message array of n elements.
	Array(n int)
	// Uint writes an ID or a type code.
	Uint(v uint64)
	// String writes a string or URI.
	String(s string)
	// Dict writes a dict; nil is written as an empty dict.
	Dict(d Dict)
	// Args writes p's positional arguments (an empty list if none).
	Args(p *Payload)
	// Kwargs writes p's keyword arguments.
	Kwargs(p *Payload)
}

// Encode writes m's elements to e.
func Encode(m Message, e Encoder) {
	switch m := m.(type) {
	case *Hello:
		e.Array(3)
		e.Uint(uint64(TypeHello))
		e.String(string(m.Realm))
		e.Dict(m.Details)
	case *Welcome:
		e.Array(3)
		e.Uint(uint64(TypeWelcome))
		e.Uint(uint64(m.Session))
		e.Dict(m.Details)
	case *Abort:
		e.Array(3)
		e.Uint(uint64(TypeAbort))
		e.Dict(m.Details)
		e.String(string(m.Reason))
	case *Challenge:
		e.Array(3)
		e.Uint(uint64(TypeChallenge))
		e.String(m.AuthMethod)
		e.Dict(m.Extra)
	case *Authenticate:
		e.Array(3)
		e.Uint(uint64(TypeAuthenticate))
		e.String(m.Signature)
		e.Dict(m.Extra)
	case *Goodbye:
		e.Array(3)
		e.Uint(uint64(TypeGoodbye))
		e.Dict(m.Details)
		e.String(string(m.Reason))
	case *ErrorMessage:
		e.Array(5 + m.Payload.Elements())
		e.Uint(uint64(TypeError))
		e.Uint(uint64(m.RequestType))
		e.Uint(uint64(m.Request))
		e.Dict(m.Details)
		e.String(string(m.Error))
		encodePayload(e, &m.Payload)
	case *Publish:
		e.Array(4 + m.Payload.Elements())
		e.Uint(uint64(TypePublish))
		e.Uint(uint64(m.Request))
		e.Dict(m.Options)
		e.String(string(m.Topic))
		encodePayload(e, &m.Payload)
	case *Published:
		encodeIDs(e, TypePublished, m.Request, m.Publication)
	case *Subscribe:
		e.Array(4)
		e.Uint(uint64(TypeSubscribe))
		e.Uint(uint64(m.Request))
		e.Dict(m.Options)
		e.String(string(m.Topic))
	case *Subscribed:
		encodeIDs(e, TypeSubscribed, m.Request, m.Subscription)
	case *Unsubscribe:
		encodeIDs(e, TypeUnsubscribe, m.Request, m.Subscription)
	case *Unsubscribed:
		encodeAck(e, TypeUnsubscribed, m.Request, m.Details)
	case *Event:
		e.Array(4 + m.Payload.Elements())
		e.Uint(uint64(TypeEvent))
		e.Uint(uint64(m.Subscription))
		e.Uint(uint64(m.Publication))
		e.Dict(m.Details)
		encodePayload(e, &m.Payload)
	case *Call:
		e.Array(4 + m.Payload.Elements())
		e.Uint(uint64(TypeCall))
		e.Uint(uint64(m.Request))
		e.Dict(m.Options)
		e.String(string(m.Procedure))
		encodePayload(e, &m.Payload)
	case *Cancel:
		encodeIDDict(e, TypeCancel, m.Request, m.Options)
	case *Result:
		e.Array(3 + m.Payload.Elements())
		e.Uint(uint64(TypeResult))
		e.Uint(uint64(m.Request))
		e.Dict(m.Details)
		encodePayload(e, &m.Payload)
	case *Register:
		e.Array(4)
		e.Uint(uint64(TypeRegister))
		e.Uint(uint64(m.Request))
		e.Dict(m.Options)
		e.String(string(m.Procedure))
	case *Registered:
		encodeIDs(e, TypeRegistered, m.Request, m.Registration)
	case *Unregister:
		encodeIDs(e, TypeUnregister, m.Request, m.Registration)
	case *Unregistered:
		encodeAck(e, TypeUnregistered, m.Request, m.Details)
	case *Invocation:
		e.Array(4 + m.Payload.Elements())
		e.Uint(uint64(TypeInvocation))
		e.Uint(uint64(m.Request))
		e.Uint(uint64(m.Registration))
		e.Dict(m.Details)
		encodePayload(e, &m.Payload)
	case *Interrupt:
		encodeIDDict(e, TypeInterrupt, m.Request, m.Options)
	case *Yield:
		e.Array(3 + m.Payload.Elements())
		e.Uint(uint64(TypeYield))
		e.Uint(uint64(m.Request))
		e.Dict(m.Options)
		encodePayload(e, &m.Payload)
	default:
		panic(fmt.Sprintf("wamp: Encode of unknown message type %T", m))
	}
}

func encodeIDs(e Encoder, t Type, a, b ID) {
	e.Array(3)
	e.Uint(uint64(t))
	e.Uint(uint64(a))
	e.Uint(uint64(b))
}

func encodeIDDict(e Encoder, t Type, id ID, d Dict) {
	e.Array(3)
	e.Uint(uint64(t))
	e.Uint(uint64(id))
	e.Dict(d)
}

func encodeAck(e Encoder, t Type, id ID, details Dict) {
	if details == nil {
		e.Array(2)
		e.Uint(uint64(t))
		e.Uint(uint64(id))
		return
	}
	encodeIDDict(e, t, id, details)
}

func encodePayload(e Encoder, p *Payload) {
	switch p.Elements() {
	case 2:
		e.Args(p)
		e.Kwargs(p)
	case 1:
		e.Args(p)
	}
}

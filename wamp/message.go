package wamp

import "strconv"

// Type is a WAMP message type code, the first element of every message.
type Type uint8

// Message type codes from the WAMP v2 specification.
const (
	TypeHello        Type = 1
	TypeWelcome      Type = 2
	TypeAbort        Type = 3
	TypeChallenge    Type = 4
	TypeAuthenticate Type = 5
	TypeGoodbye      Type = 6
	TypeError        Type = 8
	TypePublish      Type = 16
	TypePublished    Type = 17
	TypeSubscribe    Type = 32
	TypeSubscribed   Type = 33
	TypeUnsubscribe  Type = 34
	TypeUnsubscribed Type = 35
	TypeEvent        Type = 36
	TypeCall         Type = 48
	TypeCancel       Type = 49
	TypeResult       Type = 50
	TypeRegister     Type = 64
	TypeRegistered   Type = 65
	TypeUnregister   Type = 66
	TypeUnregistered Type = 67
	TypeInvocation   Type = 68
	TypeInterrupt    Type = 69
	TypeYield        Type = 70
)

var typeNames = [256]string{
	TypeHello: "HELLO", TypeWelcome: "WELCOME", TypeAbort: "ABORT",
	TypeChallenge: "CHALLENGE", TypeAuthenticate: "AUTHENTICATE",
	TypeGoodbye: "GOODBYE", TypeError: "ERROR", TypePublish: "PUBLISH",
	TypePublished: "PUBLISHED", TypeSubscribe: "SUBSCRIBE",
	TypeSubscribed: "SUBSCRIBED", TypeUnsubscribe: "UNSUBSCRIBE",
	TypeUnsubscribed: "UNSUBSCRIBED", TypeEvent: "EVENT", TypeCall: "CALL",
	TypeCancel: "CANCEL", TypeResult: "RESULT", TypeRegister: "REGISTER",
	TypeRegistered: "REGISTERED", TypeUnregister: "UNREGISTER",
	TypeUnregistered: "UNREGISTERED", TypeInvocation: "INVOCATION",
	TypeInterrupt: "INTERRUPT", TypeYield: "YIELD",
}

// String returns the specification's name of t, such as "PUBLISH".
func (t Type) String() string {
	if n := typeNames[t]; n != "" {
		return n
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// Known reports whether t is a message type of the specification.
func (t Type) Known() bool {
	return typeNames[t] != ""
}

// Message is one WAMP message. The concrete types are the pointer types
// *Hello, *Welcome, ... of this package.
type Message interface {
	// Type returns the message type code.
	Type() Type
}

// PayloadOf returns the payload of m and true if m's type carries
// application arguments (ERROR, PUBLISH, EVENT, CALL, RESULT, INVOCATION,
// YIELD), or nil and false.
func PayloadOf(m Message) (*Payload, bool) {
	switch m := m.(type) {
	case *ErrorMessage:
		return &m.Payload, true
	case *Publish:
		return &m.Payload, true
	case *Event:
		return &m.Payload, true
	case *Call:
		return &m.Payload, true
	case *Result:
		return &m.Payload, true
	case *Invocation:
		return &m.Payload, true
	case *Yield:
		return &m.Payload, true
	}
	return nil, false
}

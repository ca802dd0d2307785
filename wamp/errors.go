package wamp

import (
	"errors"
	"fmt"
	"strings"
)

// Standard URIs of the specification for errors, ABORT and GOODBYE reasons.
const (
	URIInvalidURI             URI = "wamp.error.invalid_uri"
	URINoSuchProcedure        URI = "wamp.error.no_such_procedure"
	URIProcedureAlreadyExists URI = "wamp.error.procedure_already_exists"
	URINoSuchRegistration     URI = "wamp.error.no_such_registration"
	URINoSuchSubscription     URI = "wamp.error.no_such_subscription"
	URIInvalidArgument        URI = "wamp.error.invalid_argument"
	URIProtocolViolation      URI = "wamp.error.protocol_violation"
	URINotAuthorized          URI = "wamp.error.not_authorized"
	URIAuthorizationFailed    URI = "wamp.error.authorization_failed"
	URIAuthenticationFailed   URI = "wamp.error.authentication_failed"
	URINoAuthMethod           URI = "wamp.error.no_auth_method"
	URINoSuchRealm            URI = "wamp.error.no_such_realm"
	URINoSuchRole             URI = "wamp.error.no_such_role"
	URINoSuchSession          URI = "wamp.error.no_such_session"
	URICanceled               URI = "wamp.error.canceled"
	URITimeout                URI = "wamp.error.timeout"
	URIOptionNotAllowed       URI = "wamp.error.option_not_allowed"
	URINoEligibleCallee       URI = "wamp.error.no_eligible_callee"
	URIDiscloseMeDisallowed   URI = "wamp.error.option_disallowed.disclose_me"
	URINetworkFailure         URI = "wamp.error.network_failure"
	URIUnavailable            URI = "wamp.error.unavailable"
	URINoAvailableCallee      URI = "wamp.error.no_available_callee"
	URIFeatureNotSupported    URI = "wamp.error.feature_not_supported"
	URIPayloadSizeExceeded    URI = "wamp.error.payload_size_exceeded"
	// URIInvocationPolicyConflict refuses a shared registration whose
	// invocation policy differs from the registration's.
	URIInvocationPolicyConflict URI = "wamp.error.procedure_exists_with_different_invocation_policy"

	URICloseNormal         URI = "wamp.close.normal"
	URICloseSystemShutdown URI = "wamp.close.system_shutdown"
	URICloseRealm          URI = "wamp.close.close_realm"
	URICloseGoodbyeAndOut  URI = "wamp.close.goodbye_and_out"
	URICloseKilled         URI = "wamp.close.killed"
)

// Error is an application or protocol error travelling over WAMP: an ERROR
// message's URI with its arguments, or an ABORT's reason. Is compares URIs,
// so errors.Is(err, wamp.ErrNoSuchProcedure) holds for any *Error with that
// URI, whichever side of the wire it was made on.
type Error struct {
	URI    URI
	Args   List
	Kwargs Dict
}

// Error returns the URI, followed by the first argument when it is a
// string (the usual human-readable message).
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.URI))
	if len(e.Args) > 0 {
		if s, ok := e.Args[0].(string); ok {
			b.WriteString(": ")
			b.WriteString(s)
		}
	} else if msg, ok := e.Kwargs["message"].(string); ok {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	return b.String()
}

// Is reports whether target is an *Error with the same URI.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.URI == e.URI
}

// NewError returns an *Error with the given URI and positional arguments.
func NewError(uri URI, args ...any) *Error {
	return &Error{URI: uri, Args: args}
}

// Sentinels for the standard error URIs, for use with errors.Is.
var (
	ErrInvalidURI             = &Error{URI: URIInvalidURI}
	ErrNoSuchProcedure        = &Error{URI: URINoSuchProcedure}
	ErrProcedureAlreadyExists = &Error{URI: URIProcedureAlreadyExists}
	ErrNoSuchRegistration     = &Error{URI: URINoSuchRegistration}
	ErrNoSuchSubscription     = &Error{URI: URINoSuchSubscription}
	ErrInvalidArgument        = &Error{URI: URIInvalidArgument}
	ErrProtocolViolation      = &Error{URI: URIProtocolViolation}
	ErrNotAuthorized          = &Error{URI: URINotAuthorized}
	ErrAuthenticationFailed   = &Error{URI: URIAuthenticationFailed}
	ErrNoAuthMethod           = &Error{URI: URINoAuthMethod}
	ErrNoSuchRole             = &Error{URI: URINoSuchRole}
	ErrDiscloseMeDisallowed   = &Error{URI: URIDiscloseMeDisallowed}
	ErrNoSuchRealm            = &Error{URI: URINoSuchRealm}
	ErrCanceled               = &Error{URI: URICanceled}
	ErrTimeout                = &Error{URI: URITimeout}
	ErrFeatureNotSupported    = &Error{URI: URIFeatureNotSupported}
	ErrNoSuchSession          = &Error{URI: URINoSuchSession}
	ErrSystemShutdown         = &Error{URI: URICloseSystemShutdown}
)

// ErrMalformed is wrapped by every *DecodeError.
var ErrMalformed = errors.New("wamp: malformed message")

// DecodeError describes a message that does not follow the specification.
// Type and Request are set when they could be read, so that a router can
// answer the request (with wamp.error.invalid_uri, for instance) instead of
// ending the session.
type DecodeError struct {
	Type    Type   // message type, 0 if unreadable
	Request ID     // request ID, 0 if unknown or not a request
	Index   int    // element index at fault, -1 for the whole message
	Field   string // element name, such as "Topic"
	Reason  string // what is wrong
	// InvalidURI is set when the message is well formed except for a URI
	// that breaks the specification's rules.
	InvalidURI bool
	// InvalidArgument is set when the message is well formed but a value
	// it carries, in its arguments or options, cannot be accepted: invalid
	// UTF-8, containers nested too deep, an unsupported extension type. A
	// router answers the request with wamp.error.invalid_argument.
	InvalidArgument bool
	// Unacknowledged is set for a PUBLISH that did not ask for
	// acknowledgement: the specification gives such a publisher no answer,
	// so a router only logs and counts the fault.
	Unacknowledged bool
}

// NewValueError returns the DecodeError of a message of type t whose
// element index holds an unacceptable value (see InvalidArgument). elems
// holds the elements decoded before it, from element 1 on, from which the
// request ID and a PUBLISH's acknowledge option are read when present.
func NewValueError(t Type, elems []any, index int, field, reason string) *DecodeError {
	e := &DecodeError{Type: t, Index: index, Field: field, Reason: reason, InvalidArgument: true}
	ri := 1
	if t == TypeError {
		ri = 2
	}
	if ri < index && ri-1 < len(elems) {
		if id, ok := AsID(elems[ri-1]); ok {
			e.Request = id
		}
	}
	e.Unacknowledged = unacknowledged(t, elems)
	return e
}

// unacknowledged reports whether elems are those of a PUBLISH without
// acknowledge (element 2 is its options).
func unacknowledged(t Type, elems []any) bool {
	if t != TypePublish {
		return false
	}
	if len(elems) < 2 {
		return true
	}
	opts, _ := elems[1].(Dict)
	ack, _ := opts["acknowledge"].(bool)
	return !ack
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("wamp: malformed ")
	if e.Type != 0 {
		b.WriteString(e.Type.String())
	} else {
		b.WriteString("message")
	}
	if e.Index >= 0 {
		fmt.Fprintf(&b, ": element %d", e.Index)
		if e.Field != "" {
			fmt.Fprintf(&b, " (%s)", e.Field)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns ErrMalformed.
func (e *DecodeError) Unwrap() error { return ErrMalformed }

package codec

import (
	"errors"
	"fmt"
	"time"
)

// MaxDepth is how deep containers (lists and dicts) may nest in one
// value: an args list holding lists that hold lists... at most MaxDepth
// levels, the args list itself included. Every serializer applies it when
// a message comes in, raw payloads included, so that whatever the router
// accepts from one peer it can send to any other: strict decoders stop
// far deeper (CBOR libraries commonly at 512, some at 32; this is why it
// is not higher). A message over it is refused with a *wamp.DecodeError
// whose InvalidArgument is set.
const MaxDepth = 64

// maxDepth bounds the encoder too, so that nothing is sent that peers
// could not decode.
const maxDepth = MaxDepth

// valueError is a value the router cannot accept in an otherwise
// well-formed message (invalid UTF-8, too deep, an unknown extension): the
// sender gets wamp.error.invalid_argument instead of losing its session.
type valueError struct{ reason string }

func (e *valueError) Error() string { return e.reason }

func badValue(format string, args ...any) error {
	return &valueError{reason: fmt.Sprintf(format, args...)}
}

func isValueError(err error) bool {
	var ve *valueError
	return errors.As(err, &ve)
}

var errTooDeep = &valueError{reason: fmt.Sprintf("containers nested deeper than %d levels", MaxDepth)}

var errInvalidUTF8 = &valueError{reason: "invalid UTF-8 in a string"}

// timestampString is how a timestamp that a client sent as a MessagePack
// extension or a CBOR tag reaches every peer: an RFC 3339 string in UTC
// with nanoseconds, as no serializer's plain types hold a time.
func timestampString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

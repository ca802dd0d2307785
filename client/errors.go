package client

import (
	"errors"

	"github.com/junction-run/junction/wamp"
)

// Errors returned by this package.
var (
	// ErrSessionClosed is returned by requests made on, or pending when,
	// a session that has ended for good.
	ErrSessionClosed = errors.New("client: session closed")
	// ErrConnectionLost wraps the transport error that ended a connection.
	// With reconnection on, requests pending on the lost connection fail
	// with it while the session carries on.
	ErrConnectionLost = errors.New("client: connection lost")
	// ErrReconnectFailed ends a session whose ReconnectConfig.MaxAttempts
	// were used up; it wraps the last attempt's error.
	ErrReconnectFailed = errors.New("client: reconnect failed")
	// ErrProtocol is returned when the router sends something the
	// protocol does not allow at that point (a CHALLENGE for a method
	// not offered, a reply of the wrong type).
	ErrProtocol = errors.New("client: protocol violation")
	// ErrInvalidConfig is returned by Join and Dial for a bad Config.
	ErrInvalidConfig = errors.New("client: invalid config")
	// ErrInvalidOptions is returned for bad per-call options (an unknown
	// CallOptions.CancelMode).
	ErrInvalidOptions = errors.New("client: invalid options")
	// ErrNoProgress is returned by Invocation.Progress when the caller did
	// not ask for progressive results.
	ErrNoProgress = errors.New("client: caller did not ask for progressive results")
	// ErrInvocationDone is returned by Invocation.Progress once the
	// invocation has been answered.
	ErrInvocationDone = errors.New("client: invocation already answered")
	// ErrStreamClosed is returned by CallStream.Send after Finish, or
	// once the call has ended.
	ErrStreamClosed = errors.New("client: call stream closed")
	// ErrMissingArgument is returned by the typed accessors of Values for
	// an argument that is absent.
	ErrMissingArgument = errors.New("client: missing argument")
	// ErrArgumentType is returned by the typed accessors of Values for an
	// argument of another type.
	ErrArgumentType = errors.New("client: argument has the wrong type")
)

// ErrRuntime is the WAMP error a callee returns when its handler fails
// with a plain Go error or panics: wamp.error.runtime_error. Compare with
// errors.Is.
var ErrRuntime = &wamp.Error{URI: uriRuntimeError}

const uriRuntimeError wamp.URI = "wamp.error.runtime_error"

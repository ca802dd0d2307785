package webhook

import "errors"

// ErrConfig wraps every configuration error; the message names the
// setting at fault by its yaml key ("hooks[1].url").
var ErrConfig = errors.New("webhook: invalid configuration")

// ErrStarted is returned by a second Start, ErrStopped by Start after
// Stop.
var (
	ErrStarted = errors.New("webhook: already started")
	ErrStopped = errors.New("webhook: stopped")
)

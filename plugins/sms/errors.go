package sms

import "errors"

// ErrNotPlugged is returned by Send before the plugin is plugged into an
// app.
var ErrNotPlugged = errors.New("sms: the plugin is not plugged into an app")

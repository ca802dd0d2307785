package email

import "errors"

var (
	// ErrNotPlugged is returned by Send before the plugin is plugged
	// into an app.
	ErrNotPlugged = errors.New("email: the plugin is not plugged into an app")
	// ErrNoSender is returned by Send for a message without From when
	// Config.From is empty too.
	ErrNoSender = errors.New("email: no sender: set Message.From or Config.From")
	// ErrNoSMTP is a send while Config.SMTP is empty.
	ErrNoSMTP = errors.New("email: no SMTP server to send through (Config.SMTP)")
)

package irc

import "errors"

var (
	// ErrNotConnected is a send tried while the bot is not connected
	// and registered: the queue tries it again later.
	ErrNotConnected = errors.New("irc: not connected")
	// ErrNoConfirmation is a send whose PING the server did not answer
	// in time: the message may or may not have arrived; it is tried
	// again.
	ErrNoConfirmation = errors.New("irc: the server did not confirm the message")
	// ErrNotPlugged is returned by Send before the plugin is plugged
	// into an app.
	ErrNotPlugged = errors.New("irc: the plugin is not plugged into an app")
)

package link

import (
	"errors"

	"github.com/junction-run/junction/wamp"
)

// Errors returned by this package.
var (
	// ErrInvalidConfig is wrapped by every error of New about its
	// Config; the message names the field at fault.
	ErrInvalidConfig = errors.New("link: invalid config")
	// ErrStopped is returned by Start on a link that was stopped.
	ErrStopped = errors.New("link: stopped")
)

// URILinkDown is the error a call of an imported procedure gets when the
// link cannot reach the other side: the leaf node connection is down, or
// nothing there serves the procedure (the peer does not export it, or
// its link or callee is gone). errors.Is(err, ErrLinkDown) tells it.
const URILinkDown wamp.URI = "junction.error.link_down"

// ErrLinkDown is the sentinel of URILinkDown, for errors.Is.
var ErrLinkDown = &wamp.Error{URI: URILinkDown}

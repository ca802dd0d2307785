package router

import "errors"

// Errors returned by the router.
var (
	// ErrStopped is returned when a session or realm is added to a router
	// that has been stopped.
	ErrStopped = errors.New("router: stopped")
	// ErrRealmExists is returned by AddRealm for a realm already served.
	ErrRealmExists = errors.New("router: realm exists")
	// ErrInvalidRealm is returned by AddRealm for a name that is not a
	// valid URI.
	ErrInvalidRealm = errors.New("router: invalid realm name")
	// ErrInvalidEventHistory is returned by New for a Config.EventHistory
	// rule with a bad topic, match policy, realm or limit.
	ErrInvalidEventHistory = errors.New("router: invalid event history rule")
	// ErrInvalidLimits is returned by New for a Config.Limits that cannot
	// be enforced: a message rate that is not a number or out of range,
	// or a negative burst.
	ErrInvalidLimits = errors.New("router: invalid limits")
)

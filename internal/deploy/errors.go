package deploy

import "errors"

var (
	// ErrUnknownKind is returned by Render for a kind it does not know;
	// the message lists the kinds.
	ErrUnknownKind = errors.New("deploy: unknown kind")
	// ErrBadTarget is returned by Render for a target that its kind does
	// not run on, or that does not exist.
	ErrBadTarget = errors.New("deploy: bad target")
	// ErrBadFacts is returned by Render for Facts that are incomplete,
	// inconsistent, or hold a value the file's syntax cannot carry.
	ErrBadFacts = errors.New("deploy: bad facts")
)

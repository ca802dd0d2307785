package client

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/junction-run/junction/wamp"
)

// chunkQueue bounds the chunks of a progressive invocation waiting for
// the handler's Next; past it the read loop waits.
const chunkQueue = 16

// Invocation is one call of a registered procedure. Its Values are the
// call's arguments or, for a progressive invocation, their first chunk:
// Next returns the others.
type Invocation struct {
	Request      wamp.ID
	Registration wamp.ID
	Details      wamp.Dict
	Values

	procedure wamp.URI // the registered URI
	c         *conn    // nil for an Invocation not made by a Session
	ctx       context.Context
	cancel    context.CancelCauseFunc
	ended     chan struct{} // closed once the handler has returned
	// chunks carries the following chunks of a progressive invocation,
	// closed after the last; nil for an ordinary one.
	chunks      chan Values
	interrupted atomic.Bool

	// lastSeen is set once the last chunk has come. Guarded by
	// Session.mu.
	lastSeen bool

	// mu orders progressive YIELDs before the final answer.
	mu       sync.Mutex
	answered bool
}

// Procedure returns the procedure that was called: for a prefix or
// wildcard registration, the concrete URI the dealer disclosed; otherwise
// the registered URI.
func (inv *Invocation) Procedure() wamp.URI {
	if p, ok := wamp.DictString(inv.Details, "procedure"); ok && p != "" {
		return wamp.URI(p)
	}
	return inv.procedure
}

// Caller returns the calling session's ID, or 0 if the dealer did not
// disclose it (see CallOptions.DiscloseMe and
// RegisterOptions.DiscloseCaller).
func (inv *Invocation) Caller() wamp.ID {
	id, _ := asID(inv.Details["caller"])
	return id
}

// CallerAuthID returns the caller's authid, or "" if it was not disclosed.
func (inv *Invocation) CallerAuthID() string {
	s, _ := wamp.DictString(inv.Details, "caller_authid")
	return s
}

// CallerAuthRole returns the caller's authrole, or "" if it was not
// disclosed.
func (inv *Invocation) CallerAuthRole() string {
	s, _ := wamp.DictString(inv.Details, "caller_authrole")
	return s
}

// WantsProgress reports whether the caller asked for progressive results
// (INVOCATION.Details.receive_progress), which Progress sends.
func (inv *Invocation) WantsProgress() bool {
	p, _ := wamp.DictBool(inv.Details, "receive_progress")
	return p
}

// Progress sends a progressive result to the caller (a YIELD with
// progress set); the handler's returned Result is the final one. It fails
// with ErrNoProgress if the caller did not ask for progressive results,
// with ErrInvocationDone once the handler has returned, and with the
// cause if ctx, or the invocation's own ctx, has ended. It is safe to call
// from several goroutines; results arrive in the order of the calls.
func (inv *Invocation) Progress(ctx context.Context, args wamp.List, kwargs wamp.Dict) error {
	if inv.c == nil || !inv.WantsProgress() {
		return ErrNoProgress
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.answered {
		return ErrInvocationDone
	}
	if err := inv.stopped(ctx); err != nil {
		return err
	}
	y := &wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	if err := inv.c.peer.Send(y); err != nil {
		return fmt.Errorf("client: send YIELD: %w", err)
	}
	return nil
}

// Next returns the next chunk of a progressive call invocation (one the
// caller sends with CallStream), the first being inv.Values. It waits for
// the chunk and returns io.EOF after the last one, at once for an
// ordinary invocation. It fails with the cause if ctx, or the
// invocation's own ctx, ends first. Chunks the handler does not read are
// dropped when it returns.
func (inv *Invocation) Next(ctx context.Context) (*Values, error) {
	if inv.chunks == nil {
		return nil, io.EOF
	}
	select {
	case v, ok := <-inv.chunks:
		if !ok {
			return nil, io.EOF
		}
		return &v, nil
	case <-ctx.Done():
	case <-inv.ctx.Done():
	}
	return nil, inv.stopped(ctx)
}

// stopped returns why the invocation's ctx has ended, its cause, or else
// why ctx has, or nil.
func (inv *Invocation) stopped(ctx context.Context) error {
	if inv.ctx.Err() != nil {
		return context.Cause(inv.ctx)
	}
	return ctx.Err()
}

package client

import (
	"context"
	"fmt"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// Result is what a call returns. A nil *Result returned by an
// InvocationHandler is an empty result.
type Result struct {
	Details wamp.Dict
	Values
}

// Progressive reports whether r is a progressive result, one handed to
// CallOptions.Progress, rather than the final one.
func (r *Result) Progressive() bool {
	p, _ := wamp.DictBool(r.Details, "progress")
	return p
}

// progressQueue bounds the progressive results waiting for a caller's
// Progress function; past it the read loop waits.
const progressQueue = 16

// timeoutGrace is how much longer than CallOptions.Timeout the client
// waits when the router enforces the timeout itself.
const timeoutGrace = time.Second

// Call calls procedure and waits for its result. The callee's or router's
// ERROR comes back as a *wamp.Error with its URI, Args and Kwargs:
// errors.Is(err, wamp.ErrTimeout) for a timeout enforced by the router,
// wamp.ErrCanceled for a call canceled there.
//
// If ctx ends first Call returns ctx.Err() at once and, if the router
// announces call_canceling, sends CANCEL with opts.CancelMode (see
// CancelMode for what the router and callee then do); whatever answer
// comes later is dropped. A reply already received is returned instead.
// While the session is reconnecting, Call waits for the connection.
func (s *Session) Call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, opts *CallOptions) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c, err := s.connFor(ctx, opts)
	if err != nil {
		return nil, err
	}
	id := s.seq.Next()
	m := &wamp.Call{Request: id, Options: opts.dict(), Procedure: procedure, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	req, err := s.begin(c, id, m, nil, opts.progress() != nil)
	if err != nil {
		return nil, err
	}
	return s.awaitCall(ctx, c, id, req, opts)
}

// connFor is current for a call: opts.Timeout bounds the wait too.
func (s *Session) connFor(ctx context.Context, opts *CallOptions) (*conn, error) {
	d := opts.timeout()
	if d == 0 {
		return s.current(ctx)
	}
	wait, cancel := context.WithTimeoutCause(ctx, d, timeoutError(d))
	defer cancel()
	c, err := s.current(wait)
	if err != nil && ctx.Err() == nil && wait.Err() != nil {
		err = context.Cause(wait)
	}
	return c, err
}

// timeoutError is the error of a call whose CallOptions.Timeout expired on
// the client's side: it matches context.DeadlineExceeded, as ctx's
// expiry would, and wamp.ErrTimeout, as the router's timeout does.
func timeoutError(d time.Duration) error {
	return fmt.Errorf("client: no result within %v: %w: %w", d, &wamp.Error{URI: wamp.URITimeout}, context.DeadlineExceeded)
}

// awaitCall waits for the outcome of call request id on c, handing its
// progressive results to opts.Progress on the way, and ends the call as
// Call documents if ctx ends or the timeout expires first.
func (s *Session) awaitCall(ctx context.Context, c *conn, id wamp.ID, req *request, opts *CallOptions) (*Result, error) {
	progress := opts.progress()
	var timer *time.Timer
	var expired <-chan time.Time
	d := opts.timeout()
	if d > 0 {
		wait := d
		if c.dealerHas("call_timeout") {
			wait += timeoutGrace
		}
		timer = time.NewTimer(wait)
		defer timer.Stop()
		expired = timer.C
		d = wait
	}
	for {
		select {
		case m := <-req.progress:
			s.deliverProgress(progress, m)
			if timer != nil {
				// The timeout runs from one result to the next.
				timer.Reset(d)
			}
		case r := <-req.ch:
			return s.finalResult(progress, req, r)
		case <-ctx.Done():
			return s.abandonCall(c, id, req, opts, ctx.Err())
		case <-expired:
			return s.abandonCall(c, id, req, opts, timeoutError(opts.timeout()))
		}
	}
}

// abandonCall gives up waiting for call request id, which is cancelled
// with cause, unless its outcome has already arrived.
func (s *Session) abandonCall(c *conn, id wamp.ID, req *request, opts *CallOptions, cause error) (*Result, error) {
	s.mu.Lock()
	_, waiting := c.pending[id]
	delete(c.pending, id)
	s.mu.Unlock()
	if !waiting {
		return s.finalResult(opts.progress(), req, <-req.ch)
	}
	if req.gone != nil {
		close(req.gone)
	}
	if c.dealerHas("call_canceling") {
		s.send(c, &wamp.Cancel{Request: id, Options: wamp.Dict{"mode": string(opts.cancelMode())}})
	}
	return nil, cause
}

// finalResult hands the progressive results still queued to progress,
// then returns the call's outcome r.
func (s *Session) finalResult(progress func(*Result), req *request, r reply) (*Result, error) {
	for done := false; !done; {
		select {
		case m := <-req.progress:
			s.deliverProgress(progress, m)
		default:
			done = true
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	res, ok := r.msg.(*wamp.Result)
	if !ok {
		return nil, unexpected(r.msg, wamp.TypeResult)
	}
	return decodeResult(res)
}

func (s *Session) deliverProgress(progress func(*Result), m *wamp.Result) {
	res, err := decodeResult(m)
	if err != nil {
		s.log.Warn("client: dropping progressive result", "request", m.Request, "error", err)
		return
	}
	progress(res)
}

func decodeResult(m *wamp.Result) (*Result, error) {
	args, kwargs, err := codec.Values(&m.Payload)
	if err != nil {
		return nil, fmt.Errorf("client: decode RESULT: %w", err)
	}
	return &Result{Details: m.Details, Values: Values{args, kwargs}}, nil
}

// progress hands a progressive RESULT to the call waiting for it, on c's
// read loop.
func (s *Session) progress(c *conn, m *wamp.Result) {
	s.mu.Lock()
	req := c.pending[m.Request]
	s.mu.Unlock()
	if req == nil || req.progress == nil {
		s.log.Debug("client: dropping progressive RESULT nobody asked for", "request", m.Request)
		return
	}
	select {
	case req.progress <- m:
	case <-req.gone:
	case <-c.ctx.Done():
	}
}

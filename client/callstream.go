package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/junction-run/junction/wamp"
)

// CallStream is a call whose arguments the caller sends in chunks
// (progressive call invocations), made by Session.CallStream: each Send
// sends one chunk, Finish the last one, then waits for the result. The
// callee reads them with Invocation.Next. The call may also return
// progressive results (CallOptions.Progress), while chunks are still
// being sent.
//
// Its methods are safe for concurrent use; chunks are sent in the order
// of the calls.
type CallStream struct {
	s         *Session
	ctx       context.Context
	procedure wamp.URI
	opts      *CallOptions

	mu       sync.Mutex
	c        *conn // nil until the first chunk is sent
	id       wamp.ID
	finished bool          // Finish was called
	done     chan struct{} // closed once the outcome is known
	res      *Result       // the outcome, set before done is closed
	err      error
}

// CallStream starts a call of procedure whose arguments are sent in
// chunks; nothing is sent until the first Send or Finish. ctx governs the
// whole call: if it ends before the result, the call is canceled as
// Call's is (opts.CancelMode), and Send and Finish return ctx.Err(). The
// stream must be finished, or ctx ended; otherwise the call stays open
// until the session ends. opts.Timeout runs from the first chunk; opts,
// frozen then, must not be modified afterwards.
//
// If the call ends before Finish, because the callee answered early, the
// remaining chunks are not sent: Send returns the call's error, or
// ErrStreamClosed, and Finish the outcome.
//
// Sending chunks needs a router announcing progressive_call_invocations
// (Send fails with a *wamp.Error wamp.error.feature_not_supported
// otherwise) and a callee supporting it (the router then answers the
// call with that error). With reconnection on, a stream started on a
// connection fails with it.
func (s *Session) CallStream(ctx context.Context, procedure wamp.URI, opts *CallOptions) (*CallStream, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		return nil, ErrSessionClosed
	}
	return &CallStream{s: s, ctx: ctx, procedure: procedure, opts: opts, done: make(chan struct{})}, nil
}

// Send sends a chunk of arguments (a CALL with progress set). It does not
// wait for the router: like any message, the chunk waits in the
// connection's bounded queue, and a sender that outpaces the connection
// for long ends it (transport.ErrSlowConsumer). The first chunk waits for
// a connection while the session reconnects.
//
// Send fails with the call's error if the call has already ended with
// one, with ErrStreamClosed if it ended with a result or after Finish, and
// with ctx.Err() once the stream's ctx has ended. If the first chunk
// cannot be sent, the stream ends with that error.
func (cs *CallStream) Send(args wamp.List, kwargs wamp.Dict) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.finished {
		return ErrStreamClosed
	}
	select {
	case <-cs.done:
		if cs.err != nil {
			return cs.err
		}
		return ErrStreamClosed
	default:
	}
	return cs.send(args, kwargs, false)
}

// Finish sends the last chunk of arguments, then waits for the call's
// result and returns it as Call does. If the call has already ended, it
// sends nothing and returns the outcome. Calling it again returns the
// same outcome.
func (cs *CallStream) Finish(args wamp.List, kwargs wamp.Dict) (*Result, error) {
	cs.mu.Lock()
	if !cs.finished {
		cs.finished = true
		select {
		case <-cs.done:
		default:
			// On failure the outcome follows: the stream's, or the
			// call's once the connection or ctx it failed with ends it.
			_ = cs.send(args, kwargs, true)
		}
	}
	cs.mu.Unlock()
	<-cs.done
	return cs.res, cs.err
}

// send sends a chunk, the first one starting the call. cs.mu must be held.
func (cs *CallStream) send(args wamp.List, kwargs wamp.Dict, last bool) error {
	payload := wamp.Payload{Args: args, Kwargs: kwargs}
	if cs.c != nil {
		if err := cs.ctx.Err(); err != nil {
			return err // the call is being canceled
		}
		options := wamp.Dict{}
		if !last {
			options["progress"] = true
		}
		m := &wamp.Call{Request: cs.id, Options: options, Procedure: cs.procedure, Payload: payload}
		if err := cs.c.peer.Send(m); err != nil {
			return fmt.Errorf("client: send CALL: %w", err)
		}
		return nil
	}
	if err := cs.start(payload, last); err != nil {
		cs.res, cs.err = nil, err
		close(cs.done)
		return err
	}
	return nil
}

// start sends the first chunk and starts waiting for the outcome.
func (cs *CallStream) start(payload wamp.Payload, last bool) error {
	s := cs.s
	if err := cs.ctx.Err(); err != nil {
		return err
	}
	c, err := s.connFor(cs.ctx, cs.opts)
	if err != nil {
		return err
	}
	if !last && !c.dealerHas("progressive_call_invocations") {
		// Sending it anyway would be a protocol violation.
		return wamp.NewError(wamp.URIFeatureNotSupported, "client: the router does not support progressive call invocations")
	}
	id := s.seq.Next()
	options := cs.opts.dict()
	if !last {
		options["progress"] = true
	}
	m := &wamp.Call{Request: id, Options: options, Procedure: cs.procedure, Payload: payload}
	req, err := s.begin(c, id, m, nil, cs.opts.progress() != nil)
	if err != nil {
		return err
	}
	cs.c, cs.id = c, id
	if !s.spawn(func() { cs.await(c, id, req) }) {
		return ErrSessionClosed
	}
	return nil
}

// await records the call's outcome, on a goroutine of the session's.
func (cs *CallStream) await(c *conn, id wamp.ID, req *request) {
	res, err := cs.s.awaitCall(cs.ctx, c, id, req, cs.opts)
	cs.mu.Lock()
	cs.res, cs.err = res, err
	close(cs.done) // under mu: no chunk is sent from now on
	early := !cs.finished
	cs.mu.Unlock()
	if early && cs.ctx.Err() == nil && c.ctx.Err() == nil && c.dealerHas("call_canceling") {
		// The callee answered before the last chunk. A chunk that
		// crossed its answer would start a new call at the router: this
		// CANCEL, which comes after it, ends such a call, and is ignored
		// otherwise.
		cs.s.send(c, &wamp.Cancel{Request: id, Options: wamp.Dict{"mode": string(CancelKillNoWait)}})
	}
}

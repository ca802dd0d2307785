package router

import (
	"context"
	"fmt"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// Internal calls: the router calling a procedure registered in a realm,
// as dynamic authenticators and authorizers need. The callee gets an
// ordinary INVOCATION; its YIELD or ERROR resolves a Go channel instead of
// going to a caller session. Such an invocation has no caller: its
// caller field is nil and its internal channel is set.

// reply delivers the final answer of a call, a RESULT or an ERROR: to the
// caller session, or to the channel of an internal call. Only the one
// who removed inv from the pending calls (see dealer.finish) replies, so
// the channel, buffered for one, never blocks.
func (inv *invocation) reply(m wamp.Message) { inv.replyFrom(nil, m) }

// replyFrom is reply for an answer routed from what from's reading
// goroutine read (see session.sendFrom).
func (inv *invocation) replyFrom(from *session, m wamp.Message) {
	if inv.internal != nil {
		inv.internal <- m
		return
	}
	inv.caller.sendFrom(from, m)
}

// callInternal calls procedure in the dealer's realm as the router itself
// and returns the callee's result.
//
// The callee is chosen as for any call (the best matching registration,
// then its invocation policy) and gets an INVOCATION whose details name
// the procedure for a pattern registration and disclose no caller: there
// is none. Progressive results are not asked for; only the final YIELD
// counts.
//
// It returns a *wamp.Error when the callee answers with ERROR, one with
// wamp.error.canceled when the callee leaves before answering, an error
// matching wamp.ErrNoSuchProcedure when nothing is registered, and an
// error wrapping ctx.Err() when ctx ends first, in which case the callee
// is sent INTERRUPT if it supports call canceling. It blocks until one of
// these, so it must be called without the dealer's lock, and never from
// the read loop of the procedure's callee (see invokeInternal). Safe for
// concurrent use.
func (d *dealer) callInternal(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	return d.invokeInternal(ctx, nil, procedure, args, kwargs)
}

// invokeInternal is callInternal for a call made on behalf of waiting, a
// session whose read loop blocks until the answer (nil if none): if the
// callee chosen is waiting itself, whose YIELD could then never be read,
// the call fails at once with wamp.error.no_available_callee; and the
// call is abandoned, with wamp.error.canceled, if waiting's connection
// ends first.
func (d *dealer) invokeInternal(ctx context.Context, waiting *session, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	answer := make(chan wamp.Message, 1)
	d.mu.Lock()
	reg := d.regs.best(procedure)
	var callee *session
	if reg != nil {
		callee = pick(reg)
	}
	if callee == nil {
		d.mu.Unlock()
		return nil, nil, wamp.NewError(wamp.URINoSuchProcedure, "no callee registered procedure "+string(procedure))
	}
	if callee == waiting {
		d.mu.Unlock()
		return nil, nil, wamp.NewError(wamp.URINoAvailableCallee,
			"procedure "+string(procedure)+" is served by the session the router calls it for")
	}
	inv := &invocation{id: d.realm.router.ids.Next(), callee: callee, reg: reg, internal: answer}
	if reg.match != wamp.MatchExact {
		inv.details = wamp.Dict{"procedure": string(procedure)}
	}
	d.pending[inv.id] = inv
	d.calls(callee).serving[inv.id] = inv
	d.mu.Unlock()

	if !callee.send(&wamp.Invocation{Request: inv.id, Registration: reg.id, Details: inv.details,
		Payload: wamp.Payload{Args: args, Kwargs: kwargs}}) {
		if d.finish(inv.id, nil) != nil {
			return nil, nil, wamp.NewError(wamp.URICanceled, "the callee of "+string(procedure)+" is gone")
		}
		// The callee's removal answered already.
	}

	var left <-chan struct{}
	if waiting != nil {
		left = waiting.peer.Done()
		// What its reader routed before this call goes out before the
		// wait: the answer may depend on it.
		waiting.batch().Flush()
	}
	select {
	case m := <-answer:
		return internalResult(procedure, m)
	case <-ctx.Done():
		d.abandon(inv, wamp.URITimeout)
		return nil, nil, fmt.Errorf("router: internal call of %s: %w", procedure, ctx.Err())
	case <-left:
		d.abandon(inv, wamp.URICanceled)
		return nil, nil, wamp.NewError(wamp.URICanceled, "the session the router called "+string(procedure)+" for left")
	}
}

// abandon forgets an internal call nobody waits for any more, and
// interrupts its callee if it takes INTERRUPT.
func (d *dealer) abandon(inv *invocation, reason wamp.URI) {
	if d.finish(inv.id, nil) == nil {
		return // answered meanwhile: the answer is dropped
	}
	if supportsCanceling(inv.callee) {
		inv.callee.send(&wamp.Interrupt{Request: inv.id,
			Options: wamp.Dict{"mode": cancelKillNoWait, "reason": string(reason)}})
	}
}

// internalResult turns the callee's answer into callInternal's results.
func internalResult(procedure wamp.URI, m wamp.Message) (wamp.List, wamp.Dict, error) {
	switch m := m.(type) {
	case *wamp.Result:
		args, kwargs, err := codec.Values(&m.Payload)
		if err != nil {
			return nil, nil, fmt.Errorf("router: internal call of %s: decode result: %w", procedure, err)
		}
		return args, kwargs, nil
	case *wamp.ErrorMessage:
		args, kwargs, err := codec.Values(&m.Payload)
		if err != nil {
			// The URI is what matters; arguments that cannot be read are
			// left out.
			args, kwargs = nil, nil
		}
		return nil, nil, &wamp.Error{URI: m.Error, Args: args, Kwargs: kwargs}
	}
	return nil, nil, fmt.Errorf("router: internal call of %s: unexpected answer %s", procedure, m.Type())
}

package link

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
	"github.com/nats-io/nats.go"
)

// Procedures. A call of an imported procedure is sent to the peer as a
// NATS request on jlink.<peer>.<name>.rpc.<procedure>, its body a WAMP
// CALL encoded in CBOR; the peer's link calls the procedure in its
// realm and answers with a RESULT or an ERROR, encoded the same way.
// Progressive results and invocations do not cross a link.

// maxConcurrentCalls bounds the calls a link serves for its peer at
// once; more wait for a slot (NATS keeps them pending meanwhile).
const maxConcurrentCalls = 256

// serveExportedProcedures subscribes to the calls of the peer, if the
// link exports procedures.
// The subscriptions are on the NATS connection, which outlives the
// local session: a call that comes while the link is not joined is
// answered with URILinkDown.
func (l *Link) serveExportedProcedures() error {
	slots := make(chan struct{}, maxConcurrentCalls)
	handler := func(msg *nats.Msg) {
		slots <- struct{}{}
		l.calls.Go(func() {
			defer func() { <-slots }()
			l.serveCall(msg)
		})
	}
	if len(l.lists.exportProcs) == 0 {
		return nil
	}
	// Every call the peer makes reaches serveCall, which refuses the
	// procedures not exported with wamp.error.no_such_procedure: so the
	// peer tells "not exported" from "link down" (no responders).
	// One queue group: several links of this deployment to the same
	// peer share the calls.
	subj := rpcSubjects(l.cfg.Name, l.cfg.Peer) + ".>"
	sub, err := l.nc.QueueSubscribe(subj, "jlink", handler)
	if err != nil {
		return fmt.Errorf("link: serve exported procedures on %s: %w", subj, err)
	}
	l.mu.Lock()
	l.subs = append(l.subs, sub)
	l.mu.Unlock()
	return l.nc.Flush()
}

// serveCall calls the procedure the peer asked for in the local realm
// and answers with its result or error.
func (l *Link) serveCall(msg *nats.Msg) {
	reply := func(m wamp.Message) {
		data, err := codec.Encode(codec.CBOR, m)
		if err != nil {
			data, _ = codec.Encode(codec.CBOR, errorMessage(wampError(fmt.Errorf("link: cannot encode the result: %w", err))))
		}
		if err := msg.Respond(data); err != nil {
			l.log.Debug("link: answer a call from the peer", "err", err)
		}
	}
	m, err := codec.DecodeResolved(codec.CBOR, msg.Data)
	call, ok := m.(*wamp.Call)
	if err != nil || !ok {
		reply(errorMessage(&wamp.Error{URI: wamp.URIInvalidArgument, Args: wamp.List{"link: malformed call from the peer"}}))
		return
	}
	if !anyMatches(l.lists.exportProcs, call.Procedure) {
		reply(errorMessage(&wamp.Error{URI: wamp.URINoSuchProcedure,
			Args: wamp.List{fmt.Sprintf("link %s does not export procedure %s", l.cfg.Name, call.Procedure)}}))
		return
	}
	sess := l.session()
	if sess == nil {
		reply(errorMessage(&wamp.Error{URI: URILinkDown,
			Args: wamp.List{fmt.Sprintf("link %s is not joined to its realm", l.cfg.Name)}}))
		return
	}
	timeout := l.cfg.CallTimeout
	if ms, ok := wamp.DictInt(call.Options, "timeout"); ok && ms > 0 {
		timeout = min(timeout, time.Duration(ms)*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := sess.Call(ctx, call.Procedure, call.Args, call.Kwargs, &client.CallOptions{Timeout: timeout})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = &wamp.Error{URI: wamp.URITimeout, Args: wamp.List{fmt.Sprintf("%s: no result within %v", call.Procedure, timeout)}}
		} else if errors.Is(err, client.ErrConnectionLost) || errors.Is(err, client.ErrSessionClosed) {
			err = &wamp.Error{URI: URILinkDown, Args: wamp.List{fmt.Sprintf("link %s lost its realm during the call: %v", l.cfg.Name, err)}}
		}
		reply(errorMessage(wampError(err)))
		return
	}
	reply(&wamp.Result{Request: 1, Details: wamp.Dict{}, Payload: wamp.Payload{Args: res.Args, Kwargs: res.Kwargs}})
}

func errorMessage(e *wamp.Error) *wamp.ErrorMessage {
	return &wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: 1, Details: wamp.Dict{}, Error: e.URI,
		Payload: wamp.Payload{Args: e.Args, Kwargs: e.Kwargs}}
}

// forwardCall is the handler of the imported procedures: it sends the
// call to the peer and returns its answer. When the peer cannot be
// reached it fails at once with URILinkDown; it never waits longer
// than Config.CallTimeout.
func (l *Link) forwardCall(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
	proc := inv.Procedure()
	if !anyMatches(l.lists.importProcs, proc) {
		// A WAMP prefix match that is not one by components.
		return nil, &wamp.Error{URI: wamp.URINoSuchProcedure, Args: wamp.List{"no callee registered procedure " + string(proc)}}
	}
	if l.srv != nil && !l.Up() {
		return nil, &wamp.Error{URI: URILinkDown,
			Args: wamp.List{fmt.Sprintf("%s: link %s cannot reach %s: the leaf node connection is down", proc, l.cfg.Name, l.cfg.Peer)}}
	}
	timeout := l.cfg.CallTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d))
	}
	data, err := codec.Encode(codec.CBOR, &wamp.Call{Request: 1, Procedure: proc,
		Options: wamp.Dict{"timeout": timeout.Milliseconds()}, Payload: wamp.Payload{Args: inv.Args, Kwargs: inv.Kwargs}})
	if err != nil {
		return nil, &wamp.Error{URI: wamp.URIInvalidArgument, Args: wamp.List{fmt.Sprintf("link: cannot forward the call: %v", err)}}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := l.nc.RequestWithContext(ctx, rpcSubjects(l.cfg.Peer, l.cfg.Name)+"."+subject(proc), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, &wamp.Error{URI: URILinkDown,
			Args: wamp.List{fmt.Sprintf("%s: link %s cannot reach %s: its link is down or exports no procedure", proc, l.cfg.Name, l.cfg.Peer)}}
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil && context.Cause(ctx) == context.DeadlineExceeded:
		return nil, &wamp.Error{URI: wamp.URITimeout, Args: wamp.List{fmt.Sprintf("%s: no answer from %s within %v", proc, l.cfg.Peer, timeout)}}
	case err != nil:
		return nil, err // the caller canceled, or the link is stopping
	}
	m, err := codec.DecodeResolved(codec.CBOR, resp.Data)
	switch r := m.(type) {
	case *wamp.Result:
		return &client.Result{Values: client.Values{Args: r.Args, Kwargs: r.Kwargs}}, nil
	case *wamp.ErrorMessage:
		return nil, &wamp.Error{URI: r.Error, Args: r.Args, Kwargs: r.Kwargs}
	}
	return nil, &wamp.Error{URI: client.ErrRuntime.URI, Args: wamp.List{fmt.Sprintf("link: malformed answer from %s: %v", l.cfg.Peer, err)}}
}

package client

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// Invocation is one call of a registered procedure.
type Invocation struct {
	Request      wamp.ID
	Registration wamp.ID
	Details      wamp.Dict
	Values
}

// Result is what a call returns. A nil *Result returned by an
// InvocationHandler is an empty result.
type Result struct {
	Details wamp.Dict
	Values
}

// InvocationHandler handles the invocations of a registered procedure.
// Each runs in its own goroutine, with a ctx cancelled when the router
// interrupts the call or the connection ends. A returned *wamp.Error
// (found with errors.As) goes back to the caller as it is; any other
// error, or a panic, becomes ErrRuntime.
type InvocationHandler func(ctx context.Context, inv *Invocation) (*Result, error)

// Registration is a procedure registered by Register. With reconnection
// on it is restored on each new connection.
type Registration struct {
	s         *Session
	procedure wamp.URI
	options   wamp.Dict
	handler   InvocationHandler

	// Guarded by Session.mu.
	id      wamp.ID // 0 while not registered on the current connection
	removed bool
}

// Register registers h as procedure. h must not be nil.
func (s *Session) Register(ctx context.Context, procedure wamp.URI, h InvocationHandler, opts *RegisterOptions) (*Registration, error) {
	if h == nil {
		panic("client: Register with a nil handler")
	}
	reg := &Registration{s: s, procedure: procedure, options: opts.dict(), handler: h}
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	id := s.seq.Next()
	m, err := s.roundTrip(ctx, c, id, reg.message(id), func(m wamp.Message) { s.registered(c, reg, m) })
	if err != nil {
		return nil, err
	}
	if _, ok := m.(*wamp.Registered); !ok {
		return nil, unexpected(m, wamp.TypeRegistered)
	}
	return reg, nil
}

func (reg *Registration) message(id wamp.ID) *wamp.Register {
	return &wamp.Register{Request: id, Options: reg.options, Procedure: reg.procedure}
}

// registered records a REGISTERED reply for reg, on c's read loop.
func (s *Session) registered(c *conn, reg *Registration, m wamp.Message) {
	ack, ok := m.(*wamp.Registered)
	if !ok {
		return
	}
	s.mu.Lock()
	if reg.removed {
		// Unregistered while being restored.
		s.mu.Unlock()
		s.send(c, &wamp.Unregister{Request: s.seq.Next(), Registration: ack.Registration})
		return
	}
	reg.id = ack.Registration
	s.regs[reg.id] = reg
	s.allRegs[reg] = struct{}{}
	s.mu.Unlock()
}

// ID returns the router's ID for the registration, which changes when the
// session reconnects; 0 while it is not in place.
func (reg *Registration) ID() wamp.ID {
	reg.s.mu.Lock()
	defer reg.s.mu.Unlock()
	return reg.id
}

// Unregister removes the registration. Invocations already running
// carry on. Calling it again does nothing.
func (reg *Registration) Unregister(ctx context.Context) error {
	s := reg.s
	s.mu.Lock()
	if reg.removed {
		s.mu.Unlock()
		return nil
	}
	reg.removed = true
	delete(s.allRegs, reg)
	id, c := reg.id, s.conn
	if id != 0 {
		delete(s.regs, id)
	}
	s.mu.Unlock()
	if id == 0 || c == nil {
		return nil
	}
	rid := s.seq.Next()
	m, err := s.roundTrip(ctx, c, rid, &wamp.Unregister{Request: rid, Registration: id}, nil)
	if err != nil {
		return err
	}
	if _, ok := m.(*wamp.Unregistered); !ok {
		return unexpected(m, wamp.TypeUnregistered)
	}
	return nil
}

// revokeRegistration handles an UNREGISTERED the router sent on its own.
func (s *Session) revokeRegistration(details wamp.Dict) {
	id, ok := wamp.AsID(details["registration"])
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if reg := s.regs[id]; reg != nil {
		reg.removed = true
		delete(s.allRegs, reg)
		delete(s.regs, id)
	}
	s.log.Info("client: registration revoked by router", "registration", id, "reason", details["reason"])
}

// Call calls procedure and waits for its result. The callee's or router's
// ERROR comes back as a *wamp.Error with its URI, Args and Kwargs. If ctx
// ends first Call returns ctx.Err() and drops the late result; it also
// sends CANCEL if the router supports call canceling. While the session
// is reconnecting, Call waits for the connection.
func (s *Session) Call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, opts *CallOptions) (*Result, error) {
	if opts != nil && opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	c, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	id := s.seq.Next()
	m := &wamp.Call{Request: id, Options: opts.dict(), Procedure: procedure, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	req, err := s.begin(c, id, m, nil)
	if err != nil {
		return nil, err
	}
	r, err := s.await(ctx, c, id, req)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) && c.canCancel {
			s.send(c, &wamp.Cancel{Request: id, Options: wamp.Dict{"mode": "killnowait"}})
		}
		return nil, err
	}
	res, ok := r.(*wamp.Result)
	if !ok {
		return nil, unexpected(r, wamp.TypeResult)
	}
	rargs, rkwargs, err := codec.Values(&res.Payload)
	if err != nil {
		return nil, fmt.Errorf("client: decode RESULT: %w", err)
	}
	return &Result{Details: res.Details, Values: Values{rargs, rkwargs}}, nil
}

// invoke starts the handler for an INVOCATION, on c's read loop.
func (s *Session) invoke(c *conn, m *wamp.Invocation) {
	s.mu.Lock()
	reg := s.regs[m.Registration]
	s.mu.Unlock()
	if reg == nil {
		s.send(c, invocationError(m.Request, wamp.ErrNoSuchRegistration))
		return
	}
	args, kwargs, err := codec.Values(&m.Payload)
	if err != nil {
		s.send(c, invocationError(m.Request, wamp.NewError(wamp.URIInvalidArgument, err.Error())))
		return
	}
	inv := &Invocation{Request: m.Request, Registration: m.Registration, Details: m.Details, Values: Values{args, kwargs}}
	ctx, cancel := context.WithCancel(c.ctx)
	s.mu.Lock()
	c.invocations[m.Request] = cancel
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		res, err := s.runInvocation(ctx, reg, inv)
		s.mu.Lock()
		delete(c.invocations, m.Request)
		s.mu.Unlock()
		cancel()
		if err != nil {
			s.send(c, invocationError(m.Request, err))
			return
		}
		y := &wamp.Yield{Request: m.Request, Options: wamp.Dict{}}
		if res != nil {
			y.Args, y.Kwargs = res.Args, res.Kwargs
		}
		s.send(c, y)
	}()
}

func (s *Session) runInvocation(ctx context.Context, reg *Registration, inv *Invocation) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("client: invocation handler panicked", "procedure", reg.procedure, "panic", r, "stack", string(debug.Stack()))
			res, err = nil, wamp.NewError(uriRuntimeError, "handler panicked")
		}
	}()
	return reg.handler(ctx, inv)
}

// interrupt cancels a running invocation's ctx.
func (s *Session) interrupt(c *conn, m *wamp.Interrupt) {
	s.mu.Lock()
	cancel := c.invocations[m.Request]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// invocationError is the ERROR answering INVOCATION request for err.
func invocationError(request wamp.ID, err error) *wamp.ErrorMessage {
	var we *wamp.Error
	switch {
	case errors.As(err, &we):
	case errors.Is(err, context.Canceled):
		we = &wamp.Error{URI: wamp.URICanceled}
	default:
		we = wamp.NewError(uriRuntimeError, err.Error())
	}
	return &wamp.ErrorMessage{
		RequestType: wamp.TypeInvocation,
		Request:     request,
		Details:     wamp.Dict{},
		Error:       we.URI,
		Payload:     wamp.Payload{Args: we.Args, Kwargs: we.Kwargs},
	}
}

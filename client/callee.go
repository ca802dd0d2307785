package client

import (
	"context"
	"errors"
	"runtime/debug"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// InvocationHandler handles the invocations of a registered procedure.
// Each runs in its own goroutine, with a ctx cancelled when the connection
// ends or the router interrupts the call (the caller canceled it, it
// timed out, the caller left); after an interrupt, context.Cause(ctx) is
// a *wamp.Error wamp.error.canceled.
//
// A returned *wamp.Error (found with errors.As) goes back to the caller as
// it is. Any other error, or a panic, becomes ErrRuntime, except after an
// interrupt: the handler is taken to have stopped because of it, and the
// error becomes wamp.error.canceled. A result returned after an interrupt
// is still sent: the router decides whether the caller gets it.
type InvocationHandler func(ctx context.Context, inv *Invocation) (*Result, error)

// Registration is a procedure registered by Register. With reconnection
// on it is restored, with its options, on each new connection.
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

// invoke handles an INVOCATION, on c's read loop: it starts a handler, or
// hands the next chunk of a progressive invocation to its handler.
func (s *Session) invoke(c *conn, m *wamp.Invocation) {
	progressive, _ := wamp.DictBool(m.Details, "progress")
	s.mu.Lock()
	if inv := c.invocations[m.Request]; inv != nil {
		last := inv.lastSeen
		inv.lastSeen = inv.lastSeen || !progressive
		s.mu.Unlock()
		if inv.chunks == nil || last {
			s.log.Debug("client: dropping INVOCATION for a running request", "request", m.Request)
			return
		}
		s.feed(c, inv, m, !progressive)
		return
	}
	if c.answered.has(m.Request) {
		// A late chunk of an invocation already answered.
		if !progressive {
			c.answered.remove(m.Request)
		}
		s.mu.Unlock()
		return
	}
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
	inv := &Invocation{
		Request:      m.Request,
		Registration: m.Registration,
		Details:      m.Details,
		Values:       Values{args, kwargs},
		procedure:    reg.procedure,
		c:            c,
		ended:        make(chan struct{}),
	}
	if progressive {
		inv.chunks = make(chan Values, chunkQueue)
	}
	inv.ctx, inv.cancel = context.WithCancelCause(c.ctx)
	s.mu.Lock()
	c.invocations[m.Request] = inv
	inv.lastSeen = !progressive
	s.mu.Unlock()
	s.wg.Add(1)
	s.workers.run(func() {
		defer s.wg.Done()
		s.serve(c, reg, inv)
	})
}

// serve runs reg's handler for inv and answers the invocation.
func (s *Session) serve(c *conn, reg *Registration, inv *Invocation) {
	res, err := s.runInvocation(inv.ctx, reg, inv)
	s.mu.Lock()
	delete(c.invocations, inv.Request)
	if !inv.lastSeen {
		c.answered.add(inv.Request)
	}
	s.mu.Unlock()
	interrupted := inv.interrupted.Load()
	inv.cancel(nil)
	close(inv.ended)

	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.answered = true
	if err != nil {
		var we *wamp.Error
		if interrupted && !errors.As(err, &we) {
			err = wamp.NewError(wamp.URICanceled, err.Error())
		}
		s.send(c, invocationError(inv.Request, err))
		return
	}
	y := &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}}
	if res != nil {
		y.Args, y.Kwargs = res.Args, res.Kwargs
	}
	s.send(c, y)
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

// feed hands the next chunk of a progressive invocation to its handler, on
// c's read loop. It waits while the handler's queue is full.
func (s *Session) feed(c *conn, inv *Invocation, m *wamp.Invocation, last bool) {
	args, kwargs, err := codec.Values(&m.Payload)
	if err != nil {
		// The handler cannot be told; it gets an empty chunk in its place.
		s.log.Warn("client: undecodable chunk of a progressive invocation", "request", m.Request, "error", err)
	}
	select {
	case inv.chunks <- Values{args, kwargs}:
	case <-inv.ended:
	case <-c.ctx.Done():
	}
	if last {
		close(inv.chunks)
	}
}

// interrupt cancels a running invocation's ctx.
func (s *Session) interrupt(c *conn, m *wamp.Interrupt) {
	s.mu.Lock()
	inv := c.invocations[m.Request]
	s.mu.Unlock()
	if inv == nil {
		return
	}
	msg := "client: call interrupted by the router"
	if reason, ok := wamp.DictString(m.Options, "reason"); ok && reason != "" {
		msg += " (" + reason + ")"
	}
	inv.interrupted.Store(true)
	inv.cancel(wamp.NewError(wamp.URICanceled, msg))
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

// tombstones is a bounded set of request IDs: past its size the oldest
// are forgotten.
type tombstones struct {
	set   map[wamp.ID]struct{}
	order []wamp.ID
}

const maxTombstones = 1024

func (t *tombstones) has(id wamp.ID) bool {
	_, ok := t.set[id]
	return ok
}

func (t *tombstones) add(id wamp.ID) {
	if t.set == nil {
		t.set = map[wamp.ID]struct{}{}
	}
	if len(t.order) >= maxTombstones {
		delete(t.set, t.order[0])
		t.order = t.order[1:]
	}
	t.set[id] = struct{}{}
	t.order = append(t.order, id)
}

func (t *tombstones) remove(id wamp.ID) {
	delete(t.set, id)
	// order keeps the ID until it ages out; deleting from the set is
	// what counts.
}

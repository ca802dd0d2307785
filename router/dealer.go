package router

import (
	"sync"

	"github.com/junction-run/junction/wamp"
)

// dealer routes calls of one realm.
type dealer struct {
	realm *realm

	mu    sync.Mutex
	procs map[wamp.URI]*registration
	byID  map[wamp.ID]*registration
	// pending maps the router's INVOCATION request IDs to their calls.
	pending map[wamp.ID]*invocation
	// bySession lists what each session registered or waits for, so that
	// a leaving session is cleaned up without scanning everything.
	bySession map[*session]*sessionCalls
}

type registration struct {
	id        wamp.ID
	procedure wamp.URI
	callee    *session
}

type invocation struct {
	id          wamp.ID
	caller      *session
	callRequest wamp.ID
	callee      *session
}

type sessionCalls struct {
	regs    map[wamp.ID]*registration
	calling map[wamp.ID]*invocation // invocations this session is the caller of
	serving map[wamp.ID]*invocation // invocations this session is the callee of
}

func newDealer(rl *realm) *dealer {
	return &dealer{
		realm:     rl,
		procs:     make(map[wamp.URI]*registration),
		byID:      make(map[wamp.ID]*registration),
		pending:   make(map[wamp.ID]*invocation),
		bySession: make(map[*session]*sessionCalls),
	}
}

// calls returns s's bookkeeping, creating it. d.mu must be held.
func (d *dealer) calls(s *session) *sessionCalls {
	sc := d.bySession[s]
	if sc == nil {
		sc = &sessionCalls{
			regs:    make(map[wamp.ID]*registration),
			calling: make(map[wamp.ID]*invocation),
			serving: make(map[wamp.ID]*invocation),
		}
		d.bySession[s] = sc
	}
	return sc
}

func (d *dealer) register(s *session, m *wamp.Register) {
	if p, _ := wamp.DictString(m.Options, "match"); p != "" && p != string(wamp.MatchExact) {
		s.send(requestError(m.Request, wamp.TypeRegister, wamp.URIOptionNotAllowed,
			"pattern-based registrations are not supported"))
		return
	}
	if p, _ := wamp.DictString(m.Options, "invoke"); p != "" && p != "single" {
		s.send(requestError(m.Request, wamp.TypeRegister, wamp.URIOptionNotAllowed,
			"shared registrations are not supported"))
		return
	}
	if d.realm.router.cfg.StrictURIs && !m.Procedure.Valid(true) {
		s.send(requestError(m.Request, wamp.TypeRegister, wamp.URIInvalidURI, "procedure breaks the strict URI rules"))
		return
	}
	d.mu.Lock()
	if _, taken := d.procs[m.Procedure]; taken {
		d.mu.Unlock()
		s.send(requestError(m.Request, wamp.TypeRegister, wamp.URIProcedureAlreadyExists,
			"procedure "+string(m.Procedure)+" is already registered"))
		return
	}
	reg := &registration{id: d.realm.router.ids.Next(), procedure: m.Procedure, callee: s}
	d.procs[m.Procedure] = reg
	d.byID[reg.id] = reg
	d.calls(s).regs[reg.id] = reg
	d.mu.Unlock()
	s.send(&wamp.Registered{Request: m.Request, Registration: reg.id})
}

func (d *dealer) unregister(s *session, m *wamp.Unregister) {
	d.mu.Lock()
	reg := d.byID[m.Registration]
	if reg == nil || reg.callee != s {
		d.mu.Unlock()
		s.send(requestError(m.Request, wamp.TypeUnregister, wamp.URINoSuchRegistration,
			"no such registration for this session"))
		return
	}
	d.dropRegistration(reg)
	d.mu.Unlock()
	s.send(&wamp.Unregistered{Request: m.Request})
}

// dropRegistration forgets reg. d.mu must be held.
func (d *dealer) dropRegistration(reg *registration) {
	delete(d.procs, reg.procedure)
	delete(d.byID, reg.id)
	if sc := d.bySession[reg.callee]; sc != nil {
		delete(sc.regs, reg.id)
	}
}

func (d *dealer) call(s *session, m *wamp.Call) {
	if d.realm.router.cfg.StrictURIs && !m.Procedure.Valid(true) {
		s.send(requestError(m.Request, wamp.TypeCall, wamp.URIInvalidURI, "procedure breaks the strict URI rules"))
		return
	}
	d.mu.Lock()
	reg := d.procs[m.Procedure]
	if reg == nil {
		d.mu.Unlock()
		s.send(requestError(m.Request, wamp.TypeCall, wamp.URINoSuchProcedure,
			"no callee registered procedure "+string(m.Procedure)))
		return
	}
	inv := &invocation{id: d.realm.router.ids.Next(), caller: s, callRequest: m.Request, callee: reg.callee}
	d.pending[inv.id] = inv
	d.calls(s).calling[inv.id] = inv
	d.calls(reg.callee).serving[inv.id] = inv
	d.mu.Unlock()
	if !reg.callee.send(&wamp.Invocation{Request: inv.id, Registration: reg.id, Payload: m.Payload}) {
		if d.finish(inv.id, nil) != nil {
			s.send(requestError(m.Request, wamp.TypeCall, wamp.URICanceled, "the callee is gone"))
		}
	}
}

// finish removes a pending invocation and returns it, or nil if it is not
// pending or callee is set and is not its callee.
func (d *dealer) finish(id wamp.ID, callee *session) *invocation {
	d.mu.Lock()
	defer d.mu.Unlock()
	inv := d.pending[id]
	if inv == nil || callee != nil && inv.callee != callee {
		return nil
	}
	d.forget(inv)
	return inv
}

// forget removes inv from every index. d.mu must be held.
func (d *dealer) forget(inv *invocation) {
	delete(d.pending, inv.id)
	if sc := d.bySession[inv.caller]; sc != nil {
		delete(sc.calling, inv.id)
	}
	if sc := d.bySession[inv.callee]; sc != nil {
		delete(sc.serving, inv.id)
	}
}

func (d *dealer) yield(s *session, m *wamp.Yield) {
	inv := d.finish(m.Request, s)
	if inv == nil {
		// The caller left, or a late YIELD: nothing waits for it.
		return
	}
	inv.caller.send(&wamp.Result{Request: inv.callRequest, Payload: m.Payload})
}

func (d *dealer) calleeError(s *session, m *wamp.ErrorMessage) {
	inv := d.finish(m.Request, s)
	if inv == nil {
		return
	}
	inv.caller.send(&wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: inv.callRequest,
		Details: m.Details, Error: m.Error, Payload: m.Payload})
}

// removeSession drops s's registrations, answers the callers of the calls
// it was serving with wamp.error.canceled, and forgets its own calls.
func (d *dealer) removeSession(s *session) {
	d.mu.Lock()
	sc := d.bySession[s]
	if sc == nil {
		d.mu.Unlock()
		return
	}
	for _, reg := range sc.regs {
		d.dropRegistration(reg)
	}
	var orphaned []*invocation
	for _, inv := range sc.serving {
		orphaned = append(orphaned, inv)
		d.forget(inv)
	}
	for _, inv := range sc.calling {
		d.forget(inv)
	}
	delete(d.bySession, s)
	d.mu.Unlock()
	for _, inv := range orphaned {
		inv.caller.send(requestError(inv.callRequest, wamp.TypeCall, wamp.URICanceled,
			"the callee left before answering"))
	}
}

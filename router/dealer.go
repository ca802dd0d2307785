package router

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/junction-run/junction/wamp"
)

// dealer routes calls of one realm.
//
// A registration is an entry of regs whose members are its callees, in
// the order they registered: one for the default "single" policy, any
// number for a shared registration. A call is routed to the best matching
// registration (exact, then longest prefix, then wildcard), and to one of
// its callees by the registration's invocation policy.
type dealer struct {
	realm *realm

	mu   sync.Mutex
	regs *uriIndex
	// pending maps the router's INVOCATION request IDs to their calls.
	pending map[wamp.ID]*invocation
	// bySession lists what each session registered or waits for, so that
	// a leaving session is cleaned up without scanning everything.
	bySession map[*session]*sessionCalls
}

// Invocation policies of shared registrations.
const (
	invokeSingle     = "single"
	invokeRoundRobin = "roundrobin"
	invokeRandom     = "random"
	invokeFirst      = "first"
	invokeLast       = "last"
)

// Cancel modes.
const (
	cancelSkip       = "skip"
	cancelKill       = "kill"
	cancelKillNoWait = "killnowait"
)

// invocation is a call in flight. Its fields are guarded by dealer.mu.
type invocation struct {
	id          wamp.ID // INVOCATION.Request, the same for every chunk
	caller      *session
	callRequest wamp.ID
	callee      *session
	reg         *entry
	// details are the INVOCATION details of the first chunk; later chunks
	// of a progressive call repeat them, as the specification freezes
	// the options of the initiating CALL.
	details wamp.Dict
	// progress: the caller asked for progressive results and the callee
	// can send them.
	progress bool
	// streaming: a progressive call whose final chunk has not come yet.
	streaming bool
	// interrupted: canceled in kill mode; the callee's answer, whatever it
	// is, ends the call.
	interrupted bool
	// timeout is the CALL's timeout, if any; timer fires it. Each
	// progressive result restarts it: with progressive results the
	// timeout bounds the wait for the first result and between results.
	timeout time.Duration
	timer   *time.Timer
	// internal receives the answer of a call the router makes itself
	// (see internal_call.go); caller is then nil.
	internal chan wamp.Message
}

type sessionCalls struct {
	regs map[wamp.ID]*entry
	// discloseCaller holds the registrations this session made with
	// disclose_caller set.
	discloseCaller map[wamp.ID]bool
	calling        map[wamp.ID]*invocation // by the caller's CALL request ID
	serving        map[wamp.ID]*invocation // by INVOCATION request ID
	// ended holds the request IDs of this caller's progressive calls that
	// ended (answered, canceled, timed out) before their final chunk: the
	// chunks still on their way are dropped rather than taken for new
	// calls. The final chunk clears the entry; at most maxEndedStreams
	// are remembered.
	ended map[wamp.ID]struct{}
}

// maxEndedStreams bounds sessionCalls.ended.
const maxEndedStreams = 64

func newDealer(rl *realm) *dealer {
	return &dealer{
		realm:     rl,
		regs:      newURIIndex(),
		pending:   make(map[wamp.ID]*invocation),
		bySession: make(map[*session]*sessionCalls),
	}
}

// calls returns s's bookkeeping, creating it. d.mu must be held.
func (d *dealer) calls(s *session) *sessionCalls {
	sc := d.bySession[s]
	if sc == nil {
		sc = &sessionCalls{
			regs:           make(map[wamp.ID]*entry),
			discloseCaller: make(map[wamp.ID]bool),
			calling:        make(map[wamp.ID]*invocation),
			serving:        make(map[wamp.ID]*invocation),
			ended:          make(map[wamp.ID]struct{}),
		}
		d.bySession[s] = sc
	}
	return sc
}

func (d *dealer) register(s *session, m *wamp.Register) {
	fail := func(uri wamp.URI, msg string) {
		s.send(requestError(m.Request, wamp.TypeRegister, uri, msg))
	}
	match, ok := matchPolicy(m.Options)
	if !ok {
		fail(wamp.URIInvalidArgument, `match must be "exact", "prefix" or "wildcard"`)
		return
	}
	invoke := invokeSingle
	if v, present := m.Options["invoke"]; present {
		invoke, _ = v.(string)
		switch invoke {
		case invokeSingle, invokeRoundRobin, invokeRandom, invokeFirst, invokeLast:
		default:
			fail(wamp.URIInvalidArgument, `invoke must be "single", "roundrobin", "random", "first" or "last"`)
			return
		}
	}
	if !m.Procedure.ValidPattern(d.realm.router.cfg.StrictURIs, match) {
		fail(wamp.URIInvalidURI, "procedure is not a valid URI for this match policy")
		return
	}
	if reservedURI(m.Procedure) {
		fail(wamp.URIInvalidURI, "procedures under wamp. are the router's own")
		return
	}
	if az := d.realm.authz; az != nil && !az.register(s, m, match) {
		return
	}
	disclose, _ := wamp.DictBool(m.Options, "disclose_caller")
	if !d.allowRegister(s, m) {
		return
	}

	d.mu.Lock()
	reg := d.regs.lookup(m.Procedure, match)
	created := reg == nil
	switch {
	case created:
		reg = newEntry(d.realm.router.ids.Next(), m.Procedure, match, time.Now())
		reg.invoke = invoke
		d.regs.add(reg)
	case reg.has(s) || reg.invoke == invokeSingle:
		d.mu.Unlock()
		fail(wamp.URIProcedureAlreadyExists, "procedure "+string(m.Procedure)+" is already registered")
		return
	case reg.invoke != invoke:
		d.mu.Unlock()
		fail(wamp.URIInvocationPolicyConflict,
			"procedure "+string(m.Procedure)+" is registered with invocation policy "+reg.invoke)
		return
	}
	reg.attach(s)
	sc := d.calls(s)
	sc.regs[reg.id] = reg
	if disclose {
		sc.discloseCaller[reg.id] = true
	}
	d.mu.Unlock()
	s.send(&wamp.Registered{Request: m.Request, Registration: reg.id})
	d.realm.router.clusterDelta(regOp("reg", s, reg, disclose))
	if created {
		d.realm.entryEvent("registration", "on_create", s, reg)
	}
	d.realm.entryEvent("registration", "on_register", s, reg)
}

func (d *dealer) unregister(s *session, m *wamp.Unregister) {
	d.mu.Lock()
	var reg *entry
	if sc := d.bySession[s]; sc != nil {
		reg = sc.regs[m.Registration]
	}
	if reg == nil {
		d.mu.Unlock()
		s.send(requestError(m.Request, wamp.TypeUnregister, wamp.URINoSuchRegistration,
			"no such registration for this session"))
		return
	}
	deleted := d.detach(s, reg)
	d.mu.Unlock()
	s.send(&wamp.Unregistered{Request: m.Request})
	d.realm.router.clusterDelta(regOp("unreg", s, reg, false))
	d.detached(s, reg, deleted)
}

// detach removes callee s from reg, and reg when it has no callee left,
// which it reports. d.mu must be held.
func (d *dealer) detach(s *session, reg *entry) (deleted bool) {
	if sc := d.bySession[s]; sc != nil {
		delete(sc.regs, reg.id)
		delete(sc.discloseCaller, reg.id)
	}
	if reg.detach(s) == 0 {
		d.regs.remove(reg)
		return true
	}
	return false
}

// detached announces what detach did. d.mu must not be held.
func (d *dealer) detached(s *session, reg *entry, deleted bool) {
	d.realm.entryEvent("registration", "on_unregister", s, reg)
	if deleted {
		d.realm.entryEvent("registration", "on_delete", s, reg)
	}
}

// pick chooses the callee of a call by the registration's invocation
// policy. It returns nil if the registration has no callee left.
func pick(reg *entry) *session {
	callees := reg.sessions()
	n := len(callees)
	if n == 0 {
		return nil
	}
	switch reg.invoke {
	case invokeRoundRobin:
		return callees[(reg.next.Add(1)-1)%uint64(n)]
	case invokeRandom:
		return callees[rand.IntN(n)]
	case invokeLast:
		return callees[n-1]
	default: // single, first
		return callees[0]
	}
}

// callOptions are the CALL options the dealer acts on.
type callOptions struct {
	receiveProgress bool
	progress        bool // a chunk of a progressive call, more to come
	discloseMe      bool
	timeout         time.Duration
}

func parseCallOptions(o wamp.Dict) (callOptions, bool) {
	var c callOptions
	c.receiveProgress, _ = wamp.DictBool(o, "receive_progress")
	c.progress, _ = wamp.DictBool(o, "progress")
	c.discloseMe, _ = wamp.DictBool(o, "disclose_me")
	if v, present := o["timeout"]; present {
		ms, ok := wamp.AsInt64(v)
		if !ok || ms < 0 {
			return c, false
		}
		c.timeout = time.Duration(ms) * time.Millisecond
	}
	return c, true
}

// supportsCanceling reports whether a callee takes INTERRUPT (announced
// as call_canceling, or call_cancelling as the specification also spells
// it).
func supportsCanceling(s *session) bool {
	return s.supports(calleeCallCanceling)
}

func (d *dealer) call(s *session, m *wamp.Call) {
	// Meta procedures are authorized like any other.
	var forceDisclose bool
	if az := d.realm.authz; az != nil && !az.call(s, m, &forceDisclose) {
		return
	}
	if d.realm.callMeta(s, m) {
		return
	}
	fail := func(uri wamp.URI, msg string) {
		s.send(requestError(m.Request, wamp.TypeCall, uri, msg))
	}
	if d.realm.router.cfg.StrictURIs && !m.Procedure.Valid(true) {
		fail(wamp.URIInvalidURI, "procedure breaks the strict URI rules")
		return
	}
	opts, ok := parseCallOptions(m.Options)
	if !ok {
		fail(wamp.URIInvalidArgument, "timeout must be a non-negative integer of milliseconds")
		return
	}
	if opts.progress && !s.supports(callerProgressiveCallInvocations) {
		s.violation("CALL with progress from a caller that did not announce progressive_call_invocations")
		return
	}

	d.mu.Lock()
	if inv := d.inFlight(s, m.Request); inv != nil {
		// The same request ID again: the next chunk of a progressive call.
		if !inv.streaming {
			d.mu.Unlock()
			s.violation("CALL reuses the request ID of a call in flight")
			return
		}
		inv.streaming = opts.progress
		details := inv.details
		if opts.progress {
			details = withProgress(inv.details)
		}
		callee, id, regID := inv.callee, inv.id, inv.reg.id
		d.mu.Unlock()
		callee.sendFrom(s, &wamp.Invocation{Request: id, Registration: regID, Details: details, Payload: m.Payload})
		return
	}
	if d.endedChunk(s, m.Request, opts.progress) {
		d.mu.Unlock()
		return
	}
	reg := d.regs.best(m.Procedure)
	var callee *session
	if reg != nil {
		callee = pick(reg)
	}
	if callee == nil {
		d.mu.Unlock()
		fail(wamp.URINoSuchProcedure, "no callee registered procedure "+string(m.Procedure))
		return
	}
	if opts.progress && !(callee.supports(calleeProgressiveCallInvocations) && supportsCanceling(callee)) {
		d.mu.Unlock()
		fail(wamp.URIFeatureNotSupported, "the callee does not support progressive call invocations")
		return
	}
	inv := &invocation{
		id: d.realm.router.ids.Next(), caller: s, callRequest: m.Request, callee: callee, reg: reg,
		// The specification: a Callee that supports progressive results
		// but not call canceling is considered by the Dealer not to
		// support progressive results (a caller must be able to cancel a
		// stream it no longer wants).
		progress:  opts.receiveProgress && callee.supports(calleeProgressiveCallResults) && supportsCanceling(callee),
		streaming: opts.progress, timeout: opts.timeout,
	}
	inv.details = d.invocationDetails(s, m.Procedure, reg, callee, inv.progress, opts.discloseMe || forceDisclose)
	details := inv.details
	if opts.progress {
		details = withProgress(details)
	}
	if !d.start(inv, details, m.Payload) {
		fail(wamp.URICanceled, "the callee is gone")
	}
}

// endedChunk reports whether request is a chunk of a progressive call
// of s's that has already ended (answered, canceled, timed out), which
// is dropped rather than taken for a new call; the final chunk forgets
// the call. d.mu must be held.
func (d *dealer) endedChunk(s *session, request wamp.ID, progress bool) bool {
	sc := d.bySession[s]
	if sc == nil {
		return false
	}
	if _, late := sc.ended[request]; !late {
		return false
	}
	if !progress {
		delete(sc.ended, request)
	}
	return true
}

// start makes inv pending, arms its timeout and sends its first
// INVOCATION with details. d.mu must be held; start releases it. It
// reports false when the callee is gone before the call reached it and
// the caller has still to be told.
func (d *dealer) start(inv *invocation, details wamp.Dict, payload wamp.Payload) bool {
	d.pending[inv.id] = inv
	d.calls(inv.caller).calling[inv.callRequest] = inv
	d.calls(inv.callee).serving[inv.id] = inv
	if inv.timeout > 0 {
		inv.timer = time.AfterFunc(inv.timeout, func() { d.expire(inv) })
	}
	d.mu.Unlock()
	if inv.callee.sendFrom(inv.caller, &wamp.Invocation{Request: inv.id, Registration: inv.reg.id, Details: details, Payload: payload}) {
		return true
	}
	// Unless the callee's removal answered the caller meanwhile.
	return d.finish(inv.id, nil) == nil
}

// inFlight returns the call s made with this request ID, if it is still
// pending. d.mu must be held.
func (d *dealer) inFlight(s *session, request wamp.ID) *invocation {
	if sc := d.bySession[s]; sc != nil {
		return sc.calling[request]
	}
	return nil
}

// invocationDetails builds the INVOCATION details of a call. d.mu must be
// held (it reads the callee's disclose_caller choice).
func (d *dealer) invocationDetails(caller *session, procedure wamp.URI, reg *entry, callee *session, progress, discloseMe bool) wamp.Dict {
	disclose := discloseMe || d.bySession[callee] != nil && d.bySession[callee].discloseCaller[reg.id]
	if reg.match == wamp.MatchExact && !progress && !disclose {
		return nil // the common case costs no allocation
	}
	details := wamp.Dict{}
	if reg.match != wamp.MatchExact {
		details["procedure"] = string(procedure)
	}
	if progress {
		details["receive_progress"] = true
	}
	if disclose {
		details["caller"] = caller.id
		details["caller_authid"] = caller.authid
		details["caller_authrole"] = caller.authrole
	}
	return details
}

// withProgress returns a copy of details with progress set: the details
// are shared by the chunks of a call and must not change once sent.
func withProgress(details wamp.Dict) wamp.Dict {
	d := make(wamp.Dict, len(details)+1)
	for k, v := range details {
		d[k] = v
	}
	d["progress"] = true
	return d
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

// forget removes inv from every index and stops its timer. d.mu must be
// held.
func (d *dealer) forget(inv *invocation) {
	delete(d.pending, inv.id)
	if sc := d.bySession[inv.caller]; sc != nil && sc.calling[inv.callRequest] == inv {
		delete(sc.calling, inv.callRequest)
		if inv.streaming && len(sc.ended) < maxEndedStreams {
			sc.ended[inv.callRequest] = struct{}{}
		}
	}
	if sc := d.bySession[inv.callee]; sc != nil {
		delete(sc.serving, inv.id)
	}
	if inv.timer != nil {
		inv.timer.Stop()
	}
}

func (d *dealer) yield(s *session, m *wamp.Yield) {
	if progress, _ := wamp.DictBool(m.Options, "progress"); progress {
		d.mu.Lock()
		inv := d.pending[m.Request]
		forward := inv != nil && inv.callee == s && inv.progress && !inv.interrupted
		if forward && inv.timer != nil {
			inv.timer.Reset(inv.timeout)
		}
		d.mu.Unlock()
		// A progressive result the caller did not ask for, or one for a
		// call being canceled, is dropped.
		if forward {
			inv.caller.sendFrom(s, &wamp.Result{Request: inv.callRequest, Details: wamp.Dict{"progress": true}, Payload: m.Payload})
		}
		return
	}
	inv := d.finish(m.Request, s)
	if inv == nil {
		// The caller left, the call was canceled or timed out, or a late
		// YIELD: nothing waits for it.
		return
	}
	inv.replyFrom(s, &wamp.Result{Request: inv.callRequest, Payload: m.Payload})
}

func (d *dealer) calleeError(s *session, m *wamp.ErrorMessage) {
	inv := d.finish(m.Request, s)
	if inv == nil {
		return
	}
	inv.replyFrom(s, &wamp.ErrorMessage{RequestType: wamp.TypeCall, Request: inv.callRequest,
		Details: m.Details, Error: m.Error, Payload: m.Payload})
}

// cancel handles CANCEL from a caller. In skip mode the caller gets its
// ERROR at once and the callee is left alone; in killnowait mode the
// callee is interrupted too; in kill mode (the default) the callee is
// interrupted and its answer, RESULT or ERROR, ends the call. A callee
// that did not announce call_canceling is always skipped.
func (d *dealer) cancel(s *session, m *wamp.Cancel) {
	mode := cancelKill
	if v, present := m.Options["mode"]; present {
		mode, _ = v.(string)
		switch mode {
		case cancelSkip, cancelKill, cancelKillNoWait:
		default:
			s.violation(`CANCEL mode must be "skip", "kill" or "killnowait"`)
			return
		}
	}
	d.mu.Lock()
	inv := d.inFlight(s, m.Request)
	if inv == nil || inv.interrupted {
		// Already answered, or already being killed.
		d.mu.Unlock()
		return
	}
	if !supportsCanceling(inv.callee) {
		mode = cancelSkip
	}
	if mode == cancelKill {
		inv.interrupted = true
	} else {
		d.forget(inv)
	}
	d.mu.Unlock()
	if mode != cancelSkip {
		inv.callee.send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": mode, "reason": string(wamp.URICanceled)}})
	}
	if mode != cancelKill {
		s.send(requestError(m.Request, wamp.TypeCall, wamp.URICanceled, "the call was canceled"))
	}
}

// expire ends a call whose timeout has passed: the caller gets
// wamp.error.timeout, and the callee an INTERRUPT in killnowait mode if
// it takes them.
func (d *dealer) expire(inv *invocation) {
	d.mu.Lock()
	if d.pending[inv.id] != inv {
		d.mu.Unlock()
		return
	}
	d.forget(inv)
	d.mu.Unlock()
	if supportsCanceling(inv.callee) {
		inv.callee.send(&wamp.Interrupt{Request: inv.id,
			Options: wamp.Dict{"mode": cancelKillNoWait, "reason": string(wamp.URITimeout)}})
	}
	inv.caller.send(requestError(inv.callRequest, wamp.TypeCall, wamp.URITimeout, "the call timed out"))
}

// removeSession drops s's registrations, answers the callers of the calls
// it was serving with wamp.error.canceled, and interrupts the callees of
// the calls it was making, since nobody waits for their answers.
func (d *dealer) removeSession(s *session) {
	type detachment struct {
		reg     *entry
		deleted bool
	}
	var detachments []detachment
	var orphaned, abandoned []*invocation
	d.mu.Lock()
	sc := d.bySession[s]
	if sc == nil {
		d.mu.Unlock()
		return
	}
	for _, reg := range sc.regs {
		detachments = append(detachments, detachment{reg, d.detach(s, reg)})
	}
	for _, inv := range sc.serving {
		orphaned = append(orphaned, inv)
		d.forget(inv)
	}
	for _, inv := range sc.calling {
		if inv.callee != s {
			abandoned = append(abandoned, inv)
		}
		d.forget(inv)
	}
	delete(d.bySession, s)
	d.mu.Unlock()
	for _, inv := range orphaned {
		if inv.caller != s {
			inv.reply(requestError(inv.callRequest, wamp.TypeCall, wamp.URICanceled,
				"the callee left before answering"))
		}
	}
	for _, inv := range abandoned {
		if supportsCanceling(inv.callee) {
			inv.callee.send(&wamp.Interrupt{Request: inv.id,
				Options: wamp.Dict{"mode": cancelKillNoWait, "reason": string(wamp.URICanceled)}})
		}
	}
	for _, dt := range detachments {
		d.detached(s, dt.reg, dt.deleted)
	}
}

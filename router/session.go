package router

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// session is one WAMP session. Its fields are set before it is published
// to the realm and read-only afterwards; the broker and dealer keep their
// per-session state under their own locks.
type session struct {
	id           wamp.ID
	realm        *realm
	peer         transport.Peer
	backlog      transport.Backlogger // peer's outbound queue, nil if it has none
	router       *Router
	authid       string
	authrole     string
	authmethod   string
	authprovider string
	// authextra is WELCOME.Details.authextra, nil for none.
	authextra wamp.Dict
	// trusted: the session came through a trusted listener and may do
	// anything (Listener.Trusted).
	trusted bool
	// aborted is set by violation: the session ends once the message at
	// fault is handled. Only the session's reading goroutine uses it.
	// (The small fields sit together: a session fits in 256 bytes, an
	// allocation size class, for the memory of idle sessions.)
	aborted bool
	// goodbyeSent is set once the router has said GOODBYE, so that the
	// client's GOODBYE is taken as the answer.
	goodbyeSent atomic.Bool
	// features holds the client's announced features that the router
	// acts on.
	features featureSet
	joined   time.Time
	// msgsIn and msgsOut count the messages received from and queued to
	// the client (SessionInfo).
	msgsIn, msgsOut atomic.Uint64
	// remote is set for a session of another node of the cluster,
	// mirrored here (cluster.go); nil for the router's own sessions.
	remote *remoteSession
	// rateTAT is the message rate limiter's state (limits.go), used by
	// the reading goroutine only.
	rateTAT int64
	// testaments are the events to publish when the session ends; they
	// have their own lock (see testament.go).
	testaments testaments
}

// serve runs the whole life of a session on peer: the HELLO handshake,
// then routing until GOODBYE, ABORT or the connection ends, then done.
// With park set, serve may return before the session ends: a quiet
// session's peer is let park (transport.Parker) and its reading loop
// resumes on a goroutine of its own when there is input; done runs when
// the session ends, on whichever goroutine it ends.
func (r *Router) serve(peer transport.Peer, l *Listener, park bool, done func()) {
	r.trackPeer(peer, true)
	s, ok := r.handshake(peer, l)
	if !ok {
		r.trackPeer(peer, false)
		peer.Close()
		done()
		return
	}
	if p, ok := peer.(transport.Parker); ok && park {
		p.ParkWhenIdle(func() { s.run(done) })
	}
	s.run(done)
}

// run routes the session's messages until it ends, then ends it and
// calls done; or returns at once when its peer has parked.
func (s *session) run(done func()) {
	if s.loop() {
		return
	}
	s.batch().Flush()
	s.leave()
	s.router.untrack(s)
	s.router.trackPeer(s.peer, false)
	s.peer.Close()
	done()
}

// loop routes the session's messages until it ends, or its peer parks
// (it then returns true). It is kept small, as is the peer's Read,
// because idle sessions wait inside it: a shallow stack is one the
// garbage collector can shrink.
func (s *session) loop() (parked bool) {
	for {
		m, err := s.peer.Read()
		if err != nil {
			if err == transport.ErrParked {
				return true
			}
			if s.readFailed(err) {
				continue
			}
			return false
		}
		s.router.metrics.received[m.Type()].Inc()
		s.msgsIn.Add(1)
		if !s.withinRate() {
			return false
		}
		if !s.route(m) {
			return false
		}
	}
}

// readFailed handles an error from Read and reports whether the session
// goes on.
//
//go:noinline
func (s *session) readFailed(err error) bool {
	var de *wamp.DecodeError
	switch {
	case errors.As(err, &de) && (de.InvalidURI || de.InvalidArgument) && de.Request != 0 && isRequest(de.Type):
		// A well-formed request with a bad URI or value (invalid UTF-8,
		// nested too deep) gets an ERROR, as the specification asks for
		// a bad URI, and the session goes on: refused at the door, the
		// message never reaches a peer that could choke on it. A PUBLISH
		// without acknowledge gets no answer, as the specification says.
		s.router.metrics.invalidMessages.Inc()
		if de.Unacknowledged {
			s.router.log.Debug("router: message refused", "session", s.id, "realm", s.realm.name, "err", err)
			return true
		}
		uri := wamp.URIInvalidURI
		if de.InvalidArgument {
			uri = wamp.URIInvalidArgument
		}
		s.send(&wamp.ErrorMessage{RequestType: de.Type, Request: de.Request, Error: uri,
			Payload: wamp.Payload{Args: wamp.List{de.Error()}}})
		return true
	case errors.Is(err, wamp.ErrMalformed):
		s.violation(err.Error())
	case errors.Is(err, transport.ErrMessageTooBig):
		s.router.limitExceeded(limitMaxMessageSize, "session", s.id, "realm", s.realm.name, "authid", s.authid,
			"remote", s.peer.Info().RemoteAddr, "err", err)
	case errors.Is(err, io.EOF), errors.Is(err, transport.ErrClosed):
		s.router.log.Debug("router: session ended", "session", s.id, "realm", s.realm.name, "err", err)
	default:
		s.router.log.Info("router: connection lost", "session", s.id, "realm", s.realm.name, "err", err)
	}
	return false
}

func isRequest(t wamp.Type) bool {
	switch t {
	case wamp.TypePublish, wamp.TypeSubscribe, wamp.TypeUnsubscribe,
		wamp.TypeCall, wamp.TypeRegister, wamp.TypeUnregister:
		return true
	}
	return false
}

// handshake reads HELLO, authenticates the client (auth.go) and answers
// WELCOME or ABORT, all within the HELLO timeout.
// l is the listener the connection came from, nil for one with no
// policies of its own (in-process, or served with ServeHTTP or Attach).
func (r *Router) handshake(peer transport.Peer, l *Listener) (*session, bool) {
	deadline := r.startHelloDeadline(peer)
	defer deadline.stop()
	m, err := peer.Read()
	if err != nil {
		switch {
		case errors.Is(err, wamp.ErrMalformed):
			r.metrics.protocolViolations.Inc()
			peer.Send(abort(wamp.URIProtocolViolation, err.Error()))
		case errors.Is(err, transport.ErrMessageTooBig):
			r.limitExceeded(limitMaxMessageSize, "remote", peer.Info().RemoteAddr, "before", "WELCOME", "err", err)
		}
		return nil, false
	}
	r.metrics.received[m.Type()].Inc()
	hello, ok := m.(*wamp.Hello)
	if !ok {
		r.metrics.protocolViolations.Inc()
		peer.Send(abort(wamp.URIProtocolViolation, fmt.Sprintf("expected HELLO, got %s", m.Type())))
		return nil, false
	}
	if roles, _ := wamp.DictDict(hello.Details, "roles"); len(roles) == 0 {
		r.metrics.protocolViolations.Inc()
		peer.Send(abort(wamp.URIProtocolViolation, "HELLO.Details.roles is required and must announce at least one role"))
		return nil, false
	}
	rl := r.realm(hello.Realm)
	if rl == nil {
		peer.Send(abort(wamp.URINoSuchRealm, fmt.Sprintf("no realm %q on this router", hello.Realm)))
		return nil, false
	}
	s := &session{id: wamp.GlobalID(), realm: rl, peer: peer, router: r, features: announcedFeatures(hello.Details)}
	s.backlog, _ = peer.(transport.Backlogger)
	if !r.authenticate(s, hello, l) || !deadline.stop() {
		return nil, false
	}
	s.joined = time.Now()
	if a := r.track(s); a != nil {
		peer.Send(a)
		return nil, false
	}
	// The realm lists the session before its WELCOME goes out, so that
	// the meta API knows a session as soon as the session knows its ID;
	// on_join is announced once WELCOME is queued.
	rl.add(s)
	if err := peer.Send(&wamp.Welcome{Session: s.id, Details: welcomeDetails(s)}); err != nil {
		rl.remove(s)
		r.untrack(s)
		return nil, false
	}
	if w, ok := peer.(transport.Welcomer); ok {
		w.Welcomed() // the pre-WELCOME bound on message size is lifted
	}
	rl.metaEvent("wamp.session.on_join", s.details())
	r.clusterDelta(joinOp(s))
	r.log.Debug("router: session joined", "session", s.id, "realm", rl.name, "authid", s.authid, "authrole", s.authrole,
		"authmethod", s.authmethod, "remote", peer.Info().RemoteAddr, "serializer", peer.Info().Serializer)
	return s, true
}

func abort(reason wamp.URI, message string) *wamp.Abort {
	return &wamp.Abort{Details: wamp.Dict{"message": message}, Reason: reason}
}

// route handles one message; false ends the session.
//
//go:noinline
func (s *session) route(m wamp.Message) bool {
	rl := s.realm
	switch m := m.(type) {
	case *wamp.Publish:
		rl.counts.publishes.Add(1)
		rl.broker.publish(s, m)
	case *wamp.Subscribe:
		rl.broker.subscribe(s, m)
	case *wamp.Unsubscribe:
		rl.broker.unsubscribe(s, m)
	case *wamp.Call:
		rl.counts.calls.Add(1)
		rl.dealer.call(s, m)
	case *wamp.Register:
		rl.dealer.register(s, m)
	case *wamp.Unregister:
		rl.dealer.unregister(s, m)
	case *wamp.Yield:
		rl.dealer.yield(s, m)
	case *wamp.ErrorMessage:
		if m.RequestType != wamp.TypeInvocation {
			s.violation(fmt.Sprintf("ERROR may only answer an INVOCATION, not a %s", m.RequestType))
			return false
		}
		rl.dealer.calleeError(s, m)
	case *wamp.Cancel:
		rl.dealer.cancel(s, m)
	case *wamp.Goodbye:
		if !s.goodbyeSent.Load() {
			s.send(&wamp.Goodbye{Reason: wamp.URICloseGoodbyeAndOut})
		}
		return false
	case *wamp.Abort:
		return false
	default:
		s.violation(fmt.Sprintf("a client may not send %s", m.Type()))
		return false
	}
	return !s.aborted
}

// send queues m to the session's peer; a full queue disconnects it.
func (s *session) send(m wamp.Message) bool { return s.sendFrom(nil, m) }

// sendFrom is send for a message routed from what from's reader read,
// and must run on that reading goroutine: the writing is left to the
// reader's flush (transport.Batch) where both peers allow. from may be
// nil, for the router's own messages.
func (s *session) sendFrom(from *session, m wamp.Message) bool {
	s.msgsOut.Add(1)
	if _, ok := m.(*wamp.ErrorMessage); ok {
		s.realm.counts.errors.Add(1)
	}
	return s.deliverResult(from.batch().Send(s.peer, m))
}

// batch returns the batch of s's reader, nil for a peer that has none or
// a nil s. Only s's reading goroutine may use it. (Asked of the peer each
// time: a session has no room for one more field, see
// TestSessionFitsItsSizeClass.)
func (s *session) batch() *transport.Batch {
	if s == nil {
		return nil
	}
	if b, ok := s.peer.(transport.Batcher); ok {
		return b.Batch()
	}
	return nil
}

func (s *session) sendShared(f *transport.Fanout, sh *transport.Shared) bool {
	s.msgsOut.Add(1)
	return s.deliverResult(f.SendShared(s.peer, sh))
}

func (s *session) deliverResult(err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, transport.ErrSlowConsumer) {
		s.router.metrics.slowConsumers.Inc()
		s.router.log.Warn("router: slow consumer disconnected: outbound queue full",
			"session", s.id, "realm", s.realm.name, "remote", s.peer.Info().RemoteAddr)
	}
	return false
}

// violation aborts the session for breaking the protocol.
func (s *session) violation(reason string) {
	s.aborted = true
	s.router.metrics.protocolViolations.Inc()
	s.router.log.Info("router: protocol violation", "session", s.id, "reason", reason)
	s.send(abort(wamp.URIProtocolViolation, reason))
}

// goodbye starts a router-initiated close; the session ends when the
// client answers, or when the router gives up waiting. An empty message
// is left out of the details. It reports whether this call sent the
// GOODBYE.
func (s *session) goodbye(reason wamp.URI, message string) bool {
	if s.goodbyeSent.Swap(true) {
		return false
	}
	details := wamp.Dict{}
	if message != "" {
		details["message"] = message
	}
	s.send(&wamp.Goodbye{Details: details, Reason: reason})
	return true
}

// leave removes every trace of the session from its realm and publishes
// its testaments, once its subscriptions are gone and before on_leave.
func (s *session) leave() {
	s.realm.broker.removeSession(s)
	s.realm.dealer.removeSession(s)
	s.publishTestaments()
	s.realm.leave(s)
	s.router.clusterDelta(stateOp{Op: "leave", Realm: string(s.realm.name), Session: s.id})
}

// feature is a client feature the router acts on, one bit of a session's
// featureSet: a set costs a word per session where a map of everything a
// client announces would cost a kilobyte or more.
type feature uint8

const (
	calleeCallCanceling feature = iota
	calleeProgressiveCallResults
	calleeProgressiveCallInvocations
	callerProgressiveCallInvocations
	calleeRegistrationRevocation
)

// knownFeatures maps "role.feature" to the features the router acts on.
// The specification spells call canceling both ways.
var knownFeatures = map[string]feature{
	"callee.call_canceling":               calleeCallCanceling,
	"callee.call_cancelling":              calleeCallCanceling,
	"callee.progressive_call_results":     calleeProgressiveCallResults,
	"callee.progressive_call_invocations": calleeProgressiveCallInvocations,
	"caller.progressive_call_invocations": callerProgressiveCallInvocations,
	"callee.registration_revocation":      calleeRegistrationRevocation,
}

// featureSet holds the features a client announced.
type featureSet uint64

// announcedFeatures reads HELLO.Details.roles.<role>.features.
func announcedFeatures(details wamp.Dict) featureSet {
	var set featureSet
	roles, _ := wamp.DictDict(details, "roles")
	for role, v := range roles {
		r, _ := v.(wamp.Dict)
		feats, _ := wamp.DictDict(r, "features")
		for name, on := range feats {
			if f, known := knownFeatures[role+"."+name]; known {
				if b, _ := on.(bool); b {
					set |= 1 << f
				}
			}
		}
	}
	return set
}

// supports reports whether the client announced f.
func (s *session) supports(f feature) bool { return s.features&(1<<f) != 0 }

// details describes the session as the session meta API does.
func (s *session) details() wamp.Dict {
	info := s.peer.Info()
	tr := wamp.Dict{"type": info.Transport}
	if info.Serializer != "" {
		tr["serializer"] = info.Serializer
	}
	if info.RemoteAddr != "" {
		tr["peer"] = info.RemoteAddr
	}
	return wamp.Dict{
		"session":      s.id,
		"realm":        string(s.realm.name),
		"authid":       s.authid,
		"authrole":     s.authrole,
		"authmethod":   s.authmethod,
		"authprovider": s.authprovider,
		"transport":    tr,
	}
}

package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// eventQueue bounds the events waiting for the dispatch goroutine; past it
// the read loop waits, which pushes back on the router.
const eventQueue = 256

// Session is a WAMP session joined to a realm. Its methods are safe for
// concurrent use. With reconnection on, one Session outlives its
// connections: ID and Details then describe the latest join.
type Session struct {
	cfg  Config
	log  *slog.Logger
	dial dialFunc // nil when the session must not reconnect
	seq  wamp.Sequence

	// ctx is cancelled when the session ends for good; handlers get it
	// (or a child of it).
	ctx    context.Context
	cancel context.CancelFunc
	events chan queuedEvent
	// wg counts every goroutine the session starts: the supervisor, the
	// read loops, the dispatcher and invocation handlers.
	wg   sync.WaitGroup
	done chan struct{}
	// workers run the invocation handlers.
	workers *workers

	mu      sync.Mutex
	conn    *conn         // current connection, nil while there is none
	ready   chan struct{} // closed once conn is set
	id      wamp.ID
	details wamp.Dict
	closing bool
	err     error
	subs    map[wamp.ID][]*Subscription // by router subscription ID
	// retainedTo names, by router subscription ID, the subscription that
	// last asked for retained events: it alone gets them.
	retainedTo map[wamp.ID]*Subscription
	allSubs    map[*Subscription]struct{} // established, restored on reconnect
	regs       map[wamp.ID]*Registration
	allRegs    map[*Registration]struct{}
}

// conn is one connection's worth of session state.
type conn struct {
	peer   transport.Peer
	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc
	dealer map[string]bool // the features the dealer announced
	dead   chan struct{}   // closed once the read loop is over
	err    error           // why it ended, set before dead is closed

	// Guarded by Session.mu.
	pending     map[wamp.ID]*request // nil once the connection ended
	invocations map[wamp.ID]*Invocation
	// answered lists progressive invocations answered before their last
	// chunk came, whose late chunks must not start new invocations.
	answered    tombstones
	goodbyeSent bool
}

// dealerHas reports whether the dealer announced feature.
func (c *conn) dealerHas(feature string) bool { return c.dealer[feature] }

type request struct {
	ch chan reply // buffered: the read loop never waits on it
	// onReply, if set, runs on the read loop with a successful reply
	// before anything else is read, so that e.g. a subscription is in
	// place before its first event.
	onReply func(wamp.Message)
	// progress, set for a call that asked for progressive results,
	// receives them in order. The read loop waits on it, pushing back on
	// the router, unless gone is closed: the caller gave up.
	progress chan *wamp.Result
	gone     chan struct{}
}

type reply struct {
	msg wamp.Message
	err error
}

// Join opens a session over peer, which it then owns: it sends HELLO and
// waits for WELCOME. An ABORT yields a *wamp.Error with the reason URI
// (errors.Is(err, wamp.ErrNoSuchRealm)). ctx bounds the handshake only.
// Join never reconnects: see Dial.
func Join(ctx context.Context, peer transport.Peer, cfg Config) (*Session, error) {
	return start(ctx, cfg, nil, func(context.Context) (transport.Peer, error) { return peer, nil })
}

func start(ctx context.Context, cfg Config, redial, first dialFunc) (*Session, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	peer, err := first(ctx)
	if err != nil {
		return nil, err
	}
	w, err := handshake(ctx, peer, cfg)
	if err != nil {
		return nil, err
	}
	s := newSession(cfg, redial)
	c, err := s.attach(peer, w)
	if err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.supervise(c)
	return s, nil
}

func newSession(cfg Config, dial dialFunc) *Session {
	s := &Session{
		cfg:        cfg,
		log:        cfg.Logger,
		dial:       dial,
		events:     make(chan queuedEvent, eventQueue),
		done:       make(chan struct{}),
		ready:      make(chan struct{}),
		subs:       map[wamp.ID][]*Subscription{},
		retainedTo: map[wamp.ID]*Subscription{},
		allSubs:    map[*Subscription]struct{}{},
		regs:       map[wamp.ID]*Registration{},
		allRegs:    map[*Registration]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.workers = newWorkers(s.ctx.Done())
	s.wg.Add(1)
	go s.dispatch()
	return s
}

// handshake sends HELLO, answers the router's CHALLENGEs with the
// configured Authenticators and returns its WELCOME. It closes peer on
// failure.
func handshake(ctx context.Context, peer transport.Peer, cfg Config) (*wamp.Welcome, error) {
	if err := peer.Send(&wamp.Hello{Realm: cfg.Realm, Details: cfg.helloDetails()}); err != nil {
		peer.Close()
		return nil, fmt.Errorf("client: send HELLO: %w", err)
	}
	for {
		m, err := readWithin(ctx, peer)
		if err != nil {
			peer.Close()
			return nil, fmt.Errorf("client: join %s: %w", cfg.Realm, err)
		}
		switch m := m.(type) {
		case *wamp.Welcome:
			return m, nil
		case *wamp.Abort:
			peer.Close()
			return nil, &wamp.Error{URI: m.Reason, Kwargs: m.Details}
		case *wamp.Challenge:
			if err := answer(ctx, peer, cfg, m); err != nil {
				// The router is told why, as Autobahn tells it.
				peer.Send(&wamp.Abort{Details: wamp.Dict{"message": err.Error()}, Reason: uriCannotAuthenticate})
				peer.Close()
				return nil, err
			}
		default:
			peer.Close()
			return nil, fmt.Errorf("%w: router answered HELLO with %s", ErrProtocol, m.Type())
		}
	}
}

// uriCannotAuthenticate is the reason of the ABORT a client sends when it
// cannot answer a CHALLENGE; the specification names none, this is
// Autobahn's.
const uriCannotAuthenticate wamp.URI = "wamp.error.cannot_authenticate"

// answer answers a CHALLENGE with the Authenticator of its method.
func answer(ctx context.Context, peer transport.Peer, cfg Config, c *wamp.Challenge) error {
	a := cfg.authenticator(c.AuthMethod)
	if a == nil {
		return fmt.Errorf("%w: CHALLENGE for %q, a method the client did not offer", ErrProtocol, c.AuthMethod)
	}
	sig, extra, err := a.Authenticate(ctx, &Challenge{Method: c.AuthMethod, Extra: c.Extra, TLS: peer.Info().TLS})
	if err != nil {
		return fmt.Errorf("client: authenticate with %s: %w", c.AuthMethod, err)
	}
	if extra == nil {
		extra = wamp.Dict{}
	}
	if err := peer.Send(&wamp.Authenticate{Signature: sig, Extra: extra}); err != nil {
		return fmt.Errorf("client: send AUTHENTICATE: %w", err)
	}
	return nil
}

// readWithin reads peer's next message, giving up (and closing peer) when
// ctx ends. No read is left running when it returns.
func readWithin(ctx context.Context, peer transport.Peer) (wamp.Message, error) {
	ch := make(chan reply, 1)
	go func() {
		m, err := peer.Read()
		ch <- reply{m, err}
	}()
	select {
	case r := <-ch:
		return r.msg, r.err
	case <-ctx.Done():
		peer.Close()
		<-ch
		return nil, ctx.Err()
	}
}

// attach makes peer, freshly joined, the session's connection and starts
// its read loop.
func (s *Session) attach(peer transport.Peer, w *wamp.Welcome) (*conn, error) {
	c := &conn{
		peer:        peer,
		dead:        make(chan struct{}),
		dealer:      map[string]bool{},
		pending:     map[wamp.ID]*request{},
		invocations: map[wamp.ID]*Invocation{},
	}
	c.ctx, c.cancel = context.WithCancel(s.ctx)
	roles, _ := wamp.DictDict(w.Details, "roles")
	dealer, _ := wamp.DictDict(roles, "dealer")
	features, _ := wamp.DictDict(dealer, "features")
	for name, on := range features {
		if b, _ := on.(bool); b {
			c.dealer[name] = true
		}
	}

	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.cancel()
		peer.Close()
		return nil, ErrSessionClosed
	}
	s.conn, s.id, s.details = c, w.Session, w.Details
	close(s.ready)
	s.mu.Unlock()
	s.wg.Add(1)
	go s.read(c)
	return c, nil
}

// read is c's read loop: it routes replies to waiting requests and hands
// events and invocations on, never running user code itself.
func (s *Session) read(c *conn) {
	defer s.wg.Done()
	var cause error
	for cause == nil {
		m, err := c.peer.Read()
		if err != nil {
			cause = fmt.Errorf("%w: %w", ErrConnectionLost, err)
			break
		}
		cause = s.handle(c, m)
	}
	c.peer.Close()
	s.detach(c, cause)
}

// handle processes one message; a non-nil result ends the connection.
func (s *Session) handle(c *conn, m wamp.Message) error {
	switch m := m.(type) {
	case *wamp.Event:
		s.deliver(c, m)
	case *wamp.Invocation:
		s.invoke(c, m)
	case *wamp.Interrupt:
		s.interrupt(c, m)
	case *wamp.Result:
		if progress, _ := wamp.DictBool(m.Details, "progress"); progress {
			s.progress(c, m)
			return nil
		}
		s.resolve(c, m.Request, m, nil)
	case *wamp.Published:
		s.resolve(c, m.Request, m, nil)
	case *wamp.Subscribed:
		s.resolve(c, m.Request, m, nil)
	case *wamp.Registered:
		s.resolve(c, m.Request, m, nil)
	case *wamp.Unsubscribed:
		if m.Request == 0 {
			s.revokeSubscription(m.Details)
			return nil
		}
		s.resolve(c, m.Request, m, nil)
	case *wamp.Unregistered:
		if m.Request == 0 {
			s.revokeRegistration(m.Details)
			return nil
		}
		s.resolve(c, m.Request, m, nil)
	case *wamp.ErrorMessage:
		args, kwargs, err := codec.Values(&m.Payload)
		if err != nil {
			s.log.Warn("client: undecodable ERROR payload", "error", err)
		}
		s.resolve(c, m.Request, nil, &wamp.Error{URI: m.Error, Args: args, Kwargs: kwargs})
	case *wamp.Goodbye:
		s.mu.Lock()
		sent := c.goodbyeSent
		s.mu.Unlock()
		if sent {
			return ErrSessionClosed
		}
		s.send(c, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseGoodbyeAndOut})
		return &wamp.Error{URI: m.Reason, Kwargs: m.Details}
	case *wamp.Abort:
		return &wamp.Error{URI: m.Reason, Kwargs: m.Details}
	default:
		s.log.Warn("client: unexpected message from router", "type", m.Type())
	}
	return nil
}

// detach ends c: the session loses its connection, requests pending on
// c fail and its handlers' ctx is cancelled.
func (s *Session) detach(c *conn, cause error) {
	s.mu.Lock()
	pending := c.pending
	c.pending = nil
	if s.conn == c {
		s.conn = nil
		s.ready = make(chan struct{})
	}
	// The router forgets subscriptions and registrations with the
	// connection; reconnect restores them from allSubs and allRegs.
	for sub := range s.allSubs {
		sub.id = 0
	}
	for reg := range s.allRegs {
		reg.id = 0
	}
	clear(s.subs)
	clear(s.retainedTo)
	clear(s.regs)
	ending := s.closing || !s.reconnects(cause)
	s.mu.Unlock()
	c.cancel()

	failure := cause
	if ending && !errors.Is(cause, ErrSessionClosed) {
		failure = fmt.Errorf("%w: %w", ErrSessionClosed, cause)
	}
	for _, r := range pending {
		r.ch <- reply{err: failure}
	}
	c.err = cause
	close(c.dead)
}

// spawn runs f on a goroutine of the session's, unless the session is
// closing: Close waits for it.
func (s *Session) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// send sends m on c, logging a failure: for messages nobody waits on.
func (s *Session) send(c *conn, m wamp.Message) {
	if err := c.peer.Send(m); err != nil {
		s.log.Debug("client: send failed", "type", m.Type(), "error", err)
	}
}

// ID returns the session ID from the latest WELCOME.
func (s *Session) ID() wamp.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Details returns the latest WELCOME's details. They must not be modified.
func (s *Session) Details() wamp.Dict {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.details
}

// Done is closed when the session has ended for good.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended: nil while it lives, ErrSessionClosed
// after Close, the router's reason as a *wamp.Error after its GOODBYE or
// ABORT, or an error wrapping ErrConnectionLost or ErrReconnectFailed.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close leaves the realm: it sends GOODBYE, waits for the router's reply,
// closes the connection, then waits for the session's goroutines,
// handlers included, to return. ctx bounds both waits. Close is safe to
// call more than once; it must not be called from a handler with a ctx
// that does not end, since it would wait for that handler.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	already := s.closing
	s.closing = true
	c := s.conn
	if c != nil && !already {
		c.goodbyeSent = true
	}
	s.mu.Unlock()

	var err error
	if c != nil && !already {
		if c.peer.Send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseNormal}) == nil {
			select {
			case <-c.dead:
			case <-ctx.Done():
				err = fmt.Errorf("client: wait for GOODBYE: %w", ctx.Err())
			}
		}
		c.peer.Close()
		c.cancel()
	}
	s.cancel()

	idle := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("client: wait for handlers: %w", ctx.Err())
		}
	}
	return err
}

// terminate ends the session for good.
func (s *Session) terminate(cause error) {
	s.mu.Lock()
	if s.closing {
		cause = ErrSessionClosed
	}
	s.closing = true
	s.err = cause
	s.mu.Unlock()
	s.cancel()
	close(s.done)
}

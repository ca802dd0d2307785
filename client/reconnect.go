package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// dialFunc opens a new connection to the router.
type dialFunc func(ctx context.Context) (transport.Peer, error)

// Dial connects to the router at url (WebSocket ws:// or wss://, or
// RawSocket tcp:// or unix:, see transport.Dial) and joins cfg.Realm; ctx
// bounds this first connection only, which is not retried.
//
// With cfg.Reconnect set, the session then survives connection losses
// (and router GOODBYEs other than wamp.close.killed): it reconnects with
// exponential backoff, re-subscribes and re-registers everything, and the
// same *Subscription and *Registration values keep working. Requests
// pending on a lost connection fail with an error wrapping
// ErrConnectionLost; new ones wait for the next connection.
func Dial(ctx context.Context, url string, cfg Config) (*Session, error) {
	tcfg := cfg.Transport
	if tcfg.Logger == nil {
		tcfg.Logger = cfg.Logger
	}
	dial := func(ctx context.Context) (transport.Peer, error) {
		return transport.Dial(ctx, url, tcfg)
	}
	return dialSession(ctx, dial, cfg)
}

// dialSession is Dial over any dialFunc, for tests.
func dialSession(ctx context.Context, dial dialFunc, cfg Config) (*Session, error) {
	var redial dialFunc
	if cfg.Reconnect != nil {
		redial = dial
	}
	return start(ctx, cfg, redial, dial)
}

// reconnects reports whether losing a connection for cause should lead to
// a new one. s.mu must be held.
func (s *Session) reconnects(cause error) bool {
	return s.dial != nil && !s.closing && !errors.Is(cause, &wamp.Error{URI: wamp.URICloseKilled})
}

// supervise owns the session's connections, one after the other, and
// ends the session when the last one is gone.
func (s *Session) supervise(c *conn) {
	defer s.wg.Done()
	for {
		if s.cfg.OnConnect != nil {
			s.cfg.OnConnect(s)
		}
		<-c.dead
		s.log.Debug("client: connection ended", "error", c.err)
		if s.cfg.OnDisconnect != nil {
			s.cfg.OnDisconnect(s, c.err)
		}
		s.mu.Lock()
		again := s.reconnects(c.err)
		s.mu.Unlock()
		if !again {
			s.terminate(c.err)
			return
		}
		var err error
		if c, err = s.reconnect(); err != nil {
			s.terminate(err)
			return
		}
	}
}

// reconnect makes attempts until one joins, MaxAttempts are used up or
// the session is closed.
func (s *Session) reconnect() (*conn, error) {
	rc := s.cfg.Reconnect
	delay := rc.MinDelay
	var last error
	for attempt := 1; rc.MaxAttempts == 0 || attempt <= rc.MaxAttempts; attempt++ {
		t := time.NewTimer(jitter(delay))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return nil, ErrSessionClosed
		case <-t.C:
		}
		c, err := s.connect()
		if err == nil {
			s.log.Info("client: reconnected", "session", s.ID(), "attempt", attempt)
			s.restore(c)
			return c, nil
		}
		if errors.Is(err, ErrSessionClosed) {
			return nil, err
		}
		last = err
		s.log.Warn("client: reconnect failed", "attempt", attempt, "error", err)
		delay = min(delay*2, rc.MaxDelay)
	}
	return nil, fmt.Errorf("%w after %d attempts: %w", ErrReconnectFailed, rc.MaxAttempts, last)
}

// jitter returns a delay in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

func (s *Session) connect() (*conn, error) {
	ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
	defer cancel()
	peer, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	w, err := handshake(ctx, peer, s.cfg)
	if err != nil {
		return nil, err
	}
	return s.attach(peer, w)
}

// restore re-subscribes and re-registers everything established before,
// pipelining the requests.
func (s *Session) restore(c *conn) {
	s.mu.Lock()
	subs := make([]*Subscription, 0, len(s.allSubs))
	for sub := range s.allSubs {
		subs = append(subs, sub)
	}
	regs := make([]*Registration, 0, len(s.allRegs))
	for reg := range s.allRegs {
		regs = append(regs, reg)
	}
	s.mu.Unlock()

	type inflight struct {
		id   wamp.ID
		req  *request
		what string
		uri  wamp.URI
	}
	var all []inflight
	for _, sub := range subs {
		id := s.seq.Next()
		req, err := s.begin(c, id, sub.message(id), func(m wamp.Message) { s.subscribed(c, sub, m) }, false)
		if err != nil {
			s.log.Warn("client: resubscribe failed", "topic", sub.topic, "error", err)
			return
		}
		all = append(all, inflight{id, req, "resubscribe", sub.topic})
	}
	for _, reg := range regs {
		id := s.seq.Next()
		req, err := s.begin(c, id, reg.message(id), func(m wamp.Message) { s.registered(c, reg, m) }, false)
		if err != nil {
			s.log.Warn("client: reregister failed", "procedure", reg.procedure, "error", err)
			return
		}
		all = append(all, inflight{id, req, "reregister", reg.procedure})
	}
	ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
	defer cancel()
	for _, f := range all {
		if _, err := s.await(ctx, c, f.id, f.req); err != nil {
			s.log.Warn("client: "+f.what+" failed", "uri", f.uri, "error", err)
		}
	}
}

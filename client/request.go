package client

import (
	"context"
	"fmt"

	"github.com/junction-run/junction/wamp"
)

// current returns the connection, waiting for one while reconnecting.
func (s *Session) current(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		c, ready, closing := s.conn, s.ready, s.closing
		s.mu.Unlock()
		if closing {
			return nil, ErrSessionClosed
		}
		if c != nil {
			return c, nil
		}
		select {
		case <-ready:
		case <-s.done:
			return nil, ErrSessionClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// begin registers request id on c and sends m. A call with progress set
// takes progressive results.
func (s *Session) begin(c *conn, id wamp.ID, m wamp.Message, onReply func(wamp.Message), progress bool) (*request, error) {
	req := &request{ch: make(chan reply, 1), onReply: onReply}
	if progress {
		req.progress = make(chan *wamp.Result, progressQueue)
		req.gone = make(chan struct{})
	}
	s.mu.Lock()
	if c.pending == nil {
		s.mu.Unlock()
		return nil, ErrConnectionLost
	}
	c.pending[id] = req
	s.mu.Unlock()
	if err := c.peer.Send(m); err != nil {
		s.mu.Lock()
		delete(c.pending, id)
		s.mu.Unlock()
		return nil, fmt.Errorf("client: send %s: %w", m.Type(), err)
	}
	return req, nil
}

// await waits for req's reply. If ctx ends first the request is
// abandoned, unless its reply is already on the way.
func (s *Session) await(ctx context.Context, c *conn, id wamp.ID, req *request) (wamp.Message, error) {
	select {
	case r := <-req.ch:
		return r.msg, r.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	_, waiting := c.pending[id]
	delete(c.pending, id)
	s.mu.Unlock()
	if waiting {
		return nil, ctx.Err()
	}
	r := <-req.ch
	return r.msg, r.err
}

// roundTrip sends request m on c and waits for its reply.
func (s *Session) roundTrip(ctx context.Context, c *conn, id wamp.ID, m wamp.Message, onReply func(wamp.Message)) (wamp.Message, error) {
	req, err := s.begin(c, id, m, onReply, false)
	if err != nil {
		return nil, err
	}
	return s.await(ctx, c, id, req)
}

// resolve hands a reply to the request waiting for it.
func (s *Session) resolve(c *conn, id wamp.ID, m wamp.Message, err error) {
	s.mu.Lock()
	req := c.pending[id]
	delete(c.pending, id)
	s.mu.Unlock()
	if req == nil {
		t := wamp.TypeError
		if m != nil {
			t = m.Type()
		}
		s.log.Debug("client: reply to unknown request", "type", t, "request", id)
		return
	}
	if err == nil && req.onReply != nil {
		req.onReply(m)
	}
	req.ch <- reply{m, err}
}

// unexpected is the error for a reply of the wrong type.
func unexpected(m wamp.Message, want wamp.Type) error {
	return fmt.Errorf("%w: got %s, want %s", ErrProtocol, m.Type(), want)
}

package link

import (
	"context"
	"errors"
	"fmt"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// runSession joins the local realm, declares the link's subscriptions
// (exported topics) and registrations (imported procedures), and joins
// again, with backoff, whenever the session ends, until ctx ends.
func (l *Link) runSession(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		sess, err := l.join(ctx)
		if err == nil {
			if err = l.declare(ctx, sess); err != nil {
				sess.Close(context.WithoutCancel(ctx))
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if attempt == 0 || attempt%10 == 9 {
				l.log.Warn("link: cannot join the local realm yet", "realm", l.cfg.Realm, "attempt", attempt+1, "err", err)
			}
			if !sleep(ctx, backoff(attempt)) {
				return
			}
			continue
		}
		attempt = -1
		l.setSession(sess)
		l.log.Info("link: joined the local realm", "realm", l.cfg.Realm, "session", sess.ID())
		select {
		case <-ctx.Done():
			return // Stop closes the session
		case <-sess.Done():
		}
		l.setSession(nil)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("link: left the local realm; joining again", "realm", l.cfg.Realm, "err", sess.Err())
	}
}

// join opens a session in the local realm.
func (l *Link) join(ctx context.Context) (*client.Session, error) {
	cfg := client.Config{
		Realm:  l.cfg.Realm,
		Logger: l.log,
		AuthID: l.cfg.AuthID,
	}
	if l.cfg.Ticket != "" {
		cfg.Auth = append(cfg.Auth, client.TicketAuth(l.cfg.Ticket))
	}
	cfg.Auth = append(cfg.Auth, l.cfg.Auth...)
	if cfg.AuthID == "" && len(cfg.Auth) == 0 {
		// An open realm takes the authid the session asks for: say who
		// publishes the imported events.
		cfg.HelloDetails = wamp.Dict{"authid": "junction.link." + l.cfg.Name}
	}
	if l.cfg.Local == nil {
		return client.Dial(ctx, l.cfg.Router, cfg)
	}
	peer, err := l.cfg.Local.LocalPeer()
	if err != nil {
		return nil, err
	}
	return client.Join(ctx, peer, cfg)
}

// declare subscribes to the exported topics and registers the imported
// procedures. A registration the router refuses (the procedure is
// already registered here) is logged and skipped: the rest of the link
// works without it.
func (l *Link) declare(ctx context.Context, sess *client.Session) error {
	for _, p := range l.lists.exportTopics {
		h := func(ctx context.Context, e *client.Event) { l.exportEvent(ctx, sess, e) }
		if _, err := sess.Subscribe(ctx, p.uri, h, &client.SubscribeOptions{Match: p.policy}); err != nil {
			return fmt.Errorf("subscribe to %s: %w", p, err)
		}
	}
	for _, p := range l.lists.importProcs {
		_, err := sess.Register(ctx, p.uri, l.forwardCall, &client.RegisterOptions{Match: p.policy})
		var we *wamp.Error
		if errors.As(err, &we) {
			l.log.Error("link: cannot register an imported procedure; calls to it will not reach the peer", "procedure", p.String(), "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("register %s: %w", p, err)
		}
	}
	return nil
}

// setSession makes sess the current session, nil for none.
func (l *Link) setSession(sess *client.Session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sess = sess
	if sess != nil {
		close(l.joined)
	} else {
		l.joined = make(chan struct{})
	}
}

// session returns the current session, nil while the link is not joined.
func (l *Link) session() *client.Session {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sess
}

// waitSession returns the current session, waiting for one until ctx
// ends.
func (l *Link) waitSession(ctx context.Context) (*client.Session, error) {
	for {
		l.mu.Lock()
		sess, joined := l.sess, l.joined
		l.mu.Unlock()
		if sess != nil {
			return sess, nil
		}
		select {
		case <-joined:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

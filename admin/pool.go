package admin

import (
	"context"
	"errors"
	"sync"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
)

// pool keeps the in-process sessions that the bridge and the console
// make on the administered router, one per key (a credential, a user in
// a realm), joined on first use and again once closed.
type pool[K comparable] struct {
	rt *router.Router

	mu       sync.Mutex
	sessions map[K]*client.Session
	closed   bool
}

func newPool[K comparable](rt *router.Router) *pool[K] {
	return &pool[K]{rt: rt, sessions: map[K]*client.Session{}}
}

// get returns key's session, joining it through listener l with cfg if
// it has none that is open.
func (p *pool[K]) get(ctx context.Context, key K, l router.Listener, cfg client.Config) (*client.Session, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, client.ErrSessionClosed
	}
	if s := p.sessions[key]; s != nil {
		select {
		case <-s.Done():
		default:
			return s, nil
		}
	}
	mine, routers := transport.Pipe(transport.Config{})
	go p.rt.AttachFrom(routers, l)
	s, err := client.Join(ctx, mine, cfg)
	if err != nil {
		mine.Close()
		return nil, err
	}
	p.sessions[key] = s
	return s, nil
}

// close closes the sessions; get fails afterwards.
func (p *pool[K]) close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	sessions := p.sessions
	p.sessions = map[K]*client.Session{}
	p.mu.Unlock()
	var errs []error
	for _, s := range sessions {
		errs = append(errs, closeSession(ctx, s))
	}
	return errors.Join(errs...)
}

// closeSession closes s; one already closed is no error.
func closeSession(ctx context.Context, s *client.Session) error {
	if err := s.Close(ctx); err != nil && !errors.Is(err, client.ErrSessionClosed) {
		return err
	}
	return nil
}

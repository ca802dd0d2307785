package router

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// Router is a WAMP router. It is ready when New returns; Stop ends it.
// Several routers may live in one process. All methods are safe for
// concurrent use.
type Router struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	reg     *prometheus.Registry // nil when the caller gave a Registerer

	// ids is the router-scope sequence: subscription, registration and
	// invocation IDs.
	ids wamp.Sequence
	// auth is the authentication state: throttling, derived keys.
	auth authState
	// rate is Limits.MessageRate, measured on a monotonic clock that
	// starts at epoch.
	rate  messageRate
	epoch time.Time
	// limitLogs keeps "limit exceeded" lines to one a second per limit:
	// a client hammering a limit must not flood the log.
	limitLogs logThrottle
	// stallMax is publisherStall, in nanoseconds.
	stallMax atomic.Int64
	// node is the router's cluster membership, nil outside a cluster.
	node atomic.Pointer[Node]
	// changes grows with every session joining or leaving and every
	// subscription or registration made or dropped (Changes).
	changes atomic.Uint64

	mu       sync.Mutex
	realms   map[wamp.URI]*realm
	sessions map[*session]struct{}
	peers    map[transport.Peer]struct{} // every connection served, joined or not
	stopping bool
	wg       sync.WaitGroup // one per session
	stopped  chan struct{}
}

// New returns a router serving cfg.Realms.
func New(cfg Config) (*Router, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Router{
		cfg:      cfg,
		log:      cfg.Logger,
		realms:   make(map[wamp.URI]*realm),
		sessions: make(map[*session]struct{}),
		peers:    make(map[transport.Peer]struct{}),
		stopped:  make(chan struct{}),
		rate:     newMessageRate(cfg.Limits),
		epoch:    time.Now(),
	}
	reg := cfg.Registerer
	if reg == nil {
		r.reg = prometheus.NewRegistry()
		reg = r.reg
	}
	r.metrics = newMetrics(reg)
	for _, name := range cfg.Realms {
		if err := r.AddRealm(name); err != nil {
			return nil, err
		}
	}
	for i := range r.cfg.RealmConfigs {
		r.addRealmConfig(&r.cfg.RealmConfigs[i])
	}
	r.auth.spray.threshold = sprayThreshold
	r.stallMax.Store(int64(publisherStall))
	return r, nil
}

// Metrics returns the router's own Prometheus registry, or nil if
// Config.Registerer was set.
func (r *Router) Metrics() *prometheus.Registry { return r.reg }

// AddRealm starts serving a realm whose sessions are anonymous with every
// permission.
func (r *Router) AddRealm(name string) error {
	if !wamp.URI(name).Valid(r.cfg.StrictURIs) {
		return fmt.Errorf("%w: %q", ErrInvalidRealm, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return ErrStopped
	}
	if _, ok := r.realms[wamp.URI(name)]; ok {
		return fmt.Errorf("%w: %q", ErrRealmExists, name)
	}
	r.realms[wamp.URI(name)] = newRealm(r, wamp.URI(name), nil)
	return nil
}

// addRealmConfig serves a realm with authentication and authorization.
// The config was validated by New.
func (r *Router) addRealmConfig(rc *RealmConfig) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.realms[wamp.URI(rc.Name)] = newRealm(r, wamp.URI(rc.Name), rc)
}

// Realms returns the names of the realms served.
func (r *Router) Realms() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.realms))
	for n := range r.realms {
		names = append(names, string(n))
	}
	return names
}

func (r *Router) realm(name wamp.URI) *realm {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.realms[name]
}

// ServeHTTP upgrades the request to a WebSocket and serves a WAMP session
// on it until it ends. Mount it where clients connect, usually /ws.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.serveHTTP(w, req, nil)
}

// Handler returns the WebSocket endpoint for listener l: its sessions are
// subject to l's policies (authentication methods...).
func (r *Router) Handler(l Listener) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.serveHTTP(w, req, &l) })
}

func (r *Router) serveHTTP(w http.ResponseWriter, req *http.Request, l *Listener) {
	if !r.admit() {
		http.Error(w, "router: stopped", http.StatusServiceUnavailable)
		return
	}
	peer, err := transport.Upgrade(w, req, r.cfg.Transport)
	if err != nil {
		r.wg.Done()
		r.log.Debug("router: websocket upgrade failed", "remote", req.RemoteAddr, "err", err)
		return
	}
	// A goroutine of our own serves the session, so that net/http's
	// connection state (its buffers, its goroutine's stack) is freed now
	// rather than held for the life of the session.
	go r.serve(peer, l, true, r.wg.Done)
}

// Attach serves a session on peer and returns when it has ended. It is
// how other transports hand connections to the router.
func (r *Router) Attach(peer transport.Peer) { r.attach(peer, nil, false) }

// AttachFrom is Attach for a connection accepted by listener l, whose
// policies apply to the session.
func (r *Router) AttachFrom(peer transport.Peer, l Listener) { r.attach(peer, &l, false) }

// AdoptFrom serves a session on peer as AttachFrom does, but may return
// before the session ends: once its connection is quiet and parked
// (transport.Parker, transport.Config.ParkAfter), the router serves it
// from goroutines of its own until it ends, and a quiet session costs no
// goroutine. For callers that need not wait for the end, such as
// transport.ServeRawSocket's serve function.
func (r *Router) AdoptFrom(peer transport.Peer, l Listener) { r.attach(peer, &l, true) }

func (r *Router) attach(peer transport.Peer, l *Listener, park bool) {
	if !r.admit() {
		peer.Close()
		return
	}
	r.serve(peer, l, park, r.wg.Done)
}

// LocalPeer returns the client end of an in-process connection whose
// router end is served in a goroutine of the router's: what an app that
// embeds the router joins with.
func (r *Router) LocalPeer() (transport.Peer, error) {
	if !r.admit() {
		return nil, ErrStopped
	}
	client, server := transport.Pipe(r.cfg.Transport)
	go r.serve(server, nil, false, r.wg.Done)
	return client, nil
}

// admit counts a session in unless the router is stopping.
func (r *Router) admit() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return false
	}
	r.wg.Add(1)
	return true
}

// Stop says GOODBYE (wamp.close.system_shutdown) to every session, waits
// for their answers within Config.GoodbyeTimeout or ctx, then closes what
// is left. Safe to call more than once.
func (r *Router) Stop(ctx context.Context) error {
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		select {
		case <-r.stopped:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.stopping = true
	sessions := make([]*session, 0, len(r.sessions))
	for s := range r.sessions {
		sessions = append(sessions, s)
	}
	r.mu.Unlock()

	for _, s := range sessions {
		s.goodbye(wamp.URICloseSystemShutdown, "router is stopping")
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.GoodbyeTimeout)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		r.mu.Lock()
		peers := make([]transport.Peer, 0, len(r.peers))
		for p := range r.peers {
			peers = append(peers, p)
		}
		r.mu.Unlock()
		for _, p := range peers {
			p.Close()
		}
		<-done
	}
	close(r.stopped)
	return nil
}

// Stopped is closed when Stop has finished.
func (r *Router) Stopped() <-chan struct{} { return r.stopped }

// track adds a joining session, or returns the ABORT that refuses it: the
// router is stopping (Stop must see every session it has to say GOODBYE
// to), or it holds as many sessions as Config.Limits allows.
func (r *Router) track(s *session) *wamp.Abort {
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return abort(wamp.URICloseSystemShutdown, "router is stopping")
	}
	if a, limit := r.sessionLimit(s); a != nil {
		r.mu.Unlock()
		r.limitExceeded(limit, "realm", s.realm.name, "authid", s.authid, "remote", s.peer.Info().RemoteAddr,
			"sessions", r.cfg.Limits.MaxSessions, "sessions_per_realm", r.cfg.Limits.MaxSessionsPerRealm)
		return a
	}
	r.sessions[s] = struct{}{}
	s.realm.tracked++
	r.mu.Unlock()
	r.metrics.sessions.Inc()
	return nil
}

func (r *Router) untrack(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sessions[s]; ok {
		delete(r.sessions, s)
		s.realm.tracked--
		r.metrics.sessions.Dec()
	}
}

// trackPeer records a connection being served, so that Stop can close it
// even before it has joined.
func (r *Router) trackPeer(p transport.Peer, add bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if add {
		r.peers[p] = struct{}{}
	} else {
		delete(r.peers, p)
	}
}

// SessionCount returns the number of open sessions, all realms together.
func (r *Router) SessionCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

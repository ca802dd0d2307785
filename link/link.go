package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A Link bridges one realm of a local router with another deployment
// (the peer) through NATS: the events of the exported topics go to the
// peer through a JetStream stream, the imported topics' events come from
// the peer's, and imported procedures are registered locally and
// forwarded to the peer by NATS request and reply. Nothing crosses that
// is not exported by one side and imported by the other.
//
// A Link is safe for concurrent use. Start it once; Stop it once done.
type Link struct {
	cfg   Config
	lists allowLists
	log   *slog.Logger

	srv      *server.Server // embedded NATS server, nil with Config.NATS
	leafAddr string         // its leaf node listener's address, "" for none
	nc       *nats.Conn
	js       jetstream.JetStream // local JetStream

	mu       sync.Mutex
	started  bool
	stopping bool
	sess     *client.Session // joined to the local realm, nil while not
	joined   chan struct{}   // closed when sess is set; replaced when it goes
	leafUp   bool            // last known state of the leaf connection, for logs
	// leafBack wakes the import when the leaf connection comes (back),
	// rather than let it finish a backoff.
	leafBack chan struct{}
	subs     []*nats.Subscription
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the link's goroutines
	calls    sync.WaitGroup // calls being served for the peer
	stopped  chan struct{}
	stopOnce sync.Once
}

// New checks cfg and returns a Link that Start starts.
func New(cfg Config) (*Link, error) {
	cfg = cfg.withDefaults()
	lists, err := cfg.validate(true)
	if err != nil {
		return nil, err
	}
	return &Link{
		cfg:      cfg,
		lists:    lists,
		log:      cfg.Logger.With("link", cfg.Name, "peer", cfg.Peer),
		joined:   make(chan struct{}),
		stopped:  make(chan struct{}),
		leafBack: make(chan struct{}, 1),
	}, nil
}

// Names of the NATS objects. Events exported from deployment a to b go
// to subjects jlink.a.b.ev.<topic> of stream jlink-a-b, kept in a's
// JetStream (domain a); b reads them through consumers of its own.
// Calls from b to a go to subjects jlink.a.b.rpc.<procedure>. Where b
// stands in a's stream is kept in b's bucket jlink-b-a-import.
func eventSubjects(from, to string) string { return "jlink." + from + "." + to + ".ev" }
func rpcSubjects(from, to string) string   { return "jlink." + from + "." + to + ".rpc" }
func streamName(from, to string) string    { return "jlink-" + from + "-" + to }
func stateBucket(name, peer string) string { return "jlink-" + name + "-" + peer + "-import" }

// Start starts the embedded NATS server (or connects to Config.NATS),
// declares the export stream and the procedures the peer may call, and
// starts joining the local realm and reading the peer's events in the
// background: Start does not wait for the local router nor for the
// peer, and the link keeps trying to reach both until Stop.
func (l *Link) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started || l.stopping {
		l.mu.Unlock()
		if l.stopping {
			return ErrStopped
		}
		return errors.New("link: started twice")
	}
	l.started = true
	l.mu.Unlock()

	if err := l.connectNATS(ctx); err != nil {
		l.closeNATS()
		return err
	}
	if err := l.startExports(ctx); err != nil {
		l.closeNATS()
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	l.cancel = cancel
	l.mu.Unlock()
	l.wg.Go(func() { l.runSession(runCtx) })
	if len(l.lists.importTopics) > 0 {
		l.wg.Go(func() { l.runImport(runCtx) })
	}
	if l.srv != nil {
		l.wg.Go(func() { l.watchLeaf(runCtx) })
	}
	l.log.Info("link: started", "domain", l.cfg.Name, "leaf_listen", l.LeafAddr(), "remote", redact(l.cfg.Remote),
		"export_topics", l.cfg.ExportTopics, "import_topics", l.cfg.ImportTopics,
		"export_procedures", l.cfg.ExportProcedures, "import_procedures", l.cfg.ImportProcedures)
	return nil
}

// connectNATS starts the embedded server if there is one and connects
// to it.
func (l *Link) connectNATS(ctx context.Context) error {
	var opts []nats.Option
	url := l.cfg.NATS
	if url == "" {
		srv, addr, err := startServer(ctx, l.cfg)
		if err != nil {
			return err
		}
		l.srv, l.leafAddr = srv, addr
		opts = append(opts, nats.InProcessServer(srv))
	}
	opts = append(opts,
		nats.Name("junction-link-"+l.cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100*time.Millisecond),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			l.log.Warn("link: nats", "subject", subjectOf(sub), "err", err)
		}))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("link: connect to NATS: %w", err)
	}
	l.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("link: jetstream: %w", err)
	}
	l.js = js
	return nil
}

func subjectOf(sub *nats.Subscription) string {
	if sub == nil {
		return ""
	}
	return sub.Subject
}

func (l *Link) closeNATS() {
	if l.nc != nil {
		l.nc.Close()
	}
	if l.srv != nil {
		l.srv.Shutdown()
		l.srv.WaitForShutdown()
	}
}

// Stop stops the link: the peer's events are no longer read, calls in
// flight for the peer are answered (within ctx), the local session says
// GOODBYE and the embedded NATS server stops. Events exported and not
// yet read by the peer stay in the stream for the next run. Safe to call
// more than once and on a link never started.
func (l *Link) Stop(ctx context.Context) error {
	l.stopOnce.Do(func() {
		l.mu.Lock()
		l.stopping = true
		cancel, subs := l.cancel, l.subs
		l.mu.Unlock()
		for _, s := range subs {
			if err := s.Drain(); err != nil {
				l.log.Debug("link: drain", "subject", s.Subject, "err", err)
			}
		}
		if cancel != nil {
			cancel()
		}
		waitGroup(ctx, &l.calls)
		waitGroup(ctx, &l.wg)
		if sess := l.session(); sess != nil {
			if err := sess.Close(ctx); err != nil {
				l.log.Debug("link: close the session", "err", err)
			}
		}
		l.closeNATS()
		close(l.stopped)
		l.log.Info("link: stopped")
	})
	select {
	case <-l.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitGroup waits for wg, or for ctx to end.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Stopped is closed when Stop has finished.
func (l *Link) Stopped() <-chan struct{} { return l.stopped }

// Conn returns the link's connection to its NATS server (nil before
// Start): an app may keep its own data there, in JetStream domain
// Config.Name. It must not be closed.
func (l *Link) Conn() *nats.Conn { return l.nc }

// LeafAddr returns the address of the embedded server's leaf node
// listener ("127.0.0.1:7422"), or "" without one: with Listen's port 0,
// the port it got.
func (l *Link) LeafAddr() string {
	return l.leafAddr
}

// Up reports whether the leaf node connection to the peer is up right
// now. With Config.NATS, where the link does not see the server's leaf
// connections, it reports whether the NATS connection is.
func (l *Link) Up() bool {
	if l.srv == nil {
		return l.nc != nil && l.nc.IsConnected()
	}
	return l.srv.NumLeafNodes() > 0
}

// watchLeaf logs the leaf node connection going down and coming back.
func (l *Link) watchLeaf(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		up := l.Up()
		l.mu.Lock()
		changed := up != l.leafUp
		l.leafUp = up
		l.mu.Unlock()
		if changed && up {
			l.log.Info("link: connected to the peer")
			select {
			case l.leafBack <- struct{}{}:
			default:
			}
		} else if changed {
			l.log.Warn("link: the peer is unreachable; exported events wait in the stream, calls to it fail with " + string(URILinkDown))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// redact removes the credentials of a URL, for logs.
func redact(s string) string {
	u, err := remoteURL(s, "", "", "")
	if err != nil || u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// backoff returns the delay after attempt n (from 0): 100ms doubling to
// 5s, jittered down by up to half.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends, and reports whether ctx is alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// wampError turns err into the *wamp.Error a WAMP peer gets.
func wampError(err error) *wamp.Error {
	var we *wamp.Error
	if errors.As(err, &we) {
		return we
	}
	return &wamp.Error{URI: client.ErrRuntime.URI, Args: wamp.List{err.Error()}}
}

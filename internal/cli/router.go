package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
)

// server is a router behind an HTTP listener (/ws, /healthz, /metrics)
// and any RawSocket listeners.
type server struct {
	router *router.Router
	http   *http.Server
	ln     net.Listener
	log    *slog.Logger

	// stopRawSockets makes the RawSocket accept loops close their
	// listeners; rawSockets waits for the loops.
	stopRawSockets context.CancelFunc
	rawSockets     sync.WaitGroup
}

type routerFlags struct {
	listen     string
	rawsockets multiFlag
	realms     multiFlag
	history    historyFlag
	maxMessage int
	queue      int
	logs       logFlags
}

func (f *routerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve WebSocket (/ws), health (/healthz) and metrics (/metrics) on")
	fs.Var(&f.rawsockets, "rawsocket", "also serve WAMP over RawSocket on a TCP HOST:PORT or a Unix socket unix:PATH (repeatable)")
	fs.Var(&f.realms, "realm", "another realm to serve besides realm1, open to anonymous sessions (repeatable)")
	fs.Var(&f.history, "event-history", "keep the last LIMIT events of [prefix:|wildcard:]TOPIC=LIMIT for wamp.subscription.get_events (repeatable)")
	fs.IntVar(&f.maxMessage, "max-message-size", transport.DefaultMaxMessageSize, "largest incoming message, in bytes")
	fs.IntVar(&f.queue, "outbound-queue", transport.DefaultOutboundQueue, "messages queued for a slow peer before it is disconnected")
	f.logs.register(fs)
}

func startServer(f *routerFlags, stderr io.Writer) (*server, error) {
	log, err := f.logs.logger(stderr)
	if err != nil {
		return nil, err
	}
	realms := []string{"realm1"}
	for _, r := range f.realms {
		if !slices.Contains(realms, r) {
			realms = append(realms, r)
		}
	}
	tcfg := transport.Config{
		MaxMessageSize: f.maxMessage,
		OutboundQueue:  f.queue,
		Logger:         log,
	}
	rt, err := router.New(router.Config{
		Realms:       realms,
		Logger:       log,
		Transport:    tcfg,
		EventHistory: f.history,
	})
	if err != nil {
		return nil, usageError{err}
	}
	rsListeners, err := listenRawSockets(f.rawsockets)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		for _, l := range rsListeners {
			l.Close()
		}
		return nil, fmt.Errorf("listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ws", rt)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(rt.Metrics(), promhttp.HandlerOpts{}))
	s := &server{router: rt, ln: ln, log: log, http: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server failed", "err", err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopRawSockets = cancel
	for _, l := range rsListeners {
		s.rawSockets.Go(func() {
			if err := transport.ServeRawSocket(ctx, l, tcfg, rt.Attach); err != nil {
				log.Error("rawsocket server failed", "err", err)
			}
		})
	}
	log.Info("router listening", "url", "ws://"+ln.Addr().String()+"/ws", "realms", rt.Realms())
	for _, l := range rsListeners {
		log.Info("router listening", "url", rawSocketURL(l.Addr()), "realms", rt.Realms())
	}
	return s, nil
}

// stop closes the RawSocket listeners (removing Unix socket files), says
// GOODBYE to every session, then closes the HTTP listener.
func (s *server) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.stopRawSockets()
	s.http.SetKeepAlivesEnabled(false)
	s.router.Stop(ctx)
	s.http.Shutdown(ctx)
	// The accept loops return once their sessions have, which Stop saw to.
	s.rawSockets.Wait()
	s.log.Info("router stopped")
}

func runRouter(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("junction router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f routerFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	wait := notifySignals()
	s, err := startServer(&f, stderr)
	if err != nil {
		return err
	}
	wait()
	s.stop()
	return nil
}

// notifySignals starts catching SIGINT and SIGTERM, before anything is
// announced, and returns a function that blocks until one arrives; a
// second signal exits at once.
func notifySignals() (wait func()) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	return func() {
		<-sig
		go func() {
			<-sig
			os.Exit(1)
		}()
	}
}

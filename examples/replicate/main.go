// Command replicate is a small paste service that runs as two
// independent instances, each with its own router, realm and store,
// linked by package link: a paste made on one is readable on the other
// within a second, and one made while the other is down arrives once it
// is back.
//
// Each instance stores its pastes in a NATS key-value bucket of its own
// (in the link's embedded NATS server, under --data-dir) and publishes
// paste.created for each new one; the link exports that topic to the
// other instance and imports the other's, and each instance stores what
// it receives.
//
//	replicate run --name a --peer b --realm a --listen 127.0.0.1:8081 --data-dir /tmp/a --link-listen 127.0.0.1:7422 --link-token s3cret
//	replicate run --name b --peer a --realm b --listen 127.0.0.1:8082 --data-dir /tmp/b --link-remote nats-leaf://127.0.0.1:7422 --link-token s3cret
//
//	curl -d 'hello' 127.0.0.1:8081/pastes         # {"id":"..."}
//	curl 127.0.0.1:8082/pastes/ID                 # hello
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/link"
	"github.com/junction-run/junction/wamp"
	"github.com/nats-io/nats.go/jetstream"
)

// Settings are the instance's own flags (--name, --peer, --link-*),
// besides the app's built-in ones (--listen, --realm, --data-dir...).
type Settings struct {
	Name       string `help:"this instance's name: the link's, and its NATS JetStream domain"`
	Peer       string `help:"the other instance's name"`
	LinkListen string `help:"address where the other instance's link connects (a NATS leaf node listener; port 0 picks one)"`
	LinkRemote string `help:"the other instance's leaf node listener, nats-leaf://HOST:PORT"`
	LinkToken  string `help:"the secret both instances' links share"`
}

// Validate checks the link's config before anything starts, so that a
// mistake stops the app at once (exit code 2), naming the setting.
func (s *Settings) Validate() error {
	cfg := s.linkConfig(nil, "realm1", "/data")
	// The app's router is in-process and does not run yet: any URL
	// stands for it here.
	cfg.Router = "ws://127.0.0.1/ws"
	_, err := link.New(cfg)
	return err
}

// topic is the topic of new pastes: exported to the other instance and
// imported from it.
const topic = "paste.created"

// linkConfig is the link's config: it joins realm in the app's router,
// and keeps its NATS store (the pastes' too) in dataDir/NAME.
func (s *Settings) linkConfig(app *junction.Application, realm, dataDir string) link.Config {
	cfg := link.Config{
		Name: s.Name, Peer: s.Peer, Realm: wamp.URI(realm),
		DataDir: filepath.Join(dataDir, s.Name),
		Listen:  s.LinkListen, Remote: s.LinkRemote, Token: s.LinkToken,
		ExportTopics: []string{topic},
		ImportTopics: []string{topic},
	}
	if app != nil {
		cfg.Local, cfg.Logger = app.Router(), app.Logger()
	}
	return cfg
}

func main() { newApp().Run() }

// service is one instance's state once it runs.
type service struct {
	app      *junction.Application
	settings Settings

	mu    sync.Mutex
	link  *link.Link
	store jetstream.KeyValue // nil until the link runs

	created, replicated, duplicates atomic.Int64
}

func newApp() *junction.Application {
	app := junction.New("paste")
	s := &service{app: app}
	app.AddSettings(&s.settings)
	app.HTTP.Post("/pastes", junction.Handle(s.create))
	app.HTTP.Get("/pastes/{id}", junction.Handle(s.get))
	app.HTTP.Get("/stats", junction.Handle(s.stats))
	app.Subscribe(topic, s.replicate)
	app.On(junction.Ready, s.start)
	app.On(junction.Stopping, s.stop)
	return app
}

// start starts the link and opens the bucket of pastes.
func (s *service) start(ctx context.Context, _ ...any) error {
	set := s.app.Settings()
	l, err := link.New(s.settings.linkConfig(s.app, set.Realm, set.DataDir))
	if err != nil {
		return err
	}
	if err := l.Start(ctx); err != nil {
		return err
	}
	js, err := jetstream.New(l.Conn())
	if err != nil {
		return err
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: "pastes", Description: "pastes, made here or replicated", Storage: jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("open the bucket of pastes: %w", err)
	}
	s.mu.Lock()
	s.link, s.store = l, kv
	s.mu.Unlock()
	s.app.Logger().Info("replicate: serving pastes", "name", s.settings.Name, "peer", s.settings.Peer,
		"link_listen", l.LeafAddr(), "link_remote", s.settings.LinkRemote)
	return nil
}

func (s *service) stop(ctx context.Context, _ ...any) error {
	s.mu.Lock()
	l := s.link
	s.mu.Unlock()
	if l == nil {
		return nil
	}
	return l.Stop(ctx)
}

func (s *service) kv() (jetstream.KeyValue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store == nil {
		return nil, junction.NewHTTPError(http.StatusServiceUnavailable, "starting")
	}
	return s.store, nil
}

// maxPaste bounds a paste.
const maxPaste = 64 << 10

// create stores the request's body as a new paste, tells the other
// instance (through the link), and answers its id.
func (s *service) create(w http.ResponseWriter, r *http.Request) error {
	kv, err := s.kv()
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPaste))
	if err != nil {
		return junction.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("a paste holds %d bytes at most", maxPaste))
	}
	if len(body) == 0 {
		return junction.NewHTTPError(http.StatusBadRequest, "empty paste: send the text as the request's body")
	}
	id := newID()
	if _, err := kv.Create(r.Context(), id, body); err != nil {
		return fmt.Errorf("store paste: %w", err)
	}
	s.created.Add(1)
	// The app's own subscription would store it again: ExcludeMe.
	if err := s.app.Publish(r.Context(), topic, id, string(body), junction.ExcludeMe()); err != nil {
		// Stored here; the other instance misses it. Say so loudly.
		s.app.Logger().Error("replicate: paste not sent to the peer", "id", id, "err", err)
	}
	return junction.JSON(w, http.StatusCreated, junction.M{"id": id})
}

// get answers a paste's text.
func (s *service) get(w http.ResponseWriter, r *http.Request) error {
	kv, err := s.kv()
	if err != nil {
		return err
	}
	e, err := kv.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return junction.NewHTTPError(http.StatusNotFound, "no such paste")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write(e.Value())
	return err
}

// stats answers what this instance did since it started: pastes made
// here, pastes replicated from the peer, and replications of pastes it
// already had (duplicates, which the link should never deliver).
func (s *service) stats(w http.ResponseWriter, _ *http.Request) error {
	return junction.JSON(w, http.StatusOK, junction.M{
		"created": s.created.Load(), "replicated": s.replicated.Load(), "duplicates": s.duplicates.Load(),
	})
}

// replicate stores a paste made on the other instance. Create refuses
// an id already stored: a duplicate delivery is counted, not stored.
func (s *service) replicate(ctx context.Context, id, text string) error {
	kv, err := s.kv()
	for err != nil {
		// Events may come before the bucket is open, at start.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		kv, err = s.kv()
	}
	_, err = kv.Create(ctx, id, []byte(text))
	if errors.Is(err, jetstream.ErrKeyExists) {
		s.duplicates.Add(1)
		s.app.Logger().Warn("replicate: paste received twice", "id", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("store replicated paste %s: %w", id, err)
	}
	s.replicated.Add(1)
	s.app.Logger().Info("replicate: paste replicated", "id", id, "from", s.settings.Peer)
	return nil
}

// newID returns a random paste id.
func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/junction-run/junction/queue"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/webhook"
)

// webhookConfig is the webhooks section of the node file: the hooks
// (package webhook), and where the queue of their deliveries lives.
type webhookConfig struct {
	webhook.Config `yaml:",inline"`
	// DataDir holds the deliveries' queue, an embedded NATS JetStream.
	// Default: the webhooks directory in --data-dir (or in the cluster
	// section's data_dir). Without either, the file is refused: a queue
	// that lost its deliveries at each restart would not be durable.
	DataDir string `yaml:"data_dir"`
}

// webhooksDir is the directory of the webhooks' queue in a data dir
// shared with the cluster's JetStream.
const webhooksDir = "webhooks"

// webhookPlan checks the file's webhooks section, its paths made
// relative to the file. nil for none.
func webhookPlan(cf *configFile) (*webhookConfig, error) {
	w := cf.cfg.Webhooks
	if w == nil {
		return nil, nil
	}
	w.DataDir = cf.filePath(w.DataDir)
	for i := range w.Hooks {
		w.Hooks[i].SecretFile = cf.filePath(w.Hooks[i].SecretFile)
	}
	if _, err := w.Load(); err != nil {
		return nil, usageError{cf.at(err, "webhooks")}
	}
	return w, nil
}

// webhookDataDir gives the webhooks' queue its directory when the file
// left it out: in --data-dir, else in the cluster section's data_dir.
func (f *routerFlags) webhookDataDir(p *plan, cc clusterConfig) error {
	if p.webhooks == nil || p.webhooks.DataDir != "" {
		return nil
	}
	dir := cc.DataDir
	if f.set["data-dir"] {
		dir = f.dataDir
	}
	if dir == "" {
		return usagef("webhooks need a directory for the queue of their deliveries: pass --data-dir, or set webhooks.data_dir in the configuration file")
	}
	p.webhooks.DataDir = filepath.Join(dir, webhooksDir)
	return nil
}

// webhooks runs the node's webhooks: their queue engine and dispatcher.
type webhooks struct {
	eng *queue.Engine
	d   *webhook.Dispatcher
	log *slog.Logger
}

// startWebhooks opens the queue engine in the data dir and starts the
// dispatcher; it leaves nothing running when it fails.
func startWebhooks(wc *webhookConfig, rt *router.Router, log *slog.Logger) (*webhooks, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng, err := queue.Open(ctx, queue.Config{DataDir: wc.DataDir, Logger: log, Registerer: rt.Metrics()})
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	cfg := wc.Config
	cfg.Logger, cfg.Registerer = log, rt.Metrics()
	d, err := webhook.New(rt, eng, cfg)
	if err == nil {
		err = d.Start(ctx)
	}
	w := &webhooks{eng: eng, d: d, log: log}
	if err != nil {
		w.stop(ctx)
		return nil, err
	}
	log.Info("webhooks started", "hooks", len(cfg.Hooks), "data_dir", wc.DataDir)
	return w, nil
}

// stop stops the dispatcher, leaving deliveries in flight until ctx
// ends, and closes the engine. A nil w does nothing.
func (w *webhooks) stop(ctx context.Context) {
	if w == nil {
		return
	}
	var errs []error
	if w.d != nil {
		errs = append(errs, w.d.Stop(ctx))
	}
	errs = append(errs, w.eng.Close(ctx))
	if err := errors.Join(errs...); err != nil {
		w.log.Warn("webhooks: stopping", "err", err)
	}
}

// Status is the hooks' status, for the web admin.
func (w *webhooks) Status() []webhook.Status {
	if w == nil {
		return nil
	}
	return w.d.Status()
}

package junction

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/router"
)

// An app's embedded router can be one node of a cluster of instances of
// the app (settings ClusterListen, Peers, NodeName, ClusterTokenFile):
// every instance's procedures and topics are then reachable from every
// other, and the app's queues live in the cluster's JetStream, so that
// any instance's workers take any instance's tasks. See "Running a
// cluster" in the README.

// Clustered links the cluster's code into the app, so that --cluster-listen
// works: an app that declares a queue or a cron job has it already (they
// use NATS too); others leave it out, which keeps the embedded NATS server
// out of their binary. Option of New.
func Clustered() Option {
	return appOpt{"Clustered", func(app *Application) { app.startCluster = startClusterNode }}
}

// clusterNode is what the app keeps of its cluster membership.
type clusterNode interface {
	Name() string
	Nodes() []string
	ClientURL() string
	Close() error
}

// startClusterNode joins rt to the cluster the settings describe.
func startClusterNode(ctx context.Context, cfg cluster.Config, rt *router.Router) (clusterNode, error) {
	return cluster.Start(ctx, cfg, rt)
}

// planCluster checks the cluster settings and keeps the cluster they ask
// for in app.clusterCfg, nil for none: Start calls it before anything
// runs.
func (app *Application) planCluster() error {
	s := &app.settings
	if s.ClusterListen == "" {
		if len(s.Peers) > 0 || s.NodeName != "" || s.ClusterTokenFile != "" {
			return errors.New("junction: --peers, --node-name and --cluster-token-file need --cluster-listen")
		}
		return nil
	}
	if s.Connect != "" {
		return errors.New("junction: --cluster-listen makes the app's embedded router a node of a cluster: it excludes --connect, which joins a remote router instead")
	}
	app.mu.Lock()
	linked := app.startCluster != nil
	app.mu.Unlock()
	if !linked {
		return errors.New("junction: --cluster-listen: this app is built without the cluster's code; give junction.New the junction.Clustered() option")
	}
	cfg := cluster.Config{Name: s.NodeName, Cluster: natsName(app.name), Listen: s.ClusterListen, Peers: s.Peers, Logger: app.log}
	if s.ClusterTokenFile != "" {
		b, err := os.ReadFile(s.ClusterTokenFile)
		if err != nil {
			return fmt.Errorf("junction: cluster token: %w", err)
		}
		if cfg.Token = strings.TrimSpace(string(b)); cfg.Token == "" {
			return fmt.Errorf("junction: cluster token file %s is empty", s.ClusterTokenFile)
		}
	}
	if app.needsEngine() && s.NATS == "" {
		// The queues live in the cluster's JetStream, reached on a
		// loopback port of the embedded server; joinCluster puts its
		// store in the data dir, opened by then.
		cfg.DataDir = "data-dir"
		cfg.ClientListen = "127.0.0.1:0"
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("junction: %w", err)
	}
	app.clusterCfg = &cfg
	return nil
}

// joinCluster makes the embedded router rt a node of the app's cluster,
// if the settings ask for one.
func (app *Application) joinCluster(ctx context.Context, rt *router.Router) error {
	if app.clusterCfg == nil {
		return nil
	}
	cfg := *app.clusterCfg
	if cfg.DataDir != "" {
		cfg.DataDir = filepath.Join(app.dataPath(), "nats")
	}
	app.mu.Lock()
	start := app.startCluster
	app.mu.Unlock()
	node, err := start(ctx, cfg, rt)
	if err != nil {
		return fmt.Errorf("junction: %w", err)
	}
	app.mu.Lock()
	app.cluster = node
	app.mu.Unlock()
	return nil
}

// ClusterNodes returns the names of the cluster's nodes this instance
// sees, itself included, or nil when the app is not clustered.
func (app *Application) ClusterNodes() []string {
	app.mu.Lock()
	node := app.cluster
	app.mu.Unlock()
	if node == nil {
		return nil
	}
	return node.Nodes()
}

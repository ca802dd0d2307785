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

// clusterConfig is the cluster the app's settings ask for; ok is false
// when they ask for none.
func (app *Application) clusterConfig() (cfg cluster.Config, ok bool, err error) {
	s := &app.settings
	if s.ClusterListen == "" {
		if len(s.Peers) > 0 || s.NodeName != "" || s.ClusterTokenFile != "" {
			return cfg, false, errors.New("junction: --peers, --node-name and --cluster-token-file need --cluster-listen")
		}
		return cfg, false, nil
	}
	if s.Connect != "" {
		return cfg, false, errors.New("junction: --cluster-listen makes the app's embedded router a node of a cluster: it excludes --connect, which joins a remote router instead")
	}
	cfg = cluster.Config{Name: s.NodeName, Cluster: natsName(app.name), Listen: s.ClusterListen, Peers: s.Peers, Logger: app.log}
	if s.ClusterTokenFile != "" {
		b, err := os.ReadFile(s.ClusterTokenFile)
		if err != nil {
			return cfg, false, fmt.Errorf("junction: cluster token: %w", err)
		}
		if cfg.Token = strings.TrimSpace(string(b)); cfg.Token == "" {
			return cfg, false, fmt.Errorf("junction: cluster token file %s is empty", s.ClusterTokenFile)
		}
	}
	if app.needsEngine() && s.NATS == "" {
		// The queues live in the cluster's JetStream, reached on a
		// loopback port of the embedded server.
		cfg.DataDir = filepath.Join(app.dataPath(), "nats")
		cfg.ClientListen = "127.0.0.1:0"
	}
	if err := cfg.Validate(); err != nil {
		return cfg, false, fmt.Errorf("junction: %w", err)
	}
	return cfg, true, nil
}

// joinCluster makes the embedded router rt a node of the app's cluster,
// if the settings ask for one.
func (app *Application) joinCluster(ctx context.Context, rt *router.Router) error {
	cfg, ok, err := app.clusterConfig()
	if err != nil || !ok {
		return err
	}
	app.mu.Lock()
	start := app.startCluster
	app.mu.Unlock()
	if start == nil {
		return errors.New("junction: --cluster-listen: this app is built without the cluster's code; give junction.New the junction.Clustered() option")
	}
	node, err := start(ctx, cfg, rt)
	if err != nil {
		return fmt.Errorf("junction: %w", err)
	}
	app.mu.Lock()
	app.cluster, app.clusterToken = node, cfg.Token
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

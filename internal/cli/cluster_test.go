package cli

import (
	"slices"
	"strings"
	"testing"
)

// TestClusterSettings: the cluster section of the node file, the flags
// over it, and the errors of both.
func TestClusterSettings(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "cluster.token", "s3cret\n")
	file := writeFile(t, dir, "node.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
cluster:
  node_name: n2
  listen: "127.0.0.1:7422"
  peers: ["127.0.0.1:7421", "127.0.0.1:7422"]
  token_file: cluster.token
  data_dir: nats
  dead_after: 5s
`)
	p, err := planFor(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	c := p.cluster
	if c.Name != "n2" || c.Listen != "127.0.0.1:7422" || !slices.Equal(c.Peers, []string{"127.0.0.1:7421", "127.0.0.1:7422"}) ||
		c.Token != "s3cret" || c.DataDir != dir+"/nats" || c.DeadAfter.String() != "5s" || c.Cluster != "junction" {
		t.Fatalf("cluster from the file: %+v", c)
	}
	p, err = planFor(t, "--config", file, "--node-name", "other", "--peers", "127.0.0.1:7000,127.0.0.1:7001", "--cluster-name", "blue")
	if err != nil {
		t.Fatal(err)
	}
	if c := p.cluster; c.Name != "other" || !slices.Equal(c.Peers, []string{"127.0.0.1:7000", "127.0.0.1:7001"}) || c.Cluster != "blue" {
		t.Fatalf("flags over the file: %+v", c)
	}
	if p, err := planFor(t); err != nil || p.cluster.Enabled() {
		t.Fatalf("no cluster by default: %+v %v", p.cluster, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--node-name", "n1"}, "need --cluster-listen or --nats"},
		{[]string{"--cluster-listen", "127.0.0.1:7422", "--node-name", "bad name"}, "--node-name"},
		{[]string{"--cluster-listen", "nonsense"}, "--cluster-listen"},
		{[]string{"--peers", "127.0.0.1:1,x"}, "--peers"},
		{[]string{"--nats", "http://x"}, "--nats"},
		{[]string{"--nats", "nats://127.0.0.1:4222", "--cluster-listen", "127.0.0.1:7422"}, "excludes --cluster-listen"},
		{[]string{"--cluster-listen", "127.0.0.1:7422", "--data-dir", dir}, "needs its nodes listed in --peers"},
		{[]string{"--cluster-listen", "127.0.0.1:7422", "--cluster-token-file", dir + "/missing"}, "cluster token"},
	} {
		if _, err := planFor(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// TestLinkSettings: the links section is checked with the rest of the
// file, its errors naming the link's entry.
func TestLinkSettings(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "node.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
links:
  - {name: eu, peer: us, data_dir: link, listen: "127.0.0.1:0", export_topics: [shop.order]}
`)
	p, err := planFor(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.links) != 1 || p.links[0].Name != "eu" || p.links[0].DataDir != dir+"/link" || p.links[0].Local != nil {
		t.Fatalf("links %+v", p.links)
	}
	bad := writeFile(t, dir, "bad.yaml", `
listeners: [{type: websocket, address: "127.0.0.1:0"}]
open_realms: [realm1]
links:
  - {name: eu, peer: us, data_dir: link, remote: "http://x"}
`)
	if _, err := planFor(t, "--config", bad); err == nil || !strings.Contains(err.Error(), "links[0]") || !strings.Contains(err.Error(), "remote") {
		t.Fatalf("a bad link: %v", err)
	}
}

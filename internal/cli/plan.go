package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/internal/connlimit"
	"github.com/junction-run/junction/link"
	"github.com/junction-run/junction/router"
)

// plan is what junction router runs: the router's configuration, the
// listeners (certificates loaded) and the log settings, from the
// configuration file and the flags.
type plan struct {
	cfg       router.Config
	listeners []listenerSpec
	logs      logFlags
	conns     connlimit.Config
	// cluster is the cluster to join; !cluster.Enabled() for none.
	cluster cluster.Config
	// links are the file's links, data dirs resolved; Local is set
	// when the router is made.
	links []link.Config
	// bridge is the HTTP bridge's configuration, nil for none.
	bridge *admin.BridgeConfig
	// webhooks are the file's webhooks, nil for none.
	webhooks *webhookConfig
	// admin is the web admin's configuration, loaded, nil for none.
	admin *admin.Config
}

// plan checks the configuration file and merges it with the flags, which
// checked their own values. Without --config, the flags describe
// everything, their defaults included, and realm1 is always served. With
// it, the file does, and flags given as well override it:
// --listen replaces the address of the file's first websocket listener
// (or adds one), --rawsocket adds listeners, --realm adds open realms,
// --event-history adds rules, and --max-message-size, --outbound-queue,
// --log-level and --log-format replace the file's values.
func (f *routerFlags) plan() (*plan, error) {
	p := &plan{logs: f.logs}
	var cc clusterConfig
	if f.config == "" {
		p.cfg.Realms = []string{"realm1"}
		ws, err := f.listenSpec()
		if err != nil {
			return nil, err
		}
		p.listeners = append(p.listeners, ws)
	} else {
		cf, err := loadConfig(f.config)
		if err != nil {
			return nil, usageError{err}
		}
		if p.listeners, err = cf.validate(); err != nil {
			return nil, usageError{err}
		}
		c := cf.cfg
		p.cfg = router.Config{
			Realms:         c.OpenRealms,
			RealmConfigs:   c.Realms,
			Limits:         c.Limits,
			StrictURIs:     c.StrictURIs,
			GoodbyeTimeout: c.GoodbyeTimeout,
			EventHistory:   c.EventHistory,
			Transport:      c.Transport,
		}
		p.conns = c.Connections
		cc = c.Cluster
		if b := c.HTTPBridge; b != nil {
			for i := range b.Tokens {
				b.Tokens[i].TokenFile = cf.filePath(b.Tokens[i].TokenFile)
			}
			for i := range b.SignedKeys {
				b.SignedKeys[i].SecretFile = cf.filePath(b.SignedKeys[i].SecretFile)
			}
			if _, err := b.Load(); err != nil {
				return nil, usageError{cf.at(err, "http_bridge")}
			}
			p.bridge = b
		}
		if p.webhooks, err = webhookPlan(cf); err != nil {
			return nil, err
		}
		if a := c.Admin; a != nil {
			for i := range a.Users {
				a.Users[i].PasswordFile = cf.filePath(a.Users[i].PasswordFile)
			}
			loaded, err := a.Load()
			if err != nil {
				return nil, usageError{cf.at(err, "admin")}
			}
			p.admin = &loaded
		}
		for i, lc := range c.Links {
			lc.DataDir = cf.filePath(lc.DataDir)
			if lc.Router != "" {
				return nil, usageError{cf.at(errors.New("a link of a node joins the node's own router: leave router out"), "links", i, "router")}
			}
			if err := lc.Validate(); err != nil {
				return nil, usageError{cf.at(err, "links", i)}
			}
			p.links = append(p.links, lc)
		}
		if cc.TokenFile != "" {
			cc.TokenFile = cf.filePath(cc.TokenFile)
		}
		if cc.DataDir != "" {
			cc.DataDir = cf.filePath(cc.DataDir)
		}
		if c.Log.Level != "" && !f.set["log-level"] {
			p.logs.level = c.Log.Level
		}
		if c.Log.Format != "" && !f.set["log-format"] {
			p.logs.format = c.Log.Format
		}
		if f.set["listen"] {
			ws, err := f.listenSpec()
			if err != nil {
				return nil, err
			}
			if i := slices.IndexFunc(p.listeners, func(l listenerSpec) bool { return l.kind == listenWebSocket }); i >= 0 {
				p.listeners[i].network, p.listeners[i].address = ws.network, ws.address
				p.listeners[i].where += ", address from --listen"
			} else {
				p.listeners = append(p.listeners, ws)
			}
		}
		for _, r := range f.realms {
			if i := slices.Index(c.OpenRealms, r); i >= 0 {
				return nil, usageError{fmt.Errorf("--realm %s: %s", r, cf.at(errors.New("already an open realm"), "open_realms", i))}
			}
			if i := slices.IndexFunc(c.Realms, func(rc router.RealmConfig) bool { return rc.Name == r }); i >= 0 {
				return nil, usageError{fmt.Errorf("--realm %s: %s", r, cf.at(errors.New("already configured"), "realms", i))}
			}
		}
		if len(c.OpenRealms)+len(c.Realms)+len(f.realms) == 0 {
			return nil, usageError{cf.at(errors.New("no realm: list them under realms or open_realms, or pass --realm"))}
		}
	}
	for _, r := range f.realms {
		if !slices.Contains(p.cfg.Realms, r) {
			p.cfg.Realms = append(p.cfg.Realms, r)
		}
	}
	for _, v := range f.rawsockets {
		network, address, err := rawSocketAddr(v)
		if err != nil {
			return nil, usagef("invalid value %q for --rawsocket: %w", v, err)
		}
		p.listeners = append(p.listeners, listenerSpec{kind: listenRawSocket, network: network, address: address, where: "--rawsocket"})
	}
	if len(p.listeners) == 0 {
		return nil, usageError{fmt.Errorf("%s: %w", f.config, errNoListener)}
	}
	p.cfg.EventHistory = append(p.cfg.EventHistory, f.history...)
	// given says whether the flag name sets the value: always without a
	// file, only if given with one.
	given := func(name string) bool { return f.config == "" || f.set[name] }
	if given("max-message-size") {
		p.cfg.Transport.MaxMessageSize = f.maxMessage
	}
	if given("outbound-queue") {
		p.cfg.Transport.OutboundQueue = f.queue
	}
	if given("max-connections") {
		p.conns.MaxConnections = f.maxConns
	}
	// Only when given: a per-IP limit above the total is a mistake, but
	// the default one is not, when --max-connections is below it. Left
	// out, it is connlimit's default, which is the flag's.
	if f.set["max-connections-per-ip"] {
		p.conns.MaxConnectionsPerIP = f.maxConnsPerIP
	}
	if given("idle-timeout") {
		p.conns.IdleTimeout = f.idleTimeout
	}
	if f.bridgeTokenFile != "" {
		b := admin.BridgeConfig{Realm: "realm1", Tokens: []admin.BridgeToken{{TokenFile: f.bridgeTokenFile}}}
		if p.bridge != nil {
			b.Realm = p.bridge.Realm
		}
		if _, err := b.Load(); err != nil {
			return nil, usagef("--http-bridge-token-file: %w", err)
		}
		p.bridge = &b
	}
	if f.admin && p.admin == nil && f.adminPasswordFile == "" {
		// A user and password are made at start (startServer).
		p.admin = &admin.Config{SessionTTL: admin.DefaultSessionTTL}
	}
	if f.adminPasswordFile != "" {
		a := admin.Config{}
		if p.admin != nil {
			a = *p.admin
		}
		a.Users = append([]admin.User{admin.PasswordFileUser(f.adminPasswordFile)}, a.Users...)
		loaded, err := a.Load()
		if err != nil {
			return nil, usagef("--admin-password-file: %w", err)
		}
		p.admin = &loaded
	}
	if err := f.webhookDataDir(p, cc); err != nil {
		return nil, err
	}
	if err := f.clusterPlan(p, cc); err != nil {
		return nil, err
	}
	if err := p.conns.Validate(); err != nil {
		return nil, usagef("%w (--max-connections-per-ip, --max-connections, or connections: in the configuration file)", err)
	}
	if err := p.cfg.Transport.Validate(); err != nil {
		return nil, usageError{fmt.Errorf("%w (--max-message-size, or transport: in the configuration file)", err)}
	}
	return p, nil
}

// clusterPlan merges the cluster flags over the file's cluster section.
func (f *routerFlags) clusterPlan(p *plan, cc clusterConfig) error {
	set := func(name string) bool { return f.set[name] }
	if set("cluster-listen") {
		cc.Listen = f.clusterListen
	}
	if set("peers") {
		cc.Peers = splitList(f.peers)
	}
	if set("nats") {
		cc.NATS = splitList(f.natsURLs)
	}
	if set("node-name") {
		cc.Name = f.nodeName
	}
	if set("cluster-name") || cc.Cluster == "" {
		cc.Cluster = f.clusterName
	}
	if set("data-dir") {
		cc.DataDir = f.dataDir
	}
	if set("cluster-token-file") {
		cc.TokenFile = f.clusterTokenFile
	}
	p.cluster.Cluster = cc.Cluster
	if !cc.Enabled() {
		if set("node-name") || set("data-dir") && p.webhooks == nil || set("cluster-token-file") {
			return usagef("--node-name, --data-dir and --cluster-token-file need --cluster-listen or --nats (or, for --data-dir, webhooks)")
		}
		return nil
	}
	if cc.TokenFile != "" {
		b, err := os.ReadFile(cc.TokenFile)
		if err != nil {
			return usagef("cluster token: %w", err)
		}
		if cc.Token = strings.TrimSpace(string(b)); cc.Token == "" {
			return usagef("cluster token file %s is empty", cc.TokenFile)
		}
	}
	if err := cc.Validate(); err != nil {
		return usageError{err}
	}
	p.cluster = cc.Config
	return nil
}

// listenSpec is the WebSocket listener of --listen.
func (f *routerFlags) listenSpec() (listenerSpec, error) {
	network, address, err := listenAddr(listenWebSocket, f.listen)
	if err != nil {
		return listenerSpec{}, usagef("invalid value %q for --listen: %w", f.listen, err)
	}
	return listenerSpec{kind: listenWebSocket, network: network, address: address, path: defaultWSPath, where: "--listen"}, nil
}

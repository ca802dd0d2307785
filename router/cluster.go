package router

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// A cluster is several routers serving the same realms as one router.
// The router knows nothing of how nodes reach each other: a Link carries
// its frames (package cluster implements one over NATS), and the link's
// owner tells the node which peers are alive (Node.Seen, Node.Lost).
//
// Every node mirrors the sessions of its peers, with their registrations,
// subscriptions and testaments, as proxy sessions (session.remote set) in
// its own realms. So the dealer's precedence rules and invocation policies,
// the broker's black and white lists and the meta API see the whole
// cluster with no code of their own for it:
//
//   - A call whose chosen callee is a proxy is forwarded to the callee's
//     node, which runs it as a call from its "link session" for the
//     calling node; answers, INTERRUPTs, timeouts and a callee or node
//     leaving go through each side's ordinary dealer code.
//   - A publication is delivered to local subscribers, and sent once to
//     every node one of whose sessions is eligible for it (a proxy
//     matched the topic), which fans it out to its own subscribers. A
//     retained event, or one kept in event history, goes to every node.
//   - Meta events are published by the node of the session concerned and
//     travel like any event.
//
// A node's state reaches a peer as a snapshot, asked for when the peer
// first sees it, then as numbered deltas; a gap in the numbers, or a
// beacon announcing a number the peer has not reached, asks for a new
// snapshot, applied as a difference (what is already mirrored stays).

// Link carries frames between the nodes of a cluster.
type Link interface {
	// Send queues frame for node: frames sent to one node arrive in the
	// order they were sent, or not at all. It must not block, nor call
	// back into the Node.
	Send(node string, frame []byte)
}

// Node is a router's membership of a cluster. Its Receive, Seen and Lost
// methods must be called from one goroutine at a time (the link's), in
// the order the link learns things.
type Node struct {
	r    *Router
	name string
	link Link

	// mu orders the state this node sends: seq, and the set of peers
	// that are sent deltas. Snapshots are built under it.
	mu    sync.Mutex
	seq   uint64
	peers map[string]*peerNode

	// known holds what this node mirrors of each peer. Only the link's
	// goroutine touches it (Receive, Seen, Lost).
	known map[string]*peerNode
}

// peerNode is what one node knows of a peer.
type peerNode struct {
	name        string
	incarnation uint64
	// synced: a snapshot has been applied; seq is the last state number
	// applied; behind counts beacons announcing a later one.
	synced bool
	seq    uint64
	behind int
	// mark numbers the snapshots applied, for Node.sweep.
	mark uint64
	// sessions are the peer's sessions, mirrored as proxies.
	sessions map[wamp.ID]*session
	// links are, per realm, the session that makes this node's calls on
	// behalf of the peer's callers.
	links map[wamp.URI]*session
}

// remoteSession is what a proxy session holds of its peer.
type remoteSession struct {
	node *peerNode
	n    *Node
	info transport.Info
	// mark is that of the latest snapshot that named the session (see
	// Node.sweep).
	mark uint64
	// link: the session is the link session of a peer, not a mirror.
	link bool
	// done is made on the first call of Done, which few proxies see:
	// every node mirrors every session of its peers, so a proxy's bytes
	// are paid once per node for each session of the cluster.
	mu   sync.Mutex
	done chan struct{}
	gone bool
}

// doneChan returns the channel closed when the proxy goes.
func (r *remoteSession) doneChan() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		r.done = make(chan struct{})
		if r.gone {
			close(r.done)
		}
	}
	return r.done
}

// end closes the proxy's Done channel, if it was made.
func (r *remoteSession) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.gone && r.done != nil {
		close(r.done)
	}
	r.gone = true
}

type entryKey struct {
	uri   wamp.URI
	match wamp.MatchPolicy
}

// ErrClusterName is returned by JoinCluster for a bad node name.
var ErrClusterName = errors.New("router: node name must be 1 to 64 letters, digits, '-' or '_'")

// JoinCluster makes r a node named name of a cluster whose frames link
// carries. A router joins at most one cluster, before it serves sessions.
func (r *Router) JoinCluster(name string, link Link) (*Node, error) {
	if !ValidNodeName(name) {
		return nil, fmt.Errorf("%w: %q", ErrClusterName, name)
	}
	n := &Node{r: r, name: name, link: link, peers: make(map[string]*peerNode), known: make(map[string]*peerNode)}
	if !r.node.CompareAndSwap(nil, n) {
		return nil, errors.New("router: already a node of a cluster")
	}
	return n, nil
}

// ValidNodeName reports whether name can name a node: it goes into NATS
// subjects.
func ValidNodeName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Name is the node's name.
func (n *Node) Name() string { return n.name }

// Seq is the number of the node's latest state change, which beacons
// announce so that a peer that missed the last deltas notices.
func (n *Node) Seq() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.seq
}

// Peers returns the names of the peers this node has heard from and not
// lost, sorted.
func (n *Node) Peers() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	names := make([]string, 0, len(n.peers))
	for name := range n.peers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Seen records a beacon of peer: its incarnation (which changes when it
// restarts) and the number of its latest state change. A new peer, or a
// new incarnation, is asked for a snapshot, as is a peer whose state
// this node has been behind for two beacons.
func (n *Node) Seen(peer string, incarnation, seq uint64) {
	if peer == n.name {
		return
	}
	p := n.known[peer]
	if p != nil && p.incarnation != incarnation && p.incarnation != 0 {
		n.drop(p, true) // a restarted node: its old sessions are gone
		p = nil
	}
	if p == nil || p.incarnation == 0 {
		// New, or known only from a frame of its own so far.
		p = n.peer(peer)
		p.incarnation = incarnation
		if !p.synced {
			n.askSync(p)
		}
		return
	}
	if p.synced && seq > p.seq {
		if p.behind++; p.behind >= 2 {
			n.askSync(p)
		}
	} else {
		p.behind = 0
	}
}

// Lost forgets peer, found dead: its sessions leave the realms, calls to
// its callees end with wamp.error.canceled, and one surviving node (the
// first by name) publishes their testaments and wamp.session.on_leave.
func (n *Node) Lost(peer string) {
	if p := n.known[peer]; p != nil {
		n.drop(p, true)
	}
}

// Leave tells the peers that this node goes away, once its sessions have
// left: they forget it at once instead of waiting to find it dead.
func (n *Node) Leave() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for name := range n.peers {
		n.send(name, []byte{frameBye})
	}
}

// peer returns the peer named name, registering it. Only the link's
// goroutine calls it.
func (n *Node) peer(name string) *peerNode {
	p := n.known[name]
	if p == nil {
		p = &peerNode{name: name, sessions: make(map[wamp.ID]*session), links: make(map[wamp.URI]*session)}
		n.known[name] = p
		n.mu.Lock()
		n.peers[name] = p
		n.mu.Unlock()
		n.r.log.Info("router: cluster node joined", "node", name, "self", n.name)
		n.r.metrics.clusterNodes.Set(float64(len(n.known) + 1))
	}
	return p
}

func (n *Node) askSync(p *peerNode) {
	p.synced, p.behind = false, 0
	n.send(p.name, []byte{frameSync})
}

// drop forgets peer p and everything mirrored of it. reap: p died, so the
// first surviving node publishes its sessions' testaments and on_leave.
func (n *Node) drop(p *peerNode, reap bool) {
	delete(n.known, p.name)
	n.mu.Lock()
	delete(n.peers, p.name)
	reaper := n.name
	for name := range n.peers {
		reaper = min(reaper, name)
	}
	n.mu.Unlock()
	reap = reap && reaper == n.name
	for _, s := range p.links {
		s.realm.dealer.removeSession(s)
		s.remote.end()
	}
	for _, s := range p.sessions {
		n.removeProxy(s, reap)
	}
	n.r.metrics.clusterNodes.Set(float64(len(n.known) + 1))
	n.r.log.Info("router: cluster node left", "node", p.name, "self", n.name, "sessions", len(p.sessions))
}

// removeProxy removes a mirrored session. reap: its node died and this
// node speaks for it.
func (n *Node) removeProxy(s *session, reap bool) {
	delete(s.remote.node.sessions, s.id)
	s.realm.broker.removeSession(s)
	s.realm.dealer.removeSession(s)
	s.realm.remove(s)
	s.remote.end()
	if reap {
		s.publishTestaments()
		s.realm.metaEvent("wamp.session.on_leave", s.id, s.authid, s.authrole)
	}
}

// linkSession returns the session that makes calls in realm rl on behalf
// of peer p's callers.
func (n *Node) linkSession(p *peerNode, rl *realm) *session {
	s := p.links[rl.name]
	if s == nil {
		s = n.newProxy(p, rl, 0)
		s.remote.link = true
		s.authrole = "trusted"
		p.links[rl.name] = s
	}
	return s
}

func (n *Node) newProxy(p *peerNode, rl *realm, id wamp.ID) *session {
	s := &session{id: id, realm: rl, router: n.r, joined: time.Now()}
	s.remote = &remoteSession{node: p, n: n}
	s.peer = proxyPeer{s}
	return s
}

// Receive handles a frame from peer from.
func (n *Node) Receive(from string, frame []byte) {
	n.r.metrics.framesIn.Inc()
	if len(frame) == 0 || from == n.name {
		return
	}
	if err := n.receive(from, frame); err != nil {
		n.r.log.Warn("router: bad cluster frame", "node", from, "kind", frame[0], "err", err)
	}
}

func (n *Node) receive(from string, frame []byte) error {
	kind, body := frame[0], frame[1:]
	switch kind {
	case frameSync:
		n.sendSnapshot(n.peer(from))
		return nil
	case frameBye:
		if p := n.known[from]; p != nil {
			n.drop(p, false)
		}
		return nil
	case frameState:
		return n.applyState(n.peer(from), body)
	}
	p := n.known[from]
	if p == nil {
		return nil // a node lost meanwhile: what it sent is void
	}
	d := frameReader{b: body}
	rl := n.r.realm(wamp.URI(d.str()))
	if d.err != nil {
		return d.err
	}
	if rl == nil {
		return nil // a realm this node does not serve
	}
	switch kind {
	case framePublish:
		return n.receivePublish(p, rl, &d)
	case frameInvoke:
		return n.receiveInvoke(p, rl, &d)
	case frameInterrupt:
		m, err := d.message()
		if err != nil {
			return err
		}
		in, ok := m.(*wamp.Interrupt)
		if !ok {
			return fmt.Errorf("want INTERRUPT, got %s", m.Type())
		}
		rl.dealer.cancel(n.linkSession(p, rl), &wamp.Cancel{Request: in.Request, Options: in.Options})
		return nil
	case frameAnswer:
		m, err := d.message()
		if err != nil {
			return err
		}
		rl.dealer.remoteAnswer(p, m)
		return nil
	case frameKill:
		id := wamp.ID(d.uint())
		reason, message := d.str(), d.str()
		if d.err != nil {
			return d.err
		}
		if s := rl.session(id); s != nil && s.remote == nil {
			s.kill(wamp.URI(reason), message)
		}
		return nil
	}
	return fmt.Errorf("unknown frame kind %d", kind)
}

// proxyPeer is a proxy session's peer: what the router sends to the
// session goes to its node.
type proxyPeer struct{ s *session }

func (pp proxyPeer) Read() (wamp.Message, error) { return nil, transport.ErrClosed }
func (pp proxyPeer) SendShared(*transport.Shared) error {
	return nil // the broker sends publications to nodes, not to proxies
}
func (pp proxyPeer) Close() error          { return nil }
func (pp proxyPeer) Done() <-chan struct{} { return pp.s.remote.doneChan() }
func (pp proxyPeer) Info() transport.Info  { return pp.s.remote.info }

// Send forwards what the dealer or the meta API sends a remote session:
// an INVOCATION or INTERRUPT for a callee, a RESULT or ERROR for a link
// session (the answer to a call of the peer's), a GOODBYE for a kill.
func (pp proxyPeer) Send(m wamp.Message) error {
	s := pp.s
	n, rl := s.remote.n, s.realm
	var w frameWriter
	switch m := m.(type) {
	case *wamp.Invocation:
		reg := rl.dealer.registration(m.Registration)
		if reg == nil {
			return transport.ErrClosed // unregistered meanwhile: the call is canceled
		}
		w.kind(frameInvoke).str(string(rl.name)).uint(uint64(s.id)).str(string(reg.uri)).str(string(reg.match))
	case *wamp.Interrupt:
		w.kind(frameInterrupt).str(string(rl.name))
	case *wamp.Result, *wamp.ErrorMessage:
		w.kind(frameAnswer).str(string(rl.name))
	case *wamp.Goodbye:
		msg, _ := wamp.DictString(m.Details, "message")
		w.kind(frameKill).str(string(rl.name)).uint(uint64(s.id)).str(string(m.Reason)).str(msg)
		n.send(s.remote.node.name, w.b)
		return nil
	default:
		return nil // nothing else reaches a remote session
	}
	if err := w.message(m); err != nil {
		n.r.log.Warn("router: cannot forward to cluster node", "node", s.remote.node.name, "type", m.Type(), "err", err)
		return err
	}
	n.send(s.remote.node.name, w.b)
	return nil
}

// registration returns the registration with this ID, or nil.
func (d *dealer) registration(id wamp.ID) *entry {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.regs.get(id)
}

// receiveInvoke runs a call forwarded by the caller's node p: a new call,
// or the next chunk of a progressive one, for a callee of this node. The
// caller's node chose the callee and wrote the INVOCATION details; this
// node relays the call as its link session's, so that answers, INTERRUPTs
// and the callee leaving go through the dealer's usual paths.
func (n *Node) receiveInvoke(p *peerNode, rl *realm, fr *frameReader) error {
	calleeID := wamp.ID(fr.uint())
	uri, match := wamp.URI(fr.str()), wamp.MatchPolicy(fr.str())
	m, err := fr.message()
	if err != nil {
		return err
	}
	inv, ok := m.(*wamp.Invocation)
	if !ok {
		return fmt.Errorf("want INVOCATION, got %s", m.Type())
	}
	rl.dealer.callForPeer(n.linkSession(p, rl), inv, calleeID, entryKey{uri, match})
	return nil
}

// callForPeer is the callee side of a call forwarded from another node.
func (d *dealer) callForPeer(link *session, m *wamp.Invocation, calleeID wamp.ID, key entryKey) {
	progress, _ := wamp.DictBool(m.Details, "progress")
	d.mu.Lock()
	if inv := d.inFlight(link, m.Request); inv != nil {
		callee, id, regID := inv.callee, inv.id, inv.reg.id
		inv.streaming = progress
		d.mu.Unlock()
		callee.send(&wamp.Invocation{Request: id, Registration: regID, Details: m.Details, Payload: m.Payload})
		return
	}
	if d.endedChunk(link, m.Request, progress) {
		d.mu.Unlock()
		return
	}
	var callee *session
	reg := d.regs.lookup(key.uri, key.match)
	if reg != nil {
		for _, s := range reg.sessions() {
			if s.id == calleeID && s.remote == nil {
				callee = s
				break
			}
		}
	}
	if callee == nil {
		d.mu.Unlock()
		link.send(requestError(m.Request, wamp.TypeCall, wamp.URICanceled, "the callee left before the call reached it"))
		return
	}
	// The caller's node wrote the details of every chunk (inv.details
	// stays unset) and keeps the call's timeout.
	receive, _ := wamp.DictBool(m.Details, "receive_progress")
	inv := &invocation{id: d.realm.router.ids.Next(), caller: link, callRequest: m.Request, callee: callee, reg: reg,
		progress: receive, streaming: progress}
	if !d.start(inv, m.Details, m.Payload) {
		link.send(requestError(m.Request, wamp.TypeCall, wamp.URICanceled, "the callee is gone"))
	}
}

// remoteAnswer handles a RESULT or ERROR from node p for a call this node
// forwarded to it: it is the proxy callee's YIELD or ERROR.
func (d *dealer) remoteAnswer(p *peerNode, m wamp.Message) {
	var request wamp.ID
	switch m := m.(type) {
	case *wamp.Result:
		request = m.Request
	case *wamp.ErrorMessage:
		request = m.Request
	default:
		return
	}
	d.mu.Lock()
	inv := d.pending[request]
	d.mu.Unlock()
	if inv == nil || inv.callee.remote == nil || inv.callee.remote.node != p {
		return // answered, canceled or timed out meanwhile
	}
	switch m := m.(type) {
	case *wamp.Result:
		y := &wamp.Yield{Request: request, Payload: m.Payload}
		if progress, _ := wamp.DictBool(m.Details, "progress"); progress {
			y.Options = wamp.Dict{"progress": true}
		}
		d.yield(inv.callee, y)
	case *wamp.ErrorMessage:
		d.calleeError(inv.callee, &wamp.ErrorMessage{RequestType: wamp.TypeInvocation, Request: request,
			Details: m.Details, Error: m.Error, Payload: m.Payload})
	}
}

// forward sends a publication this node routed to the nodes that want
// it: those with an eligible subscriber (to), or every node for an event
// that is retained or kept in history, so that each node has it for its
// later subscribers.
func (n *Node) forward(rl *realm, p *publication, to []*peerNode, everyone bool) {
	if everyone {
		n.mu.Lock()
		to = to[:0]
		for _, peer := range n.peers {
			to = append(to, peer)
		}
		n.mu.Unlock()
	}
	if len(to) == 0 {
		return
	}
	var w frameWriter
	var from wamp.ID
	if p.from != nil {
		from = p.from.id
	}
	var flags uint64
	if p.disclose {
		flags |= 1
	}
	w.kind(framePublish).str(string(rl.name)).uint(uint64(from)).uint(flags)
	if err := w.message(&wamp.Publish{Request: p.id, Options: p.options, Topic: p.topic, Payload: p.payload}); err != nil {
		n.r.log.Warn("router: cannot forward event to the cluster", "topic", p.topic, "err", err)
		return
	}
	for _, peer := range to {
		n.send(peer.name, w.b)
	}
}

func (n *Node) receivePublish(p *peerNode, rl *realm, fr *frameReader) error {
	fromID := wamp.ID(fr.uint())
	flags := fr.uint()
	m, err := fr.message()
	if err != nil {
		return err
	}
	pub, ok := m.(*wamp.Publish)
	if !ok {
		return fmt.Errorf("want PUBLISH, got %s", m.Type())
	}
	var from *session
	if fromID != 0 {
		from = p.sessions[fromID]
	}
	pn, err := newPublication(from, pub.Topic, pub.Options, pub.Payload)
	if err != nil {
		return err
	}
	// The options as published, retain included: route keeps the event
	// as the origin did. Disclosure is the origin's decision, which
	// authorization may have forced.
	pn.id, pn.remote = pub.Request, true
	pn.disclose = flags&1 != 0 && from != nil
	rl.broker.route(&pn)
	return nil
}

// send sends a frame to a peer through the link.
func (n *Node) send(node string, frame []byte) {
	n.r.metrics.framesOut.Inc()
	n.link.Send(node, frame)
}

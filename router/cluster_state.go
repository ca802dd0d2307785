package router

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unique"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// Frame kinds. Every frame starts with its kind; the rest is fields
// written by frameWriter, then for most kinds a WAMP message encoded by
// the serializer its payload came in (so that payloads cross the cluster
// as the client encoded them), or JSON for state.
const (
	frameSync      byte = iota + 1 // send me a snapshot of your state
	frameState                     // a snapshot, or a delta (JSON stateFrame)
	framePublish                   // realm, publisher, flags, PUBLISH
	frameInvoke                    // realm, callee, registration URI and match, INVOCATION
	frameInterrupt                 // realm, INTERRUPT: cancel a call this node forwarded
	frameAnswer                    // realm, RESULT or ERROR for a forwarded call
	frameKill                      // realm, session, reason, message
	frameBye                       // the sender leaves the cluster
)

// stateFrame is a node's state, whole (Snapshot) or one change.
type stateFrame struct {
	Seq      uint64    `json:"seq"`
	Snapshot bool      `json:"snapshot,omitempty"`
	Ops      []stateOp `json:"ops"`
}

// stateOp is one element of a node's state, or a change of it.
type stateOp struct {
	// Op is join, leave, reg, unreg, sub, unsub or will.
	Op      string  `json:"op"`
	Realm   string  `json:"realm"`
	Session wamp.ID `json:"session"`

	// join
	AuthID       string     `json:"authid,omitempty"`
	AuthRole     string     `json:"authrole,omitempty"`
	AuthMethod   string     `json:"authmethod,omitempty"`
	AuthProvider string     `json:"authprovider,omitempty"`
	Features     featureSet `json:"features,omitempty"`
	Transport    string     `json:"transport,omitempty"`
	Serializer   string     `json:"serializer,omitempty"`
	Peer         string     `json:"peer,omitempty"`

	// reg, unreg, sub, unsub
	URI      wamp.URI         `json:"uri,omitempty"`
	Match    wamp.MatchPolicy `json:"match,omitempty"`
	Invoke   string           `json:"invoke,omitempty"`
	Disclose bool             `json:"disclose,omitempty"`
	Created  time.Time        `json:"created,omitzero"`

	// will: the session's testaments, each a PUBLISH in MessagePack.
	Detached  [][]byte `json:"detached,omitempty"`
	Destroyed [][]byte `json:"destroyed,omitempty"`
}

// clusterDelta sends a change of this node's state to its peers.
func (r *Router) clusterDelta(op stateOp) {
	if n := r.node.Load(); n != nil {
		n.broadcast(op)
	}
}

func (n *Node) broadcast(op stateOp) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seq++
	if len(n.peers) == 0 {
		return
	}
	frame, err := stateFrameBytes(stateFrame{Seq: n.seq, Ops: []stateOp{op}})
	if err != nil {
		n.r.log.Error("router: cluster state not sent", "op", op.Op, "err", err)
		return
	}
	for name := range n.peers {
		n.send(name, frame)
	}
}

func stateFrameBytes(f stateFrame) ([]byte, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append([]byte{frameState}, b...), nil
}

// sendSnapshot sends peer p the whole of this node's state, and makes it
// a receiver of the deltas that follow.
func (n *Node) sendSnapshot(p *peerNode) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.peers[p.name] = p
	f := stateFrame{Seq: n.seq, Snapshot: true}
	for _, rl := range n.r.realmList() {
		for _, s := range rl.sessionList() {
			if s.remote != nil {
				continue
			}
			f.Ops = append(f.Ops, joinOp(s))
			if w := willOp(s); w.Detached != nil || w.Destroyed != nil {
				f.Ops = append(f.Ops, w)
			}
		}
		rl.dealer.mu.Lock()
		for s, sc := range rl.dealer.bySession {
			if s.remote != nil {
				continue
			}
			for _, reg := range sc.regs {
				f.Ops = append(f.Ops, regOp("reg", s, reg, sc.discloseCaller[reg.id]))
			}
		}
		rl.dealer.mu.Unlock()
		rl.broker.mu.RLock()
		for s, subs := range rl.broker.bySession {
			if s.remote != nil {
				continue
			}
			for _, sub := range subs.list {
				f.Ops = append(f.Ops, stateOp{Op: "sub", Realm: string(rl.name), Session: s.id, URI: sub.uri, Match: sub.match})
			}
		}
		rl.broker.mu.RUnlock()
	}
	frame, err := stateFrameBytes(f)
	if err != nil {
		n.r.log.Error("router: cluster snapshot not sent", "node", p.name, "err", err)
		return
	}
	n.send(p.name, frame)
}

func (r *Router) realmList() []*realm {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]*realm, 0, len(r.realms))
	for _, rl := range r.realms {
		list = append(list, rl)
	}
	return list
}

func joinOp(s *session) stateOp {
	info := s.peer.Info()
	return stateOp{Op: "join", Realm: string(s.realm.name), Session: s.id, AuthID: s.authid, AuthRole: s.authrole,
		AuthMethod: s.authmethod, AuthProvider: s.authprovider, Features: s.features,
		Transport: info.Transport, Serializer: info.Serializer, Peer: info.RemoteAddr}
}

func regOp(op string, s *session, reg *entry, disclose bool) stateOp {
	return stateOp{Op: op, Realm: string(s.realm.name), Session: s.id, URI: reg.uri, Match: reg.match,
		Invoke: reg.invoke, Disclose: disclose, Created: reg.created}
}

// willOp is a session's testaments.
func willOp(s *session) stateOp {
	op := stateOp{Op: "will", Realm: string(s.realm.name), Session: s.id}
	s.testaments.mu.Lock()
	defer s.testaments.mu.Unlock()
	enc := func(list []testament) [][]byte {
		var out [][]byte
		for _, t := range list {
			b, err := codec.MsgPack.Append(nil, &wamp.Publish{Request: 1, Options: t.options, Topic: t.topic, Payload: t.payload})
			if err == nil {
				out = append(out, b)
			}
		}
		return out
	}
	op.Detached, op.Destroyed = enc(s.testaments.detached), enc(s.testaments.destroyed)
	return op
}

// applyState applies a snapshot or a delta from peer p.
func (n *Node) applyState(p *peerNode, body []byte) error {
	var f stateFrame
	if err := json.Unmarshal(body, &f); err != nil {
		return err
	}
	if f.Snapshot {
		p.mark++
		named := make(map[mirrorKey]bool)
		for i := range f.Ops {
			n.applyOp(p, &f.Ops[i], named)
		}
		n.sweep(p, named)
		p.synced, p.seq, p.behind = true, f.Seq, 0
		return nil
	}
	switch {
	case !p.synced || f.Seq <= p.seq:
		return nil // before the snapshot asked for, or already applied
	case f.Seq != p.seq+1:
		n.r.log.Info("router: cluster state out of step: asking for a snapshot", "node", p.name, "want", p.seq+1, "got", f.Seq)
		n.askSync(p)
		return nil
	}
	p.seq = f.Seq
	for i := range f.Ops {
		n.applyOp(p, &f.Ops[i], nil)
	}
	return nil
}

// intern returns the canonical copy of s.
func intern(s string) string { return unique.Make(s).Value() }

// mirrorKey names a registration (reg) or subscription of a proxy
// session in a snapshot.
type mirrorKey struct {
	session wamp.ID
	reg     bool
	entryKey
}

// sweep removes what p's latest snapshot no longer has: the sessions it
// did not mark, the registrations and subscriptions it did not name.
// (The snapshot's names live only while it is applied: a proxy keeps no
// bookkeeping of its own, each mirrored session costing its peers memory.)
func (n *Node) sweep(p *peerNode, named map[mirrorKey]bool) {
	for _, s := range p.sessions {
		if s.remote.mark != p.mark {
			n.removeProxy(s, false)
			continue
		}
		for _, k := range s.realm.dealer.mirrored(s) {
			if !named[mirrorKey{s.id, true, k}] {
				s.realm.dealer.mirrorUnregister(s, k)
			}
		}
		for _, k := range s.realm.broker.mirrored(s) {
			if !named[mirrorKey{s.id, false, k}] {
				s.realm.broker.mirrorUnsubscribe(s, k)
			}
		}
	}
}

// applyOp applies one op of p's state; named, during a snapshot, gathers
// the registrations and subscriptions it names.
func (n *Node) applyOp(p *peerNode, op *stateOp, named map[mirrorKey]bool) {
	rl := n.r.realm(wamp.URI(op.Realm))
	if rl == nil {
		return
	}
	s := p.sessions[op.Session]
	if op.Op == "join" {
		if s == nil {
			if local := rl.session(op.Session); local != nil {
				n.r.log.Error("router: session ID used on two nodes", "session", op.Session, "node", p.name)
				return
			}
			s = n.newProxy(p, rl, op.Session)
			// The values most sessions share are kept once, not once
			// per proxy.
			s.authid, s.authrole = op.AuthID, intern(op.AuthRole)
			s.authmethod, s.authprovider = intern(op.AuthMethod), intern(op.AuthProvider)
			s.features = op.Features
			s.remote.info = transport.Info{Transport: intern(op.Transport), Serializer: intern(op.Serializer), RemoteAddr: op.Peer}
			p.sessions[s.id] = s
			rl.add(s)
		}
		s.remote.mark = p.mark
		return
	}
	if s == nil || s.realm != rl {
		return
	}
	key := entryKey{op.URI, op.Match}
	switch op.Op {
	case "leave":
		n.removeProxy(s, false)
	case "reg":
		if !rl.dealer.hasMirror(s, key) && !rl.dealer.mirrorRegister(s, op) {
			return
		}
		if named != nil {
			named[mirrorKey{s.id, true, key}] = true
		}
	case "unreg":
		rl.dealer.mirrorUnregister(s, key)
	case "sub":
		rl.broker.mirrorSubscribe(s, key)
		if named != nil {
			named[mirrorKey{s.id, false, key}] = true
		}
	case "unsub":
		rl.broker.mirrorUnsubscribe(s, key)
	case "will":
		dec := func(list [][]byte) []testament {
			var out []testament
			for _, b := range list {
				m, err := codec.MsgPack.Decode(b)
				if pub, ok := m.(*wamp.Publish); err == nil && ok {
					out = append(out, testament{topic: pub.Topic, options: pub.Options, payload: pub.Payload})
				}
			}
			return out
		}
		s.testaments.mu.Lock()
		s.testaments.detached, s.testaments.destroyed = dec(op.Detached), dec(op.Destroyed)
		s.testaments.mu.Unlock()
	}
}

// mirrorRegister attaches a peer's callee to its registration here. Two
// nodes may register the same procedure in conflict (exclusively, or with
// other invocation policies) when neither knew of the other's: the older
// registration wins everywhere (the node name breaks a tie), and the node
// of the newer one revokes it. It reports whether the proxy was attached.
func (d *dealer) mirrorRegister(s *session, op *stateOp) bool {
	n := s.remote.n
	d.mu.Lock()
	reg := d.regs.lookup(op.URI, op.Match)
	var revoked []*session
	if reg != nil && (reg.invoke == invokeSingle || reg.invoke != op.Invoke) {
		mine := reg.origin
		if mine == "" {
			mine = n.name
		}
		if !reg.created.Equal(op.Created) && reg.created.Before(op.Created) ||
			reg.created.Equal(op.Created) && mine < s.remote.node.name {
			d.mu.Unlock()
			return false // the registration here wins; the peer revokes its own
		}
		// The peer's wins: every callee of the registration here goes.
		for _, m := range reg.sessions() {
			d.detach(m, reg)
			if m.remote == nil {
				revoked = append(revoked, m)
			}
		}
		old := reg
		reg = nil
		defer func() {
			for _, m := range revoked {
				d.revoke(m, old)
			}
		}()
	}
	if reg == nil {
		reg = newEntry(d.realm.router.ids.Next(), op.URI, op.Match, op.Created)
		reg.invoke, reg.origin = op.Invoke, s.remote.node.name
		d.regs.add(reg)
	}
	if !reg.has(s) {
		reg.attach(s)
		sc := d.calls(s)
		sc.regs[reg.id] = reg
		if op.Disclose {
			sc.discloseCaller[reg.id] = true
		}
	}
	d.mu.Unlock()
	return true
}

// revoke tells a local callee that its registration was taken from it
// (UNREGISTERED with the registration in its details, for callees that
// announced registration_revocation) and tells the cluster.
func (d *dealer) revoke(s *session, reg *entry) {
	d.realm.router.log.Warn("router: registration revoked: a registration of another node, made earlier, wins",
		"session", s.id, "realm", d.realm.name, "procedure", reg.uri, "match", reg.match)
	if s.supports(calleeRegistrationRevocation) {
		s.send(&wamp.Unregistered{Details: wamp.Dict{"registration": reg.id, "reason": string(wamp.URIProcedureAlreadyExists)}})
	}
	d.detached(s, reg, true)
	d.realm.router.clusterDelta(regOp("unreg", s, reg, false))
}

// hasMirror reports whether the proxy s is attached to the registration
// key names.
func (d *dealer) hasMirror(s *session, key entryKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	reg := d.regs.lookup(key.uri, key.match)
	return reg != nil && reg.has(s)
}

// mirrored returns the keys of the registrations s is attached to.
func (d *dealer) mirrored(s *session) []entryKey {
	d.mu.Lock()
	defer d.mu.Unlock()
	var keys []entryKey
	if sc := d.bySession[s]; sc != nil {
		for _, reg := range sc.regs {
			keys = append(keys, entryKey{reg.uri, reg.match})
		}
	}
	return keys
}

// mirrorUnregister detaches a peer's callee from a registration.
func (d *dealer) mirrorUnregister(s *session, key entryKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if reg := d.regs.lookup(key.uri, key.match); reg != nil && reg.has(s) {
		d.detach(s, reg)
	}
}

// mirrorSubscribe attaches a peer's subscriber to its subscription here.
func (b *broker) mirrorSubscribe(s *session, key entryKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.join(s, key.uri, key.match)
}

// mirrored returns the keys of the subscriptions s is attached to.
func (b *broker) mirrored(s *session) []entryKey {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var keys []entryKey
	if mine := b.bySession[s]; mine != nil {
		for _, sub := range mine.list {
			keys = append(keys, entryKey{sub.uri, sub.match})
		}
	}
	return keys
}

// mirrorUnsubscribe detaches a peer's subscriber.
func (b *broker) mirrorUnsubscribe(s *session, key entryKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sub := b.subs.lookup(key.uri, key.match); sub != nil && b.bySession[s].get(sub.id) != nil {
		b.drop(s, sub)
	}
}

// frameWriter appends a frame's fields.
type frameWriter struct{ b []byte }

func (w *frameWriter) kind(k byte) *frameWriter { w.b = append(w.b, k); return w }
func (w *frameWriter) uint(v uint64) *frameWriter {
	w.b = binary.AppendUvarint(w.b, v)
	return w
}
func (w *frameWriter) str(s string) *frameWriter {
	w.uint(uint64(len(s)))
	w.b = append(w.b, s...)
	return w
}

// message appends m, encoded by the serializer its payload is in (raw
// payloads cross as they came), MessagePack otherwise.
func (w *frameWriter) message(m wamp.Message) error {
	c := codec.MsgPack
	if p, ok := wamp.PayloadOf(m); ok && p.Raw != nil {
		if rc, err := codec.ByName(p.Raw.Serializer); err == nil {
			c = rc
		}
	}
	w.str(c.Name())
	var err error
	w.b, err = c.Append(w.b, m)
	return err
}

// frameReader reads a frame's fields; the first error sticks.
type frameReader struct {
	b   []byte
	err error
}

var errShortFrame = errors.New("frame too short")

func (r *frameReader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortFrame
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *frameReader) str() string {
	n := r.uint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errShortFrame
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *frameReader) message() (wamp.Message, error) {
	name := r.str()
	if r.err != nil {
		return nil, r.err
	}
	c, err := codec.ByName(name)
	if err != nil {
		return nil, err
	}
	m, err := c.Decode(r.b)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	return m, nil
}

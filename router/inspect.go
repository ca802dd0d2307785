package router

import (
	"cmp"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/junction-run/junction/wamp"
)

// What an operator sees of a running router, in Go: the web admin
// (package admin) reads it, as the WAMP meta API lets a client read its
// own realm. Every call takes a snapshot under the locks it needs and
// returns values the caller owns.

// SessionInfo describes a session. Sessions of other nodes of the
// cluster, mirrored here, have Node set and no message counts.
type SessionInfo struct {
	ID           wamp.ID   `json:"id"`
	Realm        string    `json:"realm"`
	AuthID       string    `json:"authid"`
	AuthRole     string    `json:"authrole"`
	AuthMethod   string    `json:"authmethod"`
	AuthProvider string    `json:"authprovider"`
	Transport    string    `json:"transport"`
	Serializer   string    `json:"serializer,omitempty"`
	RemoteAddr   string    `json:"remote_addr,omitempty"`
	Node         string    `json:"node,omitempty"`
	Joined       time.Time `json:"joined"`
	// MessagesIn and MessagesOut count the messages the router received
	// from the session and queued to it since it joined.
	MessagesIn  uint64 `json:"messages_in"`
	MessagesOut uint64 `json:"messages_out"`
}

// EntryInfo describes a subscription or a registration: its URI and
// policies, and the sessions subscribed to it or registered as callees,
// sorted by ID.
type EntryInfo struct {
	ID      wamp.ID   `json:"id"`
	URI     string    `json:"uri"`
	Match   string    `json:"match"`
	Invoke  string    `json:"invoke,omitempty"`
	Created time.Time `json:"created"`
	// Node is the cluster node whose registration this one mirrors, ""
	// for the router's own.
	Node    string    `json:"node,omitempty"`
	Members []wamp.ID `json:"members"`
}

// RealmStats counts a realm's sessions, subscriptions and registrations
// now, and what it routed since the router started: PUBLISH and CALL
// messages received, EVENT messages queued to subscribers, ERROR
// messages sent to clients.
type RealmStats struct {
	Realm         string `json:"realm"`
	Sessions      int    `json:"sessions"`
	Subscriptions int    `json:"subscriptions"`
	Registrations int    `json:"registrations"`
	Publishes     uint64 `json:"publishes"`
	Events        uint64 `json:"events"`
	Calls         uint64 `json:"calls"`
	Errors        uint64 `json:"errors"`
}

// realmCounters are RealmStats' counters; each is one atomic add where
// the message is routed.
type realmCounters struct {
	publishes, events, calls, errors atomic.Uint64
}

// ErrNoSuchRealm and ErrNoSuchSession are the errors of the inspection
// methods given a realm or session that does not exist.
var (
	ErrNoSuchRealm   = errors.New("router: no such realm")
	ErrNoSuchSession = errors.New("router: no such session")
)

// Changes returns a number that grows whenever a session joins or
// leaves, or a subscription or registration is made or dropped, in any
// realm: a view of the router that saw the same number is current.
func (r *Router) Changes() uint64 { return r.changes.Load() }

// Stats returns every realm's counts, sorted by realm.
func (r *Router) Stats() []RealmStats {
	list := r.realmList()
	slices.SortFunc(list, func(a, b *realm) int { return cmp.Compare(a.name, b.name) })
	stats := make([]RealmStats, 0, len(list))
	for _, rl := range list {
		st := RealmStats{Realm: string(rl.name)}
		rl.mu.RLock()
		st.Sessions = len(rl.sessions)
		rl.mu.RUnlock()
		rl.broker.mu.RLock()
		st.Subscriptions = rl.broker.subs.len()
		rl.broker.mu.RUnlock()
		rl.dealer.mu.Lock()
		st.Registrations = rl.dealer.regs.len()
		rl.dealer.mu.Unlock()
		st.Publishes = rl.counts.publishes.Load()
		st.Events = rl.counts.events.Load()
		st.Calls = rl.counts.calls.Load()
		st.Errors = rl.counts.errors.Load()
		stats = append(stats, st)
	}
	return stats
}

// Sessions describes the realm's sessions, sorted by ID; the link
// sessions that carry other nodes' calls are left out.
func (r *Router) Sessions(realm string) ([]SessionInfo, error) {
	rl := r.realm(wamp.URI(realm))
	if rl == nil {
		return nil, ErrNoSuchRealm
	}
	list := rl.sessionList()
	infos := make([]SessionInfo, 0, len(list))
	for _, s := range list {
		if s.remote != nil && s.remote.link {
			continue
		}
		infos = append(infos, s.info())
	}
	slices.SortFunc(infos, func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	return infos, nil
}

// Session describes one session of the realm.
func (r *Router) Session(realm string, id wamp.ID) (SessionInfo, error) {
	rl := r.realm(wamp.URI(realm))
	if rl == nil {
		return SessionInfo{}, ErrNoSuchRealm
	}
	s := rl.session(id)
	if s == nil {
		return SessionInfo{}, ErrNoSuchSession
	}
	return s.info(), nil
}

// Kill closes a session of the realm as wamp.session.kill does: GOODBYE
// with reason (default wamp.close.normal) and message, and the
// connection closed if the client does not answer in time. A session of
// another node is closed by its node.
func (r *Router) Kill(realm string, id wamp.ID, reason wamp.URI, message string) error {
	rl := r.realm(wamp.URI(realm))
	if rl == nil {
		return ErrNoSuchRealm
	}
	s := rl.session(id)
	if s == nil || (s.remote != nil && s.remote.link) {
		return ErrNoSuchSession
	}
	s.kill(cmp.Or(reason, wamp.URICloseNormal), message)
	return nil
}

// Subscriptions describes the realm's subscriptions, sorted by URI.
func (r *Router) Subscriptions(realm string) ([]EntryInfo, error) {
	rl := r.realm(wamp.URI(realm))
	if rl == nil {
		return nil, ErrNoSuchRealm
	}
	var infos []EntryInfo
	subscriptionMeta.view(rl, func(ix *uriIndex) { infos = entryInfos(ix) })
	return infos, nil
}

// Registrations describes the realm's registrations, sorted by URI.
func (r *Router) Registrations(realm string) ([]EntryInfo, error) {
	rl := r.realm(wamp.URI(realm))
	if rl == nil {
		return nil, ErrNoSuchRealm
	}
	var infos []EntryInfo
	registrationMeta.view(rl, func(ix *uriIndex) { infos = entryInfos(ix) })
	return infos, nil
}

func entryInfos(ix *uriIndex) []EntryInfo {
	infos := make([]EntryInfo, 0, ix.len())
	for _, e := range ix.byID {
		infos = append(infos, EntryInfo{ID: e.id, URI: string(e.uri), Match: string(e.match), Invoke: e.invoke,
			Created: e.created, Node: e.origin, Members: e.memberIDs()})
	}
	slices.SortFunc(infos, func(a, b EntryInfo) int {
		return cmp.Or(cmp.Compare(a.URI, b.URI), cmp.Compare(a.Match, b.Match), cmp.Compare(a.ID, b.ID))
	})
	return infos
}

// info describes s.
func (s *session) info() SessionInfo {
	tr := s.peer.Info()
	si := SessionInfo{ID: s.id, Realm: string(s.realm.name), AuthID: s.authid, AuthRole: s.authrole,
		AuthMethod: s.authmethod, AuthProvider: s.authprovider, Transport: tr.Transport,
		Serializer: tr.Serializer, RemoteAddr: tr.RemoteAddr, Joined: s.joined,
		MessagesIn: s.msgsIn.Load(), MessagesOut: s.msgsOut.Load()}
	if s.remote != nil {
		si.Node = s.remote.node.name
	}
	return si
}

// Nodes returns the name of this node and of the peers it sees, sorted,
// or nil outside a cluster.
func (r *Router) Nodes() []string {
	n := r.node.Load()
	if n == nil {
		return nil
	}
	names := append(n.Peers(), n.name)
	slices.Sort(names)
	return names
}

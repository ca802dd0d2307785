package transport

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gobwas/ws"

	"github.com/junction-run/junction/wamp/codec"
)

// Upgrade turns an HTTP request into a WebSocket WAMP peer, choosing the
// first subprotocol offered by the client that cfg accepts. On error it has
// already answered the request (400 when no WAMP subprotocol is shared).
func Upgrade(w http.ResponseWriter, r *http.Request, cfg Config) (Peer, error) {
	cfg = cfg.withDefaults()
	var chosen codec.Codec
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if c := pick(cfg.Serializers, strings.TrimSpace(p)); c != nil && chosen == nil {
				chosen = c
			}
		}
	}
	if chosen == nil {
		var names []string
		for _, c := range cfg.Serializers {
			names = append(names, c.Subprotocol())
		}
		http.Error(w, fmt.Sprintf("no supported WAMP subprotocol; offer one of %s", strings.Join(names, ", ")), http.StatusBadRequest)
		return nil, ErrNoSubprotocol
	}
	u := ws.HTTPUpgrader{
		Timeout:  cfg.WriteTimeout,
		Protocol: func(p string) bool { return p == chosen.Subprotocol() },
	}
	conn, rw, _, err := u.Upgrade(r, w)
	if err != nil {
		return nil, fmt.Errorf("transport: websocket upgrade: %w", err)
	}
	// What net/http read ahead is handed over; its 4 KiB buffers are not
	// kept.
	peer := newWSConn(conn, rw.Reader, chosen, cfg, false)
	peer.preAuth()
	return peer, nil
}

func pick(codecs []codec.Codec, subprotocol string) codec.Codec {
	for _, c := range codecs {
		if c.Subprotocol() == subprotocol {
			return c
		}
	}
	return nil
}

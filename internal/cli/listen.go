package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"

	"github.com/junction-run/junction/internal/connlimit"
	"github.com/junction-run/junction/router"
)

// listenerSpec is a listener to open, from the configuration file or the
// flags.
type listenerSpec struct {
	kind             string // listenWebSocket or listenRawSocket
	network, address string // for net.Listen
	path             string // WebSocket only
	certs            *certStore
	listener         router.Listener
	// where names its origin in errors: "auth.yaml:12" or "--listen".
	where string
}

// openListener is an open listener, wrapped in TLS if its spec has
// certificates.
type openListener struct {
	spec listenerSpec
	ln   net.Listener
}

// openListeners opens every listener, or none: on an error the ones
// already open are closed. Each listener gets its router.Listener name,
// and counts its connections in lim (below TLS, so that a refusal costs
// no handshake).
func openListeners(specs []listenerSpec, lim *connlimit.Limiter) ([]openListener, error) {
	var opened []openListener
	fail := func(err error) ([]openListener, error) {
		for _, o := range opened {
			o.ln.Close()
		}
		return nil, err
	}
	for _, spec := range specs {
		if spec.network == "unix" {
			if err := removeStaleSocket(spec.address); err != nil {
				return fail(fmt.Errorf("listen %s %s (%s): %w", spec.kind, spec.address, spec.where, err))
			}
		}
		// A Unix socket's file is removed when its listener closes.
		ln, err := net.Listen(spec.network, spec.address)
		if err != nil {
			return fail(fmt.Errorf("listen %s %s (%s): %w", spec.kind, spec.address, spec.where, err))
		}
		refusal := connlimit.RefuseHTTP
		switch {
		case spec.certs != nil:
			refusal = connlimit.RefuseSilently
		case spec.kind == listenRawSocket:
			refusal = connlimit.RefuseRawSocket
		}
		o := openListener{spec: spec, ln: lim.Wrap(ln, refusal)}
		if spec.certs != nil {
			var protos []string
			if spec.kind == listenWebSocket {
				protos = []string{"http/1.1"}
			}
			o.ln = tls.NewListener(o.ln, spec.certs.serverConfig(protos...))
		}
		o.spec.listener.Name = o.url()
		opened = append(opened, o)
	}
	return opened, nil
}

// url is what clients dial: ws://HOST:PORT/PATH or wss://..., tcp://,
// rss:// (RawSocket over TLS), unix:///ABSOLUTE/PATH or unix:RELATIVE.
func (o openListener) url() string {
	addr := o.ln.Addr()
	secure := o.spec.certs != nil
	switch {
	case o.spec.kind == listenWebSocket && secure:
		return "wss://" + addr.String() + o.spec.path
	case o.spec.kind == listenWebSocket:
		return "ws://" + addr.String() + o.spec.path
	case addr.Network() == "unix" && filepath.IsAbs(addr.String()):
		return "unix://" + addr.String()
	case addr.Network() == "unix":
		return "unix:" + addr.String()
	case secure:
		return "rss://" + addr.String()
	}
	return "tcp://" + addr.String()
}

var errNoListener = errors.New("no listener: list them under listeners, or pass --listen or --rawsocket")

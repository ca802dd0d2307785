package router

import (
	"context"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp/codec"
)

func runtimeGosched() { runtime.Gosched() }

// dialWS serves h.r over a loopback WebSocket and dials it with JSON.
func (h *harness) dialWS(tb testing.TB) transport.Peer {
	srv := httptest.NewServer(h.r)
	tb.Cleanup(srv.Close)
	p, err := transport.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), transport.Config{Serializers: []codec.Codec{codec.JSON}})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

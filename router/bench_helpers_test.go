package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

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

// rawWS is a hand-driven JSON WebSocket client.
func rawWS(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, br, _, err := ws.Dialer{Protocols: []string{"wamp.2.json"}}.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, br
}

func writeJSON(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	if err := ws.WriteFrame(conn, ws.MaskFrame(ws.NewTextFrame([]byte(msg)))); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, conn net.Conn, br *bufio.Reader) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}

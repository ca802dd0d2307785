package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// rawSocketRouter is a router served over RawSocket on loopback TCP and a
// Unix socket, and over WebSocket; it returns the URLs by transport.
func rawSocketRouter(tb testing.TB, cfg Config) (*Router, map[string]string) {
	tb.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "rs") // short: socket paths are limited to 108 bytes
	if err != nil {
		tb.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	unix, err := net.Listen("unix", filepath.Join(dir, "r.sock"))
	if err != nil {
		tb.Fatal(err)
	}
	ws := httptest.NewServer(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	for _, l := range []net.Listener{tcp, unix} {
		go func() {
			transport.ServeRawSocket(ctx, l, cfg.Transport, r.Attach)
			done <- struct{}{}
		}()
	}
	tb.Cleanup(func() {
		cancel()
		stop, cancelStop := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelStop()
		r.Stop(stop)
		ws.Close()
		<-done
		<-done
		os.RemoveAll(dir)
	})
	return r, map[string]string{
		"tcp":       "tcp://" + tcp.Addr().String(),
		"unix":      "unix://" + unix.Addr().String(),
		"websocket": "ws" + strings.TrimPrefix(ws.URL, "http") + "/ws",
	}
}

func rsSession(t *testing.T, url string, c codec.Codec) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, url, client.Config{
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Transport: transport.Config{Serializers: []codec.Codec{c}},
	})
	if err != nil {
		t.Fatalf("dial %s with %s: %v", url, c.Name(), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// TestRawSocketSessions runs a call and a publication between Go client
// sessions over RawSocket, TCP and Unix socket, with every serializer; the
// callee and subscriber sit on WebSocket with another serializer.
func TestRawSocketSessions(t *testing.T) {
	_, urls := rawSocketRouter(t, Config{})
	other := rsSession(t, urls["websocket"], codec.MsgPack)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := other.Register(ctx, "rs.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, _ := inv.ArgInt(0)
		b, _ := inv.ArgInt(1)
		return &client.Result{Values: client.Values{Args: wamp.List{a + b}}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	events := make(chan *client.Event, 1)
	if _, err := other.Subscribe(ctx, "rs.news", func(_ context.Context, e *client.Event) { events <- e }, nil); err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"tcp", "unix"} {
		for _, c := range codec.All {
			t.Run(network+"/"+c.Name(), func(t *testing.T) {
				s := rsSession(t, urls[network], c)
				res, err := s.Call(ctx, "rs.add", wamp.List{40, 2}, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := wamp.AsInt64(res.Arg(0)); n != 42 {
					t.Fatalf("rs.add(40, 2) = %v", res.Arg(0))
				}
				if _, err := s.Publish(ctx, "rs.news", wamp.List{network + "/" + c.Name()}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
					t.Fatal(err)
				}
				select {
				case e := <-events:
					if e.Arg(0) != network+"/"+c.Name() {
						t.Fatalf("event %v", e.Arg(0))
					}
				case <-ctx.Done():
					t.Fatal("no event")
				}
			})
		}
	}
}

// TestRawSocketOversizedFrameEndsOnlyItsConnection sends a frame over the
// router's limit on one connection: that one is closed, a session on
// another goes on.
func TestRawSocketOversizedFrameEndsOnlyItsConnection(t *testing.T) {
	_, urls := rawSocketRouter(t, Config{Transport: transport.Config{MaxMessageSize: 4096}})
	s := rsSession(t, urls["tcp"], codec.JSON)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Register(ctx, "rs.echo", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		return &client.Result{Values: client.Values{Args: inv.Args}}, nil
	}, nil); err != nil {
		t.Fatal(err)
	}
	bad := rsSession(t, urls["unix"], codec.CBOR)
	// 4097 bytes of CBOR: over the 4096 the router announced, so the
	// client refuses to send it; a raw connection does.
	if _, err := bad.Call(ctx, "rs.echo", wamp.List{strings.Repeat("x", 4097)}, nil, nil); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("oversized call: %v, want transport.ErrMessageTooBig", err)
	}
	conn, err := net.Dial("unix", strings.TrimPrefix(urls["unix"], "unix://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte{0x7f, 0xf1, 0, 0})
	reply := make([]byte, 4)
	if _, err := io.ReadFull(conn, reply); err != nil || reply[1] != 0x31 {
		t.Fatalf("handshake reply % x, %v; want 4096 bytes (nibble 3) and JSON", reply, err)
	}
	conn.Write([]byte{0, 0, 0x10, 0x01}) // 4097 bytes follow
	conn.Write(make([]byte, 4097))
	if _, err := conn.Read(reply); err == nil {
		t.Fatal("connection still open after an oversized frame")
	}
	res, err := s.Call(ctx, "rs.echo", wamp.List{"still here"}, nil, nil)
	if err != nil || res.Arg(0) != "still here" {
		t.Fatalf("call after the other connection failed: %v, %v", res, err)
	}
}

// TestRawSocketStopSaysGoodbye: the router's Stop ends RawSocket sessions
// with GOODBYE, as it does WebSocket ones.
func TestRawSocketStopSaysGoodbye(t *testing.T) {
	r, urls := rawSocketRouter(t, Config{})
	tcp := rsSession(t, urls["tcp"], codec.MsgPack)
	unix := rsSession(t, urls["unix"], codec.JSON)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.Stop(ctx)
	for _, s := range []*client.Session{tcp, unix} {
		select {
		case <-s.Done():
		case <-ctx.Done():
			t.Fatal("session outlived Stop")
		}
		if !errors.Is(s.Err(), &wamp.Error{URI: wamp.URICloseSystemShutdown}) {
			t.Fatalf("session ended with %v, want GOODBYE %s", s.Err(), wamp.URICloseSystemShutdown)
		}
	}
}

// BenchmarkCallRoundTripRawSocket is BenchmarkCallRoundTrip over
// RawSocket, TCP and Unix socket, with JSON.
func BenchmarkCallRoundTripRawSocket(b *testing.B) {
	for _, network := range []string{"tcp", "unix"} {
		b.Run(network, func(b *testing.B) {
			_, urls := rawSocketRouter(b, Config{})
			connect := func() transport.Peer {
				p, err := transport.Dial(context.Background(), urls[network], transport.Config{Serializers: []codec.Codec{codec.JSON}})
				if err != nil {
					b.Fatal(err)
				}
				return p
			}
			callee, caller := connect(), connect()
			for _, p := range []transport.Peer{callee, caller} {
				p.Send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}}}})
				if _, err := p.Read(); err != nil {
					b.Fatal(err)
				}
			}
			benchEchoCalls(b, callee, caller)
		})
	}
}

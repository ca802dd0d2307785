package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// TestMain fails the run if a goroutine of this package outlives the
// tests: a peer's reader, writer or a RawSocket accept loop.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(3 * time.Second)
		for {
			leaked := packageGoroutines()
			if leaked == "" {
				break
			}
			if time.Now().After(deadline) {
				os.Stderr.WriteString("leaked goroutines:\n" + leaked)
				code = 1
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	os.Exit(code)
}

func packageGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "junction/transport.") && !strings.Contains(g, "transport.TestMain") &&
			!strings.Contains(g, "transport.packageGoroutines") &&
			!strings.Contains(g, "transport.(*poller).loop") { // one per process, by design
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}

// rsNetworks are the sockets RawSocket runs over in these tests.
var rsNetworks = []string{"tcp", "unix"}

// listen returns a loopback TCP listener or a Unix socket in a fresh
// directory (short, for the 108-byte limit on socket paths).
func listen(t testing.TB, network string) net.Listener {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		dir, err := os.MkdirTemp("", "rs")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "s")
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// rsServer runs ServeRawSocket on a fresh listener with serve, and stops
// it at cleanup, closing the peers it served.
func rsServer(t testing.TB, network string, cfg Config, serve func(Peer)) (addr string) {
	t.Helper()
	l := listen(t, network)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var peers []Peer
	done := make(chan error, 1)
	go func() {
		done <- ServeRawSocket(ctx, l, cfg, func(p Peer) {
			mu.Lock()
			peers = append(peers, p)
			mu.Unlock()
			p.(Welcomer).Welcomed() // these tests play a router whose session is open
			serve(p)
		})
	}()
	t.Cleanup(func() {
		cancel()
		mu.Lock()
		for _, p := range peers {
			p.Close()
		}
		mu.Unlock()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeRawSocket: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("ServeRawSocket did not return")
		}
	})
	return l.Addr().String()
}

// rsEchoServer echoes what each peer reads; Read errors go to errs.
func rsEchoServer(t testing.TB, network string, cfg Config) (addr string, errs chan error) {
	errs = make(chan error, 16)
	addr = rsServer(t, network, cfg, func(p Peer) {
		errs <- echoBack(p)
	})
	return addr, errs
}

// rsPair returns the router's and the client's peers of one connection.
func rsPair(t *testing.T, network string, server, client Config) (Peer, Peer) {
	t.Helper()
	peers := make(chan Peer, 1)
	addr := rsServer(t, network, server, func(p Peer) {
		peers <- p
		<-p.Done()
	})
	c, err := DialRawSocket(context.Background(), network, addr, client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return <-peers, c
}

func echo(t *testing.T, p Peer, n int) {
	t.Helper()
	for i := range n {
		if err := p.Send(&wamp.Publish{Request: wamp.ID(i + 1), Topic: "t", Payload: wamp.Payload{Args: wamp.List{int64(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		m, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		if got := m.(*wamp.Publish).Request; got != wamp.ID(i+1) {
			t.Fatalf("message %d has request %d: order lost", i, got)
		}
	}
}

func TestRawSocketEchoEverySerializer(t *testing.T) {
	for _, network := range rsNetworks {
		addr, _ := rsEchoServer(t, network, Config{})
		for _, c := range codec.All {
			t.Run(network+"/"+c.Name(), func(t *testing.T) {
				p, err := DialRawSocket(context.Background(), network, addr, Config{Serializers: []codec.Codec{c}})
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				if info := p.Info(); info.Transport != "rawsocket" || info.Serializer != c.Name() || info.RemoteAddr == "" {
					t.Fatalf("info %+v", info)
				}
				echo(t, p, 100)
			})
		}
	}
}

func TestDialURLSchemes(t *testing.T) {
	tcp, _ := rsEchoServer(t, "tcp", Config{})
	unix, _ := rsEchoServer(t, "unix", Config{})
	wsURL, _ := echoServer(t, Config{})
	for _, url := range []string{"tcp://" + tcp, "rs://" + tcp, "RS://" + tcp + "/", "unix://" + unix, "unix:" + unix, wsURL} {
		p, err := Dial(context.Background(), url, Config{Serializers: []codec.Codec{codec.CBOR}})
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		echo(t, p, 3)
		p.Close()
	}
	for url, want := range map[string]string{
		"ftp://" + tcp:         `unknown scheme "ftp"`,
		tcp:                    `unknown scheme "127.0.0.1"`,
		"no-scheme":            "no scheme",
		"tcp://" + tcp + "/ws": "with no path",
		"tcp:///x":             "want tcp://host:port",
		"unix://host/x.sock":   "want unix:///absolute/path",
		"rs://" + tcp + "?q=1": "no user, query or fragment",
	} {
		if _, err := Dial(context.Background(), url, Config{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Dial(%q): %v, want an error with %q", url, err, want)
		}
	}
}

// handshake writes req to a fresh AcceptRawSocket over a pipe and returns
// the reply (nil if the server closed without one) and the server's
// result.
func handshake(t *testing.T, cfg Config, req []byte) ([]byte, Peer, error) {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	type result struct {
		p   Peer
		err error
	}
	res := make(chan result, 1)
	go func() {
		p, err := AcceptRawSocket(server, cfg)
		res <- result{p, err}
	}()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	client.Write(req)
	if len(req) < 4 {
		client.Close() // the server reads no more
	}
	reply, _ := io.ReadAll(io.LimitReader(client, 4))
	r := <-res
	if r.p != nil {
		t.Cleanup(func() { r.p.Close() })
	}
	return reply, r.p, r.err
}

func TestRawSocketHandshake(t *testing.T) {
	jsonOnly := Config{Serializers: []codec.Codec{codec.JSON}}
	for _, tc := range []struct {
		name  string
		cfg   Config
		req   []byte
		reply []byte
		err   error
		codec string
	}{
		{"json, 16 MiB both ways", Config{}, []byte{0x7f, 0xf1, 0, 0}, []byte{0x7f, 0xf1, 0, 0}, nil, "json"},
		{"msgpack, 512 B asked", Config{}, []byte{0x7f, 0x02, 0, 0}, []byte{0x7f, 0xf2, 0, 0}, nil, "msgpack"},
		{"cbor, 64 KiB announced for 100,000", Config{MaxMessageSize: 100000}, []byte{0x7f, 0x83, 0, 0}, []byte{0x7f, 0x73, 0, 0}, nil, "cbor"},
		{"tiny limit announces 512 B", Config{MaxMessageSize: 10}, []byte{0x7f, 0x51, 0, 0}, []byte{0x7f, 0x01, 0, 0}, nil, "json"},
		{"serializer 0 is illegal", Config{}, []byte{0x7f, 0xf0, 0, 0}, []byte{0x7f, 0x10, 0, 0}, ErrNoSubprotocol, ""},
		{"ubjson unsupported", Config{}, []byte{0x7f, 0xf4, 0, 0}, []byte{0x7f, 0x10, 0, 0}, ErrNoSubprotocol, ""},
		{"reserved serializer 15", Config{}, []byte{0x7f, 0xff, 0, 0}, []byte{0x7f, 0x10, 0, 0}, ErrNoSubprotocol, ""},
		{"cbor not configured", jsonOnly, []byte{0x7f, 0xf3, 0, 0}, []byte{0x7f, 0x10, 0, 0}, ErrNoSubprotocol, ""},
		{"reserved bits", Config{}, []byte{0x7f, 0xf1, 0, 1}, []byte{0x7f, 0x30, 0, 0}, ErrHandshake, ""},
		{"reserved bits and bad serializer", Config{}, []byte{0x7f, 0xf9, 0x80, 0}, []byte{0x7f, 0x30, 0, 0}, ErrHandshake, ""},
		{"not rawsocket", Config{}, []byte("GET / HTTP/1.1\r\n"), []byte{}, ErrHandshake, ""},
		{"short request", Config{}, []byte{0x7f, 0xf1}, []byte{}, io.ErrUnexpectedEOF, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply, p, err := handshake(t, tc.cfg, tc.req)
			if !bytes.Equal(reply, tc.reply) {
				t.Errorf("reply % x, want % x", reply, tc.reply)
			}
			if tc.err == nil {
				if err != nil {
					t.Fatal(err)
				}
				if p.Info().Serializer != tc.codec {
					t.Errorf("serializer %s, want %s", p.Info().Serializer, tc.codec)
				}
			} else if !errors.Is(err, tc.err) || !errors.Is(err, ErrHandshake) {
				t.Errorf("error %v, want %v and %v", err, tc.err, ErrHandshake)
			}
		})
	}
}

// TestDialRawSocketFallsBack asks for CBOR, which the router refuses, then
// for MessagePack, which it accepts; asking only for what it refuses
// fails with ErrNoSubprotocol.
func TestDialRawSocketFallsBack(t *testing.T) {
	addr, _ := rsEchoServer(t, "tcp", Config{Serializers: []codec.Codec{codec.MsgPack, codec.JSON}})
	p, err := DialRawSocket(context.Background(), "tcp", addr, Config{Serializers: []codec.Codec{codec.CBOR, codec.MsgPack}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if s := p.Info().Serializer; s != "msgpack" {
		t.Fatalf("serializer %s, want msgpack", s)
	}
	echo(t, p, 2)
	_, err = DialRawSocket(context.Background(), "tcp", addr, Config{Serializers: []codec.Codec{codec.CBOR}})
	if !errors.Is(err, ErrNoSubprotocol) || !strings.Contains(err.Error(), "serializer unsupported (error 1)") {
		t.Fatalf("dial with CBOR only: %v", err)
	}
}

func TestDialRawSocketBadReplies(t *testing.T) {
	for _, tc := range []struct {
		reply []byte
		want  string
	}{
		{[]byte("HTTP"), "not a RawSocket router"},
		{[]byte{0x7f, 0x40, 0, 0}, "maximum connection count reached (error 4)"},
		{[]byte{0x7f, 0x20, 0, 0}, "maximum message length unacceptable (error 2)"},
		{[]byte{0x7f, 0xf2, 0, 0}, "router chose serializer 2, asked for 1"},
		{[]byte{0x7f, 0xf1, 1, 0}, "reserved bytes"},
		{[]byte{0x7f}, "unexpected EOF"},
	} {
		l := listen(t, "tcp")
		go func() {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			io.ReadFull(conn, make([]byte, 4))
			conn.Write(tc.reply)
			conn.Close()
		}()
		_, err := DialRawSocket(context.Background(), "tcp", l.Addr().String(), Config{Serializers: []codec.Codec{codec.JSON}})
		l.Close()
		if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("reply % x: %v, want ErrHandshake with %q", tc.reply, err, tc.want)
		}
	}
}

func TestDialRawSocketHonoursContext(t *testing.T) {
	l := listen(t, "tcp")
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if conn, err := l.Accept(); err == nil {
			accepted <- conn // and never answer
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := DialRawSocket(ctx, "tcp", l.Addr().String(), Config{})
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("dial to a silent server: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("dial did not stop at the context's deadline")
	}
	(<-accepted).Close()
}

// rawRS is a hand-driven RawSocket client, to send what a well-behaved
// one would not. It asks for JSON and a 16 MiB limit.
func rawRS(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte{0x7f, 0xf1, 0, 0})
	var reply [4]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		t.Fatal(err)
	}
	if reply[0] != 0x7f || reply[1]&0x0f != 1 {
		t.Fatalf("handshake reply % x", reply)
	}
	return conn
}

func rsFrameBytes(typ byte, payload []byte) []byte {
	var b bytes.Buffer
	appendRSHeader(&b, typ, len(payload))
	b.Write(payload)
	return b.Bytes()
}

// readRSFrame reads one frame from a raw client connection.
func readRSFrame(t *testing.T, conn net.Conn) (byte, []byte) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [4]byte
	if _, err := io.ReadFull(conn, h[:]); err != nil {
		t.Fatal(err)
	}
	typ, n, err := parseRSHeader(h[:])
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(conn, p); err != nil {
		t.Fatal(err)
	}
	return typ, p
}

func TestRawSocketPingIsAnsweredWithItsPayload(t *testing.T) {
	addr, _ := rsEchoServer(t, "tcp", Config{})
	conn := rawRS(t, "tcp", addr)
	msg := []byte(`[16,1,{},"after.the.ping"]`)
	conn.Write(append(rsFrameBytes(rsPing, []byte("hello\x00\xff")), rsFrameBytes(rsMessage, msg)...))
	if typ, p := readRSFrame(t, conn); typ != rsPong || string(p) != "hello\x00\xff" {
		t.Fatalf("got type %d %q, want a pong echoing the ping", typ, p)
	}
	if typ, p := readRSFrame(t, conn); typ != rsMessage || string(p) != string(msg) {
		t.Fatalf("got type %d %q, want the echo", typ, p)
	}
	// A pong from the client is taken and ignored.
	conn.Write(append(rsFrameBytes(rsPong, []byte("x")), rsFrameBytes(rsMessage, msg)...))
	if typ, p := readRSFrame(t, conn); typ != rsMessage || string(p) != string(msg) {
		t.Fatalf("got type %d %q, want the echo", typ, p)
	}
}

// TestRawSocketProtocolErrors sends a bad frame on one connection while
// another session is open: the bad one is closed, the other keeps
// working.
func TestRawSocketProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		err   error
	}{
		{"over the negotiated length", rsFrameBytes(rsMessage, make([]byte, 1025)), ErrMessageTooBig},
		{"ping over the negotiated length", rsFrameBytes(rsPing, make([]byte, 1025)), ErrMessageTooBig},
		{"over the length, header only", []byte{0, 0x01, 0, 0}, ErrMessageTooBig},
		{"16 MiB bit", []byte{0x08, 0, 0, 0}, ErrMessageTooBig},
		{"16 MiB bit with a length", []byte{0x08, 0, 0, 1}, ErrProtocol},
		{"reserved bits", []byte{0x10, 0, 0, 2, '[', ']'}, ErrProtocol},
		{"reserved type 3", []byte{0x03, 0, 0, 0}, ErrProtocol},
		{"reserved type 7", []byte{0x07, 0, 0, 0}, ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, network := range rsNetworks {
				addr, errs := rsEchoServer(t, network, Config{MaxMessageSize: 1024})
				other, err := DialRawSocket(context.Background(), network, addr, Config{})
				if err != nil {
					t.Fatal(err)
				}
				defer other.Close()
				echo(t, other, 1)
				conn := rawRS(t, network, addr)
				conn.Write(tc.frame)
				// Closed with the frame unread, TCP may reset rather than
				// end the connection.
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				var ne net.Error
				if n, err := conn.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("%s: read %d bytes, %v; want the connection closed", network, n, err)
				}
				if err := <-errs; !errors.Is(err, tc.err) {
					t.Fatalf("%s: Read error %v, want %v", network, err, tc.err)
				}
				echo(t, other, 3)
			}
		})
	}
}

// TestRawSocketUndecodableMessageKeepsFraming: a message that does not
// decode is an error of Read, and the next one is read as usual.
func TestRawSocketUndecodableMessageKeepsFraming(t *testing.T) {
	p, client := pipePeer(t, Config{}, 0xf1)
	go client.Write(append(rsFrameBytes(rsMessage, []byte(`{"not":"wamp"}`)), rsFrameBytes(rsMessage, []byte(`[36,1,2,{}]`))...))
	if _, err := p.Read(); !errors.Is(err, wamp.ErrMalformed) {
		t.Fatalf("Read error %v, want wamp.ErrMalformed", err)
	}
	m, err := p.Read()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*wamp.Event); !ok {
		t.Fatalf("got %#v, want the EVENT that followed", m)
	}
}

func TestRawSocketServerPingsIdleClient(t *testing.T) {
	addr, errs := rsEchoServer(t, "tcp", Config{PingInterval: 50 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	conn := rawRS(t, "tcp", addr)
	if typ, p := readRSFrame(t, conn); typ != rsPing || len(p) != 0 {
		t.Fatalf("got type %d %q, want an empty ping", typ, p)
	}
	// Never answering: the server gives up after ReadTimeout.
	select {
	case err := <-errs:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Read error %v, want a timeout", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("silent client still connected")
	}
}

func TestRawSocketPongsKeepAQuietClientConnected(t *testing.T) {
	addr, errs := rsEchoServer(t, "unix", Config{PingInterval: 30 * time.Millisecond, ReadTimeout: 100 * time.Millisecond})
	p, err := DialRawSocket(context.Background(), "unix", addr, Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := make(chan wamp.Message, 1)
	go func() {
		defer close(got)
		for {
			m, err := p.Read() // answers the server's pings
			if err != nil {
				return
			}
			got <- m
		}
	}()
	time.Sleep(400 * time.Millisecond) // four read timeouts' worth of silence
	p.Send(&wamp.Published{Request: 1, Publication: 2})
	select {
	case m, ok := <-got:
		if !ok {
			t.Fatalf("connection closed: %v", <-errs)
		}
		if m.(*wamp.Published).Publication != 2 {
			t.Fatalf("got %#v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no echo")
	}
}

// pipePeer returns a router-side RawSocket peer over a synchronous pipe,
// and the client's end of the pipe, past the handshake.
func pipePeer(t *testing.T, cfg Config, req byte) (Peer, net.Conn) {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close() })
	replied := make(chan error, 1)
	go func() {
		client.Write([]byte{0x7f, req, 0, 0})
		_, err := io.ReadFull(client, make([]byte, 4))
		replied <- err
	}()
	p, err := AcceptRawSocket(server, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := <-replied; err != nil {
		t.Fatal(err)
	}
	return p, client
}

func TestRawSocketSlowConsumer(t *testing.T) {
	// Nobody reads the pipe: the writer blocks on its first write and the
	// queue fills.
	p, _ := pipePeer(t, Config{OutboundQueue: 4, WriteTimeout: 5 * time.Second}, 0xf1)
	var err error
	for i := range 100 {
		if err = p.Send(&wamp.Published{Request: wamp.ID(i + 1), Publication: 1}); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("send: %v, want ErrSlowConsumer", err)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow consumer not disconnected")
	}
	if err := p.Send(&wamp.Published{Request: 1, Publication: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after disconnect: %v, want ErrClosed", err)
	}
	if _, err := p.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after disconnect: %v, want ErrClosed", err)
	}
}

// TestRawSocketUnreadPongsAreASlowConsumer pings without reading: the
// pongs' bytes, bounded by 64 KiB for a small negotiated length,
// disconnect the client rather than grow.
func TestRawSocketUnreadPongsAreASlowConsumer(t *testing.T) {
	p, client := pipePeer(t, Config{MaxMessageSize: 1024, WriteTimeout: 5 * time.Second}, 0xf1)
	go func() {
		for range 100 {
			if _, err := client.Write(rsFrameBytes(rsPing, make([]byte, 1000))); err != nil {
				return
			}
		}
	}()
	var err error
	for err == nil {
		_, err = p.Read()
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Read error %v, want ErrSlowConsumer", err)
	}
}

func TestRawSocketSendOverThePeersLimit(t *testing.T) {
	server, client := rsPair(t, "tcp", Config{MaxMessageSize: 600}, Config{MaxMessageSize: 600})
	big := &wamp.Event{Subscription: 1, Publication: 2, Payload: wamp.Payload{Args: wamp.List{strings.Repeat("x", 600)}}}
	if err := server.Send(big); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("Send: %v, want ErrMessageTooBig", err)
	}
	if err := server.SendShared(NewShared(big)); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("SendShared: %v, want ErrMessageTooBig", err)
	}
	// Neither was written, and the peer goes on.
	small := &wamp.Event{Subscription: 1, Publication: 3}
	if err := server.SendShared(NewShared(small)); err != nil {
		t.Fatal(err)
	}
	m, err := client.Read()
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := m.(*wamp.Event); !ok || e.Publication != 3 {
		t.Fatalf("got %#v, want the small event", m)
	}
	// The client honours the router's limit too: 512 B, announced for 600.
	if err := client.Send(&wamp.Publish{Request: 1, Topic: wamp.URI(strings.Repeat("t", 600))}); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("client Send: %v, want ErrMessageTooBig", err)
	}
}

func TestRawSocketLargeMessages(t *testing.T) {
	server, client := rsPair(t, "unix", Config{}, Config{})
	for _, n := range []int{2000, 100 << 10, 1 << 20} {
		arg := strings.Repeat("y", n)
		if err := client.Send(&wamp.Publish{Request: 1, Topic: "t", Payload: wamp.Payload{Args: wamp.List{arg}}}); err != nil {
			t.Fatal(err)
		}
		m, err := server.Read()
		if err != nil {
			t.Fatal(err)
		}
		args, _, err := codec.Values(&m.(*wamp.Publish).Payload)
		if err != nil || len(args) != 1 || args[0] != arg {
			t.Fatalf("%d bytes: got %d args, %v", n, len(args), err)
		}
	}
}

func TestRawSocketCloseIsIdempotent(t *testing.T) {
	server, client := rsPair(t, "tcp", Config{}, Config{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { client.Close() })
	}
	wg.Wait()
	client.Close()
	<-client.Done()
	if _, err := client.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
	if err := client.Send(&wamp.Published{Request: 1, Publication: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
	if _, err := server.Read(); err != io.EOF {
		t.Fatalf("server Read: %v, want io.EOF", err)
	}
}

// TestRawSocketCloseFlushes: what was sent before Close arrives.
func TestRawSocketCloseFlushes(t *testing.T) {
	server, client := rsPair(t, "tcp", Config{}, Config{})
	for i := range 1000 {
		server.Send(&wamp.Published{Request: wamp.ID(i + 1), Publication: 1})
	}
	server.Close()
	for i := range 1000 {
		m, err := client.Read()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got := m.(*wamp.Published).Request; got != wamp.ID(i+1) {
			t.Fatalf("message %d is %d", i, got)
		}
	}
	if _, err := client.Read(); err != io.EOF {
		t.Fatalf("after the flush: %v, want io.EOF", err)
	}
}

func TestServeRawSocketStops(t *testing.T) {
	t.Run("context", func(t *testing.T) {
		l := listen(t, "tcp")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- ServeRawSocket(ctx, l, Config{}, func(p Peer) { p.Close() }) }()
		// A connection that never finishes its handshake is closed too.
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write([]byte{0x7f})
		time.Sleep(20 * time.Millisecond) // let it be accepted
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("ServeRawSocket: %v, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("ServeRawSocket still running")
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err == nil {
			t.Fatal("half-handshaken connection still open")
		}
		if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
			t.Fatal("listener still open")
		}
	})
	t.Run("listener closed", func(t *testing.T) {
		l := listen(t, "unix")
		done := make(chan error, 1)
		go func() { done <- ServeRawSocket(context.Background(), l, Config{}, func(p Peer) { p.Close() }) }()
		l.Close()
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("ServeRawSocket: %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("ServeRawSocket still running")
		}
	})
}

// TestServeRawSocketFailedHandshakesAffectNoOne opens a session, then
// many bad handshakes at once: the session goes on.
func TestServeRawSocketFailedHandshakesAffectNoOne(t *testing.T) {
	addr, _ := rsEchoServer(t, "tcp", Config{})
	p, err := DialRawSocket(context.Background(), "tcp", addr, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			req := [][]byte{{'G', 'E', 'T', ' '}, {0x7f, 0xf1, 0, 1}, {0x7f, 0xfe, 0, 0}}[i%3]
			conn.Write(req)
			io.ReadAll(conn)
		})
		if i%5 == 0 {
			echo(t, p, 1)
		}
	}
	wg.Wait()
	echo(t, p, 10)
}

func TestRSLength(t *testing.T) {
	for _, tc := range []struct{ max, limit int }{
		{0, 512}, {511, 512}, {512, 512}, {1023, 512}, {1024, 1024},
		{100000, 65536}, {16<<20 - 1, 8 << 20}, {16 << 20, 16 << 20}, {1 << 30, 16 << 20},
	} {
		nibble, limit := rsLength(tc.max)
		if limit != tc.limit || rsLimit(nibble) != limit {
			t.Errorf("rsLength(%d) = %d, %d; want limit %d", tc.max, nibble, limit, tc.limit)
		}
	}
}

func TestRSHeader(t *testing.T) {
	for _, tc := range []struct {
		typ byte
		n   int
		hdr string
	}{
		{rsMessage, 0, "00000000"},
		{rsPing, 5, "01000005"},
		{rsPong, 0x123456, "02123456"},
		{rsMessage, 1<<24 - 1, "00ffffff"},
		{rsMessage, 1 << 24, "08000000"},
	} {
		var b bytes.Buffer
		appendRSHeader(&b, tc.typ, tc.n)
		if got := fmt.Sprintf("%x", b.Bytes()); got != tc.hdr {
			t.Errorf("header of type %d, %d bytes: %s, want %s", tc.typ, tc.n, got, tc.hdr)
		}
		typ, n, err := parseRSHeader(b.Bytes())
		if err != nil || typ != tc.typ || n != tc.n {
			t.Errorf("parse %s: %d, %d, %v", tc.hdr, typ, n, err)
		}
	}
}

func ExampleServeRawSocket() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		// A router passes its Attach; this server echoes.
		served <- ServeRawSocket(ctx, l, Config{}, func(p Peer) {
			echoBack(p)
		})
	}()

	defer func() {
		stop()
		fmt.Println("served:", <-served)
	}()

	p, err := Dial(context.Background(), "tcp://"+l.Addr().String(), Config{Serializers: []codec.Codec{codec.MsgPack}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	p.Send(&wamp.Publish{Request: 1, Topic: "com.example.news"})
	m, _ := p.Read()
	fmt.Println(p.Info().Transport, p.Info().Serializer, m.(*wamp.Publish).Topic)
	// Output:
	// rawsocket msgpack com.example.news
	// served: <nil>
}

// BenchmarkRawSocketRoundTrip sends a CALL to an echo server and reads
// it back, over RawSocket (TCP and Unix socket) and, for comparison,
// WebSocket, with JSON.
func BenchmarkRawSocketRoundTrip(b *testing.B) {
	dials := map[string]func() (Peer, error){
		"rawsocket-tcp": func() (Peer, error) {
			addr, _ := rsEchoServer(b, "tcp", Config{})
			return DialRawSocket(context.Background(), "tcp", addr, Config{})
		},
		"rawsocket-unix": func() (Peer, error) {
			addr, _ := rsEchoServer(b, "unix", Config{})
			return DialRawSocket(context.Background(), "unix", addr, Config{})
		},
		"websocket": func() (Peer, error) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, err := Upgrade(w, r, Config{})
				if err != nil {
					return
				}
				echoBack(p)
			}))
			b.Cleanup(srv.Close)
			return Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), Config{})
		},
	}
	for _, name := range []string{"rawsocket-tcp", "rawsocket-unix", "websocket"} {
		b.Run(name, func(b *testing.B) {
			p, err := dials[name]()
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			call := &wamp.Call{Request: 1, Procedure: "bench.echo", Payload: wamp.Payload{Args: wamp.List{"ping", int64(1)}}}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Send(call); err != nil {
					b.Fatal(err)
				}
				if _, err := p.Read(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

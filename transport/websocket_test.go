package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// echoServer serves one WebSocket peer per connection and echoes what it
// reads; errors from Read go to errs.
func echoServer(t *testing.T, cfg Config) (url string, errs chan error) {
	t.Helper()
	errs = make(chan error, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := Upgrade(w, r, cfg)
		if err != nil {
			errs <- err
			return
		}
		errs <- echoBack(p)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), errs
}

func TestEchoEverySerializer(t *testing.T) {
	url, _ := echoServer(t, Config{})
	for _, c := range codec.All {
		p, err := Dial(context.Background(), url, Config{Serializers: []codec.Codec{c}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Info().Serializer != c.Name() {
			t.Fatalf("negotiated %s, want %s", p.Info().Serializer, c.Name())
		}
		for i := range 100 {
			p.Send(&wamp.Publish{Request: wamp.ID(i + 1), Topic: "t", Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
		}
		for i := range 100 {
			m, err := p.Read()
			if err != nil {
				t.Fatal(err)
			}
			if got := m.(*wamp.Publish).Request; got != wamp.ID(i+1) {
				t.Fatalf("%s: message %d has request %d: order lost", c.Name(), i, got)
			}
		}
		p.Close()
	}
}

// rawClient is a hand-driven WebSocket client, to send what a well-behaved
// one would not.
func rawClient(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := ws.Dialer{Protocols: []string{"wamp.2.json"}}
	conn, br, _, err := d.Dial(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if br == nil {
		br = bufio.NewReader(conn)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, br
}

func writeFrame(t *testing.T, conn net.Conn, f ws.Frame) {
	t.Helper()
	if err := ws.WriteFrame(conn, f); err != nil {
		t.Fatal(err)
	}
}

func readFrame(t *testing.T, conn net.Conn, br *bufio.Reader) ws.Frame {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := ws.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	if h.Length > 1<<20 {
		t.Fatalf("frame of %d bytes", h.Length)
	}
	f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
	if _, err := io.ReadFull(br, f.Payload); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPingIsAnsweredAndFragmentsAreAssembled(t *testing.T) {
	url, _ := echoServer(t, Config{})
	conn, br := rawClient(t, url)
	writeFrame(t, conn, ws.MaskFrame(ws.NewPingFrame([]byte("hi"))))
	if f := readFrame(t, conn, br); f.Header.OpCode != ws.OpPong || string(f.Payload) != "hi" {
		t.Fatalf("got %v %q, want pong hi", f.Header.OpCode, f.Payload)
	}
	msg := `[16,1,{},"fragmented.topic"]`
	first := ws.NewFrame(ws.OpText, false, []byte(msg[:10]))
	second := ws.NewFrame(ws.OpContinuation, true, []byte(msg[10:]))
	writeFrame(t, conn, ws.MaskFrame(first))
	writeFrame(t, conn, ws.MaskFrame(ws.NewPingFrame(nil))) // control frames may interleave
	writeFrame(t, conn, ws.MaskFrame(second))
	if f := readFrame(t, conn, br); f.Header.OpCode != ws.OpPong {
		t.Fatalf("got %v, want pong", f.Header.OpCode)
	}
	if f := readFrame(t, conn, br); string(f.Payload) != msg {
		t.Fatalf("echo %q, want %q", f.Payload, msg)
	}
}

func TestWebSocketProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame ws.Frame
		code  ws.StatusCode
		err   error
	}{
		{"unmasked client frame", ws.NewTextFrame([]byte(`[1,"r",{}]`)), ws.StatusProtocolError, ErrProtocol},
		{"invalid utf-8", ws.MaskFrame(ws.NewTextFrame([]byte{0xff, 0xfe})), ws.StatusInvalidFramePayloadData, ErrProtocol},
		{"too big", ws.MaskFrame(ws.NewTextFrame([]byte(`["` + strings.Repeat("x", 200) + `"]`))), ws.StatusMessageTooBig, ErrMessageTooBig},
		{"orphan continuation", ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte("x"))), ws.StatusProtocolError, ErrProtocol},
		{"close code 999", ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(999, "bye"))), ws.StatusProtocolError, ErrProtocol},
		{"close code 1005", ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(1005, ""))), ws.StatusProtocolError, ErrProtocol},
		{"close code 2999", ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(2999, ""))), ws.StatusProtocolError, ErrProtocol},
		{"one-byte close body", ws.MaskFrame(ws.NewCloseFrame([]byte{3})), ws.StatusProtocolError, ErrProtocol},
		{"close reason not UTF-8", ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(1000, "\xff"))), ws.StatusInvalidFramePayloadData, ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, errs := echoServer(t, Config{MaxMessageSize: 100})
			conn, br := rawClient(t, url)
			writeFrame(t, conn, tc.frame)
			f := readFrame(t, conn, br)
			if f.Header.OpCode != ws.OpClose {
				t.Fatalf("got %v, want close", f.Header.OpCode)
			}
			if code, _ := ws.ParseCloseFrameData(f.Payload); code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
			if err := <-errs; !errors.Is(err, tc.err) {
				t.Fatalf("Read error %v, want %v", err, tc.err)
			}
		})
	}
}

func TestCloseHandshake(t *testing.T) {
	url, errs := echoServer(t, Config{})
	conn, br := rawClient(t, url)
	writeFrame(t, conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))))
	if f := readFrame(t, conn, br); f.Header.OpCode != ws.OpClose {
		t.Fatalf("got %v, want close", f.Header.OpCode)
	}
	if err := <-errs; err != io.EOF {
		t.Fatalf("Read error %v, want io.EOF", err)
	}
}

func TestServerPingsIdleClient(t *testing.T) {
	url, errs := echoServer(t, Config{PingInterval: 50 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	conn, br := rawClient(t, url)
	if f := readFrame(t, conn, br); f.Header.OpCode != ws.OpPing {
		t.Fatalf("got %v, want ping", f.Header.OpCode)
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

func TestUpgradeWithoutWAMPSubprotocol(t *testing.T) {
	url, _ := echoServer(t, Config{})
	resp, err := http.Get(strings.Replace(url, "ws", "http", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", resp.StatusCode)
	}
}

func TestSharedEncodesOncePerSerializer(t *testing.T) {
	s := NewShared(&wamp.Event{Subscription: 1, Publication: 2, Payload: wamp.Payload{Args: wamp.List{"x"}}})
	a, _ := s.Encoded(codec.JSON)
	b, _ := s.Encoded(codec.JSON)
	if &a[0] != &b[0] {
		t.Fatal("JSON encoding made twice")
	}
	m, _ := s.Encoded(codec.MsgPack)
	if string(m) == string(a) {
		t.Fatal("msgpack and JSON share bytes")
	}
}

func TestPipe(t *testing.T) {
	a, b := Pipe(Config{OutboundQueue: 4})
	for i := range 4 {
		if err := a.Send(&wamp.Published{Request: wamp.ID(i + 1), Publication: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Send(&wamp.Published{Request: 5, Publication: 1}); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("fifth send: %v, want ErrSlowConsumer", err)
	}
	select {
	case <-b.Done():
	default:
		t.Fatal("pipe not closed after slow consumer")
	}
	if _, err := a.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after close: %v", err)
	}
}

func TestPongsKeepAQuietClientConnected(t *testing.T) {
	url, errs := echoServer(t, Config{PingInterval: 30 * time.Millisecond, ReadTimeout: 100 * time.Millisecond})
	p, err := Dial(context.Background(), url, Config{PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got := make(chan wamp.Message, 1)
	go func() {
		for {
			m, err := p.Read() // answers the server's pings
			if err != nil {
				close(got)
				return
			}
			got <- m
		}
	}()
	time.Sleep(500 * time.Millisecond) // five read timeouts' worth of silence
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

// TestConcurrentSendersKeepOrder drives the on-demand writer through many
// start/stop cycles from several goroutines: every message arrives, in
// order per sender.
func TestConcurrentSendersKeepOrder(t *testing.T) {
	url, _ := echoServer(t, Config{})
	p, err := Dial(context.Background(), url, Config{Serializers: []codec.Codec{codec.MsgPack}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const senders, each = 8, 3000
	for s := range senders {
		go func() {
			for i := range each {
				p.Send(&wamp.Published{Request: wamp.ID(s + 1), Publication: wamp.ID(i + 1)})
				if i%50 == 0 {
					time.Sleep(100 * time.Microsecond) // let the writers go idle
				} else {
					runtime.Gosched()
				}
			}
		}()
	}
	next := make([]wamp.ID, senders+1)
	for range senders * each {
		m, err := p.Read()
		if err != nil {
			t.Fatal(err)
		}
		pub := m.(*wamp.Published)
		if want := next[pub.Request] + 1; pub.Publication != want {
			t.Fatalf("sender %d: got message %d, want %d", pub.Request, pub.Publication, want)
		}
		next[pub.Request] = pub.Publication
	}
}

// A message that keeps arriving is read however long it takes as a whole:
// the read timeout bounds each wait for bytes, not the message.
func TestSlowlyArrivingMessageIsNotTimedOut(t *testing.T) {
	url, errs := echoServer(t, Config{PingInterval: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond})
	conn, br := rawClient(t, url)
	msg := []byte(`[16,1,{},"t",["` + strings.Repeat("x", 4000) + `"]]`)
	f := ws.MaskFrameInPlace(ws.NewTextFrame(append([]byte(nil), msg...)))
	var frame bytes.Buffer
	if err := ws.WriteFrame(&frame, f); err != nil {
		t.Fatal(err)
	}
	// Twenty slices, 50 ms apart: about a second in all, well past the
	// ping interval and the read timeout.
	data := frame.Bytes()
	step := len(data)/20 + 1
	for i := 0; i < len(data); i += step {
		if _, err := conn.Write(data[i:min(i+step, len(data))]); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			t.Fatalf("the server gave up on a message still arriving: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	echo := readFrame(t, conn, br)
	if !bytes.Contains(echo.Payload, []byte(strings.Repeat("x", 4000))) {
		t.Fatalf("echo of %d bytes does not hold the message", len(echo.Payload))
	}
}

// echoBack sends every message p reads back to it, until Read fails; it
// closes p and returns Read's error.
func echoBack(p Peer) error {
	defer p.Close()
	if w, ok := p.(Welcomer); ok {
		w.Welcomed() // as a router does once the session is open
	}
	for {
		m, err := p.Read()
		if err != nil {
			return err
		}
		p.Send(m)
	}
}

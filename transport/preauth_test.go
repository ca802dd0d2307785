package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"

	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// TestReadGrowingGrowsAsBytesArrive: the peer who announced 16 MiB sent 9
// bytes and went away.
func TestReadGrowingGrowsAsBytesArrive(t *testing.T) {
	buf, err := readGrowing(bytes.NewReader(make([]byte, 9)), nil, 16<<20)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(buf) != 9 || cap(buf) > 64<<10 {
		t.Fatalf("len %d cap %d err %v; want 9 bytes in at most 64 KiB and ErrUnexpectedEOF", len(buf), cap(buf), err)
	}
	// A frame that does arrive whole is read whole, whatever it needs.
	data := bytes.Repeat([]byte("0123456789abcdef"), 50000)
	buf, err = readGrowing(bytes.NewReader(data), make([]byte, 0, 100), len(data))
	if err != nil || !bytes.Equal(buf, data) {
		t.Fatalf("read %d bytes, %v", len(buf), err)
	}
}

// upgradeServer serves WebSocket peers made by Upgrade, handed over on
// the channel (buffered for n), and returns the ws:// URL.
func upgradeServer(t *testing.T, cfg Config, n int) (string, chan Peer) {
	t.Helper()
	peers := make(chan Peer, n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := Upgrade(w, r, cfg)
		if err != nil {
			t.Error(err)
			return
		}
		peers <- p
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), peers
}

// allocatedDuring returns how many bytes the process allocated while f ran.
func allocatedDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestAnnouncedFrameSizeIsNotTrusted: a welcomed peer announcing a 16 MiB
// frame and sending nine bytes makes the reader allocate far less than
// that, on RawSocket and WebSocket.
func TestAnnouncedFrameSizeIsNotTrusted(t *testing.T) {
	cfg := Config{}
	t.Run("rawsocket", func(t *testing.T) {
		p, client := pipePeer(t, cfg, 0xf1)
		p.(Welcomer).Welcomed()
		go func() {
			hdr := make([]byte, 4)
			binary.BigEndian.PutUint32(hdr, 16<<20-1)
			client.Write(append(hdr, "[1,\"r\",{}"...))
			client.Close()
		}()
		var err error
		n := allocatedDuring(func() { _, err = p.Read() })
		if err == nil || n > 4<<20 {
			t.Fatalf("Read allocated %d bytes for a 9-byte partial frame (err %v)", n, err)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		url, peers := upgradeServer(t, cfg, 1)
		conn, _ := rawClient(t, url)
		p := <-peers
		t.Cleanup(func() { p.Close() })
		p.(Welcomer).Welcomed()
		h := ws.Header{Fin: true, OpCode: ws.OpText, Length: 16<<20 - 1, Masked: true}
		var err error
		n := allocatedDuring(func() {
			go func() {
				ws.WriteHeader(conn, h)
				conn.Write([]byte("[1,\"r\",{}"))
				conn.Close()
			}()
			_, err = p.Read()
		})
		if err == nil || n > 4<<20 {
			t.Fatalf("Read allocated %d bytes for a 9-byte partial frame (err %v)", n, err)
		}
	})
}

// TestMessagesBeforeWelcomeAreSmall: until the router welcomes the
// session, a server peer refuses a message over MaxHelloSize; after, up to
// MaxMessageSize.
func TestMessagesBeforeWelcomeAreSmall(t *testing.T) {
	cfg := Config{MaxHelloSize: 1024, MaxMessageSize: 1 << 20}
	big := []byte(`[1,"r",{"x":"` + strings.Repeat("y", 2000) + `"}]`)
	frame := func() []byte {
		hdr := make([]byte, 4)
		binary.BigEndian.PutUint32(hdr, uint32(len(big)))
		return append(hdr, big...)
	}
	p, client := pipePeer(t, cfg, 0xf1)
	go client.Write(frame())
	if _, err := p.Read(); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("before WELCOME: %v, want ErrMessageTooBig", err)
	}
	p, client = pipePeer(t, cfg, 0xf1)
	p.(Welcomer).Welcomed()
	go client.Write(frame())
	m, err := p.Read()
	if err != nil {
		t.Fatalf("after WELCOME: %v", err)
	}
	if h, ok := m.(*wamp.Hello); !ok || h.Realm != "r" {
		t.Fatalf("got %#v", m)
	}
}

// TestUnencodableSharedMessageIsLoggedOnce: an event no serializer can
// encode, sent to many peers, is one log line, not one per peer (the log
// flood: 402,930 lines in 5 s); each peer goes on.
func TestUnencodableSharedMessageIsLoggedOnce(t *testing.T) {
	var logs syncLog
	cfg := Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	url, peers := upgradeServer(t, cfg, 10)
	var clients []Peer
	for range 10 {
		c, err := Dial(context.Background(), url, Config{Serializers: []codec.Codec{codec.JSON}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}
	bad := NewShared(&wamp.Event{Subscription: 1, Publication: 2, Payload: wamp.Payload{Args: wamp.List{make(chan int)}}})
	good := NewShared(&wamp.Event{Subscription: 1, Publication: 3})
	for range 10 {
		p := <-peers
		t.Cleanup(func() { p.Close() })
		if err := p.SendShared(bad); err != nil {
			t.Fatal(err)
		}
		if err := p.SendShared(good); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients {
		m, err := c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.(*wamp.Event); !ok || e.Publication != 3 {
			t.Fatalf("got %#v, want the good event", m)
		}
	}
	if n := strings.Count(logs.String(), "cannot be encoded"); n != 1 {
		t.Fatalf("%d log lines for one unencodable event sent to 10 peers", n)
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

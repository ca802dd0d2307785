package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/plugins/netproto"
)

// start runs the example app on free loopback ports, tuned by tune.
func start(t *testing.T, tune func(*netproto.TCPServer, *netproto.UDPServer)) (*junction.Application, *netproto.TCPServer, *netproto.UDPServer) {
	t.Helper()
	app, tcp, udp := newApp("127.0.0.1:0", "127.0.0.1:0",
		junction.WithSettings(func(s *junction.Settings) { s.Listen = "127.0.0.1:0" }),
		junction.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if tune != nil {
		tune(tcp, udp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("tcp %s, udp %s", tcp.Addr(), udp.Addr())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return app, tcp, udp
}

func TestTCPEchoUnderLoad(t *testing.T) {
	const clients, rounds = 64, 50
	app, tcp, _ := start(t, nil)
	// A WAMP subscriber sees the echoes too.
	var seen sync.WaitGroup
	seen.Add(1)
	var once sync.Once
	sess, err := client.Dial(context.Background(), "ws://"+app.Addr().String()+"/ws", client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(context.Background())
	if _, err := sess.Subscribe(context.Background(), "echo.tcp", func(context.Context, *client.Event) { once.Do(seen.Done) }, nil); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", tcp.Addr().String(), 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			want := []byte(strings.Repeat(fmt.Sprintf("client %d; ", i), 100))
			got := make([]byte, len(want))
			for r := range rounds {
				if _, err := c.Write(want); err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", i, r, err)
					return
				}
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
					errs <- fmt.Errorf("client %d round %d: echo %.40q..., %v", i, r, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen.Wait()
}

func TestTCPClientThatNeverReadsIsCutOff(t *testing.T) {
	const bound = 256 << 10
	_, tcp, _ := start(t, func(s *netproto.TCPServer, _ *netproto.UDPServer) {
		s.Config.MaxBuffered = bound
		s.Config.WriteTimeout = 2 * time.Second
	})
	c, err := net.DialTimeout("tcp", tcp.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Small, not tiny: a 4 KiB receive buffer at times stalled our writes
	// on Linux loopback (see netproto's test of the same).
	c.(*net.TCPConn).SetReadBuffer(64 << 10)
	c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	chunk := make([]byte, 64<<10)
	sent := 0
	for sent < 1<<30 && tcp.Stats().SlowConsumers == 0 {
		n, err := c.Write(chunk)
		sent += n
		if err != nil {
			break // the server closed the connection
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for tcp.Stats().SlowConsumers != 1 || tcp.Stats().Open != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not cut off: %+v", tcp.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := tcp.Stats(); st.PeakBuffered > bound {
		t.Errorf("peak %d bytes queued, over %d", st.PeakBuffered, bound)
	}
	t.Logf("cut off after %d bytes sent; %+v", sent, tcp.Stats())
}

func TestShutdownWithOpenConnections(t *testing.T) {
	app, tcp, _ := newApp("127.0.0.1:0", "127.0.0.1:0",
		junction.WithSettings(func(s *junction.Settings) { s.Listen = "" }),
		junction.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 32 {
		c, err := net.DialTimeout("tcp", tcp.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tcp.Stats().Open != len(conns) {
		if time.Now().After(deadline) {
			t.Fatalf("%+v", tcp.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Errorf("client %d: %v, want EOF", i, err)
		}
	}
}

func TestUDPEchoUnderLoadAndOversizedDatagrams(t *testing.T) {
	const clients, messages = 32, 50
	_, _, udp := start(t, func(_ *netproto.TCPServer, u *netproto.UDPServer) { u.Config.MaxDatagram = 1024 })
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.Dial("udp", udp.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			buf := make([]byte, 2048)
			for j := range messages {
				msg := fmt.Sprintf("client %d message %d", i, j)
				if err := exchange(c, msg, buf); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	c, err := net.Dial("udp", udp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, 1500))
	deadline := time.Now().Add(10 * time.Second)
	for udp.Stats().Malformed != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the oversized datagram was not refused: %+v", udp.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := exchange(c, "still echoing", make([]byte, 2048)); err != nil {
		t.Fatal(err)
	}
}

// exchange sends msg until its echo comes back (UDP may drop a
// datagram; the echo must never be wrong).
func exchange(c net.Conn, msg string, buf []byte) error {
	for try := 0; try < 50; try++ {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			if string(buf[:n]) == msg {
				return nil
			}
		}
	}
	return fmt.Errorf("no echo of %q", msg)
}

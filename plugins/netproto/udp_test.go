package netproto

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var echoPackets = PacketHandlerFunc(func(ctx context.Context, p *Packet) error { return p.Reply(p.Data) })

func startUDP(t *testing.T, s *UDPServer) *UDPServer {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("listening on udp %s", s.Addr())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

// exchange sends msg and waits for the same bytes back, sending again
// after each silence (UDP may drop; the echo must not be wrong).
func exchange(c net.Conn, msg string) error {
	buf := make([]byte, 2048)
	for try := 0; try < 50; try++ {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, err := c.Read(buf)
			if err != nil {
				break // silence: send again
			}
			if string(buf[:n]) == msg {
				return nil
			}
			// a late echo of an earlier try: read on
		}
	}
	return fmt.Errorf("no echo of %q", msg)
}

func TestUDPEchoUnderLoadFromManyClients(t *testing.T) {
	const clients, messages = 20, 100
	s := startUDP(t, &UDPServer{Handler: echoPackets})
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.Dial("udp", s.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := range messages {
				if err := exchange(c, fmt.Sprintf("client %d message %d", i, j)); err != nil {
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
}

func TestUDPDropsDatagramsTooLargeOrOverTheBound(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	var blocked atomic.Int32
	s := startUDP(t, &UDPServer{Config: UDPConfig{MaxDatagram: 100, MaxInFlight: 2},
		Handler: PacketHandlerFunc(func(ctx context.Context, p *Packet) error {
			if string(p.Data) == "block" {
				blocked.Add(1)
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return p.Reply(p.Data)
		})})
	defer once.Do(func() { close(release) })
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	c.Write(make([]byte, 200))
	waitFor(t, "the large datagram to be dropped", func() bool { return s.Stats().Malformed == 1 })
	if err := exchange(c, "small"); err != nil {
		t.Fatal(err)
	}

	// Fill both slots with blocked handlers. A late "small", sent again
	// while the CPU was busy, may hold a slot for a moment and get a
	// "block" dropped: send again until both are held.
	deadline := time.Now().Add(30 * time.Second)
	for blocked.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for two blocked handlers")
		}
		n := blocked.Load()
		c.Write([]byte("block"))
		for wait := time.Now().Add(200 * time.Millisecond); blocked.Load() == n && time.Now().Before(wait); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	dropped := s.Stats().Dropped
	c.Write([]byte("over"))
	waitFor(t, "a datagram over MaxInFlight to be dropped", func() bool { return s.Stats().Dropped > dropped })
	once.Do(func() { close(release) })
	if err := exchange(c, "after"); err != nil {
		t.Fatal(err)
	}
}

func TestUDPStopWaitsForRunningHandlers(t *testing.T) {
	running := make(chan struct{})
	s := &UDPServer{Handler: PacketHandlerFunc(func(ctx context.Context, p *Packet) error {
		close(running)
		<-ctx.Done() // Stop ends it
		return p.Reply([]byte("bye"))
	})}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hi"))
	<-running
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "bye" {
		t.Errorf("got %q, %v; want the handler's reply sent before the socket closed", buf[:n], err)
	}
}

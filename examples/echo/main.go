// Command echo is seed 003's two Twisted echo servers in one app: a TCP
// server that writes back whatever it receives, as soon as it receives
// it, and a UDP server that sends each datagram back to its sender.
// Both run beside the app's HTTP and WAMP, bounded (connections, bytes
// queued for a client that does not read, datagrams in flight), and
// publish what they echo on echo.tcp and echo.udp for WAMP subscribers.
//
//	go run ./examples/echo run --tcp-listen 127.0.0.1:8000 --udp-listen 127.0.0.1:8000
//	nc 127.0.0.1 8000            # TCP
//	nc -u 127.0.0.1 8000         # UDP
package main

import (
	"context"
	"errors"
	"io"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/plugins/netproto"
)

func main() {
	app, _, _ := newApp("127.0.0.1:8000", "127.0.0.1:8000")
	app.Run()
}

// newApp declares the app with its TCP echo on tcpAddr and its UDP echo
// on udpAddr.
func newApp(tcpAddr, udpAddr string, opts ...junction.Option) (*junction.Application, *netproto.TCPServer, *netproto.UDPServer) {
	app := junction.New("echo", opts...)
	tcp := app.TCP(tcpAddr, netproto.HandlerFunc(echoTCP))
	udp := app.UDP(udpAddr, netproto.PacketHandlerFunc(echoUDP))
	return app, tcp, udp
}

// echoTCP is the seed's Echo protocol: "as soon as any data is
// received, echo it back".
func echoTCP(ctx context.Context, c *netproto.Conn) error {
	app := junction.AppFrom(ctx)
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr // a client that does not read is cut off
			}
			// For WAMP subscribers; the echo does not wait on them.
			app.Publish(ctx, ".tcp", n)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// echoUDP is the seed's ServerUdpEchoProtocol: each datagram goes back
// to its sender.
func echoUDP(ctx context.Context, p *netproto.Packet) error {
	junction.AppFrom(ctx).Publish(ctx, ".udp", len(p.Data))
	return p.Reply(p.Data)
}

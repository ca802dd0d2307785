package netproto_test

import (
	"bufio"
	"context"
	"fmt"
	"net"

	"github.com/junction-run/junction/plugins/netproto"
)

// A line-based TCP echo server, the seed's Twisted example.
func ExampleTCPServer() {
	srv := &netproto.TCPServer{
		Framing: netproto.Lines,
		Handler: netproto.HandlerFunc(func(ctx context.Context, c *netproto.Conn) error {
			for {
				line, err := c.ReadFrame()
				if err != nil {
					return err // io.EOF when the client leaves
				}
				if err := c.WriteFrame(line); err != nil {
					return err
				}
			}
		}),
	}
	if err := srv.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Stop(context.Background())

	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Fprintf(c, "hello, world!\n")
	echo, err := bufio.NewReader(c).ReadString('\n')
	fmt.Printf("%q %v\n", echo, err)
	// Output: "hello, world!\n" <nil>
}

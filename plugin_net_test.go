package junction

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/plugins/netproto"
)

func TestTCPHandlersPublishAndCallAndStopWithTheApp(t *testing.T) {
	app, _ := newTestApp(t, "shop")
	app.Register("upper", strings.ToUpper)
	lines := make(chan string, 1)
	app.Subscribe("shop.line", func(s string) { lines <- s })
	srv := app.TCP("127.0.0.1:0", netproto.HandlerFunc(func(ctx context.Context, c *netproto.Conn) error {
		app := AppFrom(ctx)
		for {
			f, err := c.ReadFrame()
			if err != nil {
				return err
			}
			if err := app.Publish(ctx, ".line", string(f)); err != nil {
				return err
			}
			res, err := app.Call(ctx, ".upper", string(f))
			if err != nil {
				return err
			}
			if err := c.WriteFrame([]byte(res.Arg(0).(string))); err != nil {
				return err
			}
		}
	}), Namespace("shout"))
	srv.Config.MaxFrame = 32
	startApp(t, app)
	t.Logf("tcp on %s", srv.Addr())

	c, err := net.DialTimeout("tcp", srv.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "hello\n")
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != "HELLO\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	select {
	case s := <-lines:
		if s != "hello" {
			t.Errorf("event %q", s)
		}
	case <-testCtx(t).Done():
		t.Fatal("no event")
	}

	resp, err := http.Get("http://" + app.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`junction_tcp_connections_open{plugin="shout"} 1`, `junction_plugin_up{plugin="shout"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	if err := app.Shutdown(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
		t.Errorf("after shutdown the client read %q, %v; want EOF", b, err)
	}
}

func TestTCPAndUDPSettingsAreTheAppsSettings(t *testing.T) {
	app := New("echo")
	app.TCP("127.0.0.1:8000", netproto.HandlerFunc(func(ctx context.Context, c *netproto.Conn) error { return nil }))
	app.UDP("127.0.0.1:8001", netproto.PacketHandlerFunc(func(ctx context.Context, p *netproto.Packet) error { return nil }))
	res := runCLI(t, app, nil, "--help")
	for _, want := range []string{"Settings of plugin tcp:", "--tcp-listen string", "default 127.0.0.1:8000", "env ECHO_TCP_MAX_BUFFERED",
		"Settings of plugin udp:", "--udp-max-in-flight int"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, res.stdout)
		}
	}
	app = New("echo")
	app.TCP(":8000", netproto.HandlerFunc(func(ctx context.Context, c *netproto.Conn) error { return nil }))
	res = runCLI(t, app, nil, "--tcp-max-frame=-5")
	if res.code != 2 || !strings.Contains(res.stderr, "max-frame: want 0 (the default) or more") {
		t.Errorf("code %d, stderr %s", res.code, res.stderr)
	}
	app = New("echo")
	app.TCP(":8000", nil)
	app.TCP(":8001", netproto.HandlerFunc(func(ctx context.Context, c *netproto.Conn) error { return nil }))
	if err := app.Start(testCtx(t)); err == nil || !strings.Contains(err.Error(), "nil handler") || !strings.Contains(err.Error(), "namespace tcp is taken") {
		app.Shutdown(context.Background())
		t.Errorf("Start = %v", err)
	}
}

func TestTCPAddressInUseFailsStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	app, _ := newTestApp(t, "shop")
	app.TCP(ln.Addr().String(), netproto.HandlerFunc(func(ctx context.Context, c *netproto.Conn) error { return nil }))
	err = app.Start(testCtx(t))
	if err == nil {
		app.Shutdown(context.Background())
		t.Fatal("Start succeeded")
	}
	if !strings.Contains(err.Error(), "junction: plugin tcp: start: netproto: listen:") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error %q", err)
	}
}

package sms

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/daemontest"
	"github.com/junction-run/junction/internal/plugintest"
	"github.com/junction-run/junction/wamp"
)

// proc is a program run by a test, its output kept.
type proc struct {
	t    *testing.T
	name string
	argv []string
	p    daemontest.Process
}

// start runs it and waits until waitAddr, if any, answers.
func (p *proc) start(waitAddr string) {
	p.t.Helper()
	p.p.Name, p.p.Argv = p.name, p.argv
	var addrs []string
	if waitAddr != "" {
		addrs = append(addrs, waitAddr)
	}
	if err := p.p.Start(addrs...); err != nil {
		p.t.Fatal(err)
	}
	if waitAddr != "" {
		p.t.Logf("%s up on %s", p.name, waitAddr)
	}
}

func (p *proc) logs() string { return p.p.Logs() }

func (p *proc) stop() { p.p.Stop() }

// expectLine waits for an output line containing s.
func (p *proc) expectLine(s string) string {
	p.t.Helper()
	return p.p.ExpectLine(p.t, s)
}

// kannel is Debian's Kannel: a bearerbox with a fake SMSC, an smsbox
// whose sms-service calls the app's get-url, and the fake SMSC's client
// (fakesmsc), which injects texts and prints those sent to it.
type kannel struct {
	SendSMS   string // the sendsms URL, through gate
	gate      *gate
	bearerbox *proc
	smsbox    *proc
	fakesmsc  *proc
	fakePort  string
}

func startKannel(t *testing.T, appHTTP string, inject string) *kannel {
	t.Helper()
	bb := daemontest.Need(t, "/usr/sbin/bearerbox", "kannel")
	sb := daemontest.Need(t, "/usr/sbin/smsbox", "kannel")
	fs := daemontest.Need(t, "/usr/lib/kannel/test/fakesmsc", "kannel-extras")
	dir := t.TempDir()
	admin, box, fake, send := daemontest.FreePort(t), daemontest.FreePort(t), daemontest.FreePort(t), daemontest.FreePort(t)
	conf := fmt.Sprintf(`group = core
admin-port = %[1]s
admin-password = %[5]s
smsbox-port = %[2]s
box-allow-ip = 127.0.0.1
admin-allow-ip = 127.0.0.1
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = %[3]s
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = %[2]s
sendsms-port = %[4]s
sendsms-interface = 127.0.0.1
log-level = 1

group = sendsms-user
username = app
password = s3cret

group = sms-service
keyword = default
catch-all = yes
get-url = "http://%[6]s/sms/kannel/incoming?from=%%p&to=%%P&text=%%a&id=%%I"
max-messages = 0
`, admin, box, fake, send, "adminpw", appHTTP)
	path := filepath.Join(dir, "kannel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &kannel{fakePort: fake, gate: startGate(t, "127.0.0.1:"+send)}
	k.SendSMS = "http://" + k.gate.addr() + "/cgi-bin/sendsms"
	k.bearerbox = &proc{t: t, name: "bearerbox", argv: []string{bb, "-v", "1", path}}
	k.bearerbox.start("127.0.0.1:" + fake)
	t.Cleanup(k.bearerbox.stop)
	k.smsbox = &proc{t: t, name: "smsbox", argv: []string{sb, "-v", "1", path}}
	k.startSmsbox()
	t.Cleanup(func() { k.smsbox.stop() })
	k.fakesmsc = &proc{t: t, name: "fakesmsc", argv: []string{fs, "-H", "127.0.0.1", "-r", fake, "-i", "0.1", "-m", "1", inject}}
	k.fakesmsc.start("")
	t.Cleanup(k.fakesmsc.stop)
	k.fakesmsc.expectLine("fakesmsc: sent message 1")
	return k
}

// startSmsbox starts smsbox and opens the gate once it is connected to
// the bearerbox: a sendsms request that comes before makes Kannel
// 1.4.5's smsbox panic ("lock_out: Assertion `conn != NULL' failed").
func (k *kannel) startSmsbox() {
	k.smsbox.start("")
	k.smsbox.expectLine("Connected to bearerbox")
	k.gate.set(true)
}

func (k *kannel) stopSmsbox() {
	k.gate.set(false)
	k.smsbox.stop()
}

// gate forwards TCP connections to a server while it is open, and
// closes them at once while it is shut, as a server that is down.
type gate struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   bool
	wg     sync.WaitGroup
}

func startGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: target}
	g.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.wg.Go(func() { g.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); g.wg.Wait() })
	return g
}

func (g *gate) addr() string { return g.ln.Addr().String() }

func (g *gate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = open
}

func (g *gate) serve(c net.Conn) {
	defer c.Close()
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	if !open {
		return
	}
	s, err := net.DialTimeout("tcp", g.target, 5*time.Second)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{})
	go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite(); close(done) }()
	io.Copy(c, s)
	c.Close()
	<-done
}

// startApp runs an app with the plugin, shut down at cleanup.
func startApp(t *testing.T, p *Plugin) *junction.Application {
	t.Helper()
	return plugintest.StartApp(t, "shop", p)
}

func wampClient(t *testing.T, app *junction.Application) *client.Session {
	t.Helper()
	return plugintest.Client(t, app)
}

// kannelPlugin is the plugin for a Kannel whose sendsms URL is not known
// yet: it is set before the first send.
func kannelPlugin() *Plugin {
	return New(Config{Backend: "kannel", KannelURL: "http://127.0.0.1:1/cgi-bin/sendsms", KannelUser: "app", KannelPassword: "s3cret",
		From: "12345", SendBackoff: 100 * time.Millisecond, SendMaxBackoff: time.Second, Timeout: 10 * time.Second})
}

func TestKannelTextsReachHandlersAndSendReachesTheFakeSMSC(t *testing.T) {
	p := kannelPlugin()
	loves := make(chan *Msg, 10)
	p.Receive(`^LOVE (\w+) (\w+)$`, func(ctx context.Context, m *Msg) error { loves <- m; return nil })
	app := startApp(t, p)
	wc := wampClient(t, app)
	events := make(chan wamp.Dict, 10)
	if _, err := wc.Subscribe(context.Background(), "sms.received", func(_ context.Context, e *client.Event) {
		d, _ := e.Arg(0).(wamp.Dict)
		events <- d
	}, nil); err != nil {
		t.Fatal(err)
	}

	k := startKannel(t, app.Addr().String(), "555123 12345 text LOVE alice bob")
	select {
	case m := <-loves:
		if m.From != "555123" || m.To != "12345" || m.Groups[1] != "alice" || m.Groups[2] != "bob" || m.Backend != "kannel" {
			t.Errorf("text %+v", m)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the injected text did not reach the handler\n%s", k.smsbox.logs())
	}
	select {
	case d := <-events:
		if d["text"] != "LOVE alice bob" || fmt.Sprint(d["groups"]) != "[LOVE alice bob alice bob]" {
			t.Errorf("sms.received %v", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no sms.received event")
	}

	p.setKannelURL(k.SendSMS)
	if _, err := p.Send(context.Background(), "hello from Go", "555123"); err != nil {
		t.Fatal(err)
	}
	k.fakesmsc.expectLine("<12345 555123 text hello from Go>")
	if _, err := wc.Call(context.Background(), "sms.send", wamp.List{"hello from WAMP", wamp.List{"555777"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	k.fakesmsc.expectLine("<12345 555777 text hello from WAMP>")
}

func TestKannelSendsQueuedWhileSmsboxIsDownAreDeliveredOnce(t *testing.T) {
	p := kannelPlugin()
	app := startApp(t, p)
	k := startKannel(t, app.Addr().String(), "555123 12345 text hi")
	p.setKannelURL(k.SendSMS)

	k.stopSmsbox()
	const n = 3
	var ids []string
	for i := range n {
		got, err := p.Send(context.Background(), fmt.Sprintf("queued %d", i), "555123")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	for _, id := range ids { // each failed against the stopped smsbox
		deadline := time.Now().Add(60 * time.Second)
		for {
			r, err := p.Queue().Status(context.Background(), id)
			if err == nil && r.Attempts >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s never tried: %+v %v", id, r, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	k.startSmsbox()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		r, err := p.Queue().Result(ctx, id)
		cancel()
		if err != nil || r.State != "done" {
			t.Fatalf("task %s: %v %+v", id, err, r)
		}
	}
	// Every text reached the fake SMSC; then a marker sent after them
	// shows nothing else comes.
	if _, err := p.Send(context.Background(), "marker", "555123"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for {
		line := k.fakesmsc.expectLine("Got message")
		if strings.Contains(line, "text marker>") {
			break
		}
		for i := range n {
			if strings.Contains(line, fmt.Sprintf("text queued %d>", i)) {
				seen[fmt.Sprintf("queued %d", i)]++
			}
		}
	}
	for i := range n {
		if c := seen[fmt.Sprintf("queued %d", i)]; c != 1 {
			t.Errorf("queued %d reached the SMSC %d times (%v)", i, c, seen)
		}
	}
}

// setKannelURL changes the sendsms URL of a started plugin, for tests
// whose Kannel starts after the app.
func (p *Plugin) setKannelURL(u string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg.KannelURL = u
}

func TestKannelDeliveryReportsArePublished(t *testing.T) {
	p := kannelPlugin()
	p.Config.KannelDLR, p.Config.PublicURL = true, "http://127.0.0.1:1" // set for real below
	app := startApp(t, p)
	p.mu.Lock()
	p.cfg.PublicURL = "http://" + app.Addr().String()
	p.mu.Unlock()
	wc := wampClient(t, app)
	reports := make(chan wamp.Dict, 10)
	if _, err := wc.Subscribe(context.Background(), "sms.delivery", func(_ context.Context, e *client.Event) {
		d, _ := e.Arg(0).(wamp.Dict)
		reports <- d
	}, nil); err != nil {
		t.Fatal(err)
	}
	k := startKannel(t, app.Addr().String(), "555123 12345 text hi")
	p.setKannelURL(k.SendSMS)
	if _, err := p.Send(context.Background(), "report this", "555888"); err != nil {
		t.Fatal(err)
	}
	k.fakesmsc.expectLine("<12345 555888 text report this>")
	select {
	case d := <-reports:
		if d["to"] != "555888" || d["backend"] != "kannel" || d["ref"] == "" {
			t.Errorf("report %v", d)
		}
		t.Logf("delivery report %v", d)
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery report\n%s", k.bearerbox.logs())
	}
}

package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/plugintest"
	"github.com/junction-run/junction/wamp"
)

// startApp runs an app with the plugin, shut down at cleanup.
func startApp(t *testing.T, p *Plugin, more ...func(*junction.Application)) *junction.Application {
	t.Helper()
	return plugintest.StartApp(t, "shop", p, more...)
}

// fast are settings for tests: quick retries and polls.
func fast(cfg Config) Config {
	cfg.SendBackoff, cfg.SendMaxBackoff = 100*time.Millisecond, time.Second
	if cfg.IMAP != "" {
		cfg.IMAPPoll = 100 * time.Millisecond
	}
	cfg.Timeout = 20 * time.Second
	return cfg
}

// submit hands a mail to an SMTP server as a client would.
func submit(t *testing.T, addr, from string, to []string, msg *Message) {
	t.Helper()
	raw, err := build(msg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := sendRaw(addr, from, to, raw); err != nil {
		t.Fatalf("submit to %s: %v", addr, err)
	}
}

// sendRaw sends raw over plain SMTP (go-smtp's SendMail insists on
// STARTTLS).
func sendRaw(addr, from string, to []string, raw []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, bytes.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

func wampClient(t *testing.T, app *junction.Application) *client.Session {
	t.Helper()
	return plugintest.Client(t, app)
}

func TestEmailSMTPReceiverGetsMailRelayedByOpenSMTPD(t *testing.T) {
	p := New(fast(Config{Listen: "127.0.0.1:0", Domains: []string{"app.test"}}))
	orders := make(chan *Mail, 10)
	p.Receive(func(ctx context.Context, m *Mail) error {
		orders <- m
		return nil
	}, From(`@customer\.test$`), Subject(`^order (\d+)$`))
	app := startApp(t, p)
	_, mta := startMail(t, p.SMTPAddr().String())

	wc := wampClient(t, app)
	events := make(chan wamp.Dict, 10)
	if _, err := wc.Subscribe(context.Background(), "email.received", func(_ context.Context, e *client.Event) {
		d, _ := e.Arg(0).(wamp.Dict)
		events <- d
	}, nil); err != nil {
		t.Fatal(err)
	}

	pdf := bytes.Repeat([]byte("%PDF-1.4 \x00\x01\x02\xff"), 5000) // binary, 75 KB
	submit(t, mta.Plain, "bob@customer.test", []string{"orders@app.test"}, &Message{
		From: "Bob <bob@customer.test>", To: []string{"orders@app.test"}, Subject: "order 42",
		Text: "Two mugs, please.", HTML: "<p>Two mugs, please.</p>",
		Attachments: []Attachment{{Filename: "order.pdf", Data: pdf}},
	})
	submit(t, mta.Plain, "news@other.test", []string{"orders@app.test"}, &Message{
		From: "news@other.test", To: []string{"orders@app.test"}, Subject: "newsletter", Text: "hi",
	})

	var m *Mail
	select {
	case m = <-orders:
	case <-time.After(60 * time.Second):
		t.Fatalf("no order received\n%s", mta.logs())
	}
	if m.From != "bob@customer.test" || m.FromName != "Bob" || m.Subject != "order 42" || m.Via != "smtp" ||
		!slices.Equal(m.To, []string{"orders@app.test"}) || strings.TrimSpace(m.Text) != "Two mugs, please." ||
		!strings.Contains(m.HTML, "<p>Two mugs") {
		t.Errorf("mail %+v", m)
	}
	if g := m.Groups["subject"]; len(g) != 2 || g[1] != "42" {
		t.Errorf("subject groups %v", m.Groups)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Filename != "order.pdf" || m.Attachments[0].ContentType != "application/pdf" ||
		!bytes.Equal(m.Attachments[0].Data, pdf) {
		t.Errorf("attachments did not survive: %d, %+v", len(m.Attachments), m.Attachments[0].Filename)
	}

	// Both mails reach email.received; only the order the receiver.
	got := map[string]wamp.Dict{}
	for len(got) < 2 {
		select {
		case d := <-events:
			got[fmt.Sprint(d["subject"])] = d
		case <-time.After(60 * time.Second):
			t.Fatalf("email.received: %d events", len(got))
		}
	}
	if att, _ := got["order 42"]["attachments"].(wamp.List); len(att) != 1 || att[0].(wamp.Dict)["data"] != nil {
		t.Errorf("the event's attachments %v: want their names and sizes, not their bytes", got["order 42"]["attachments"])
	}
	if groups, _ := got["order 42"]["groups"].(wamp.Dict); fmt.Sprint(groups["subject"]) != "[order 42 42]" {
		t.Errorf("the event's groups %v", got["order 42"]["groups"])
	}
	if got["newsletter"]["groups"] != nil {
		t.Errorf("newsletter groups %v", got["newsletter"]["groups"])
	}
	if len(orders) != 0 {
		t.Error("the receiver ran for a mail its patterns do not match")
	}
}

func TestEmailOverTheSizeLimitIsRefusedWith552(t *testing.T) {
	p := New(fast(Config{Listen: "127.0.0.1:0", Domains: []string{"app.test"}, MaxMessageBytes: 4096}))
	p.Receive(func(ctx context.Context, m *Mail) error { return nil })
	startApp(t, p)
	addr := p.SMTPAddr().String()

	big := &Message{From: "a@x.test", To: []string{"b@app.test"}, Subject: "big", Text: strings.Repeat("x", 10000)}
	raw, _ := build(big, time.Now())
	err := sendRaw(addr, "a@x.test", []string{"b@app.test"}, raw)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 {
		t.Errorf("a mail over the limit: %v, want 552 (RFC 5321 4.5.3.1.10, RFC 1870)", err)
	}
	err = sendRaw(addr, "a@x.test", []string{"b@elsewhere.test"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if !errors.As(err, &se) || se.Code != 550 {
		t.Errorf("a recipient in another domain: %v, want 550", err)
	}
	small := &Message{From: "a@x.test", To: []string{"b@app.test"}, Subject: "small", Text: "x"}
	raw, _ = build(small, time.Now())
	if err := sendRaw(addr, "a@x.test", []string{"b@app.test"}, raw); err != nil {
		t.Errorf("a mail under the limit: %v", err)
	}
}

func TestEmailFailingReceiverMakesTheSenderTryAgain(t *testing.T) {
	p := New(fast(Config{Listen: "127.0.0.1:0", Domains: []string{"app.test"}}))
	var mu sync.Mutex
	calls := 0
	p.Receive(func(ctx context.Context, m *Mail) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return errors.New("database down")
		}
		return nil
	})
	startApp(t, p)
	msg := &Message{From: "a@x.test", To: []string{"b@app.test"}, Subject: "s", Text: "x"}
	raw, _ := build(msg, time.Now())
	err := sendRaw(p.SMTPAddr().String(), "a@x.test", []string{"b@app.test"}, raw)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 {
		t.Fatalf("first try: %v, want 451", err)
	}
	if err := sendRaw(p.SMTPAddr().String(), "a@x.test", []string{"b@app.test"}, raw); err != nil {
		t.Errorf("second try: %v", err)
	}
}

// imapMessages reads the subjects and flags of a dovecot mailbox.
func imapMessages(t *testing.T, dc *dovecot, user string) map[string][]imap.Flag {
	t.Helper()
	c, err := imapclient.DialInsecure(dc.IMAP, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	mbox, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]imap.Flag{}
	if mbox.NumMessages == 0 {
		return out
	}
	msgs, err := c.Fetch(imap.SeqSetNum(slices.Collect(func(yield func(uint32) bool) {
		for i := uint32(1); i <= mbox.NumMessages; i++ {
			if !yield(i) {
				return
			}
		}
	})...), &imap.FetchOptions{Envelope: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		key := m.Envelope.Subject
		for out[key] != nil {
			key += " (again)"
		}
		out[key] = append([]imap.Flag{}, m.Flags...)
	}
	return out
}

func TestEmailSendsThroughOpenSMTPDAndReadsOverIMAP(t *testing.T) {
	dc, _ := startMail(t, "127.0.0.1:1")
	// The app sends through dovecot's submission (implicit TLS and AUTH
	// PLAIN; STARTTLS and AUTH LOGIN), which relays to opensmtpd, which
	// delivers to dovecot, whose mailbox the same app reads over IMAP
	// with TLS.
	p := New(fast(Config{From: "Shop <shop@app.test>", TLSCAFile: dc.CAFile,
		SMTP: dc.Submissions, SMTPTLS: "tls", SMTPAuth: "plain", SMTPUser: "alice", SMTPPassword: "secret",
		IMAP: dc.IMAPS, IMAPTLS: "tls", IMAPUser: "bob", IMAPPassword: "secret"}))
	mails := make(chan *Mail, 10)
	p.Receive(func(ctx context.Context, m *Mail) error { mails <- m; return nil }, To(`^bob@mail\.test$`))
	outbox := New(fast(Config{From: "Shop <shop@app.test>", TLSCAFile: dc.CAFile,
		SMTP: dc.Submission, SMTPTLS: "starttls", SMTPAuth: "login", SMTPUser: "alice", SMTPPassword: "secret"}))
	wrong := New(fast(Config{From: "Shop <shop@app.test>", TLSCAFile: dc.CAFile,
		SMTP: dc.Submission, SMTPUser: "alice", SMTPPassword: "wrong"}))
	startApp(t, p, func(app *junction.Application) {
		app.Plug(outbox, junction.Namespace("outbox"))
		app.Plug(wrong, junction.Namespace("wrong"))
	})

	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR binary bytes \x00\xff")
	for _, c := range []struct {
		p       *Plugin
		subject string
	}{{p, "over tls"}, {outbox, "over starttls"}} {
		id, err := c.p.Send(context.Background(), &Message{To: []string{"Bob <bob@mail.test>"}, Subject: c.subject,
			Text: "see the picture", Attachments: []Attachment{{Filename: "pic.png", Data: png}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		r, err := c.p.Queue().Result(ctx, id)
		cancel()
		if err != nil || r.State != "done" {
			t.Fatalf("send %s: %v %+v\n%s", c.subject, err, r, dc.logs())
		}
		select {
		case m := <-mails:
			if m.Subject != c.subject || m.Via != "imap" || m.From != "shop@app.test" || len(m.Attachments) != 1 ||
				!bytes.Equal(m.Attachments[0].Data, png) || m.Attachments[0].ContentType != "image/png" {
				t.Errorf("mail read over IMAP: %+v", m)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("the mail sent %s was not read over IMAP\n%s", c.subject, dc.logs())
		}
	}
	// Handled mails are marked \Seen.
	deadline := time.Now().Add(30 * time.Second)
	for {
		flags := imapMessages(t, dc, "bob")
		if slices.Contains(flags["over tls"], imap.FlagSeen) && slices.Contains(flags["over starttls"], imap.FlagSeen) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flags %v: want both \\Seen", flags)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A refused login is a failed send, tried again.
	id, err := wrong.Send(context.Background(), &Message{To: []string{"bob@mail.test"}, Subject: "never", Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, wrong, id, func(r *junction.TaskResult) bool {
		return r.Attempts >= 2 && strings.Contains(r.Error, "535")
	})
}

func waitStatus(t *testing.T, p *Plugin, id string, cond func(*junction.TaskResult) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := p.Queue().Status(context.Background(), id)
		if err == nil && cond(r) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: %+v, %v", id, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestEmailSendsQueuedWhileTheServerIsDownAreDeliveredOnce(t *testing.T) {
	dc, mta := startMail(t, "127.0.0.1:1")
	p := New(fast(Config{From: "shop@app.test", SMTP: mta.Plain, SMTPTLS: "none"}))
	startApp(t, p)

	mta.Stop()
	const n = 3
	var ids []string
	for i := range n {
		id, err := p.Send(context.Background(), &Message{To: []string{"carol@mail.test"}, Subject: fmt.Sprintf("queued %d", i), Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids { // each failed at least once against the stopped server
		waitStatus(t, p, id, func(r *junction.TaskResult) bool { return r.Attempts >= 1 })
	}
	mta.Start()
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		r, err := p.Queue().Result(ctx, id)
		cancel()
		if err != nil || r.State != "done" {
			t.Fatalf("task %s: %v %+v", id, err, r)
		}
	}
	// Delivered by opensmtpd to dovecot: each exactly once.
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := imapMessages(t, dc, "carol")
		if len(got) >= n {
			for i := range n {
				if _, ok := got[fmt.Sprintf("queued %d", i)]; !ok {
					t.Errorf("queued %d missing: %v", i, got)
				}
			}
			if len(got) != n {
				t.Errorf("%d mails delivered, want %d: %v", len(got), n, got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered: %v\n%s", got, mta.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEmailSendOverWAMP(t *testing.T) {
	p := New(fast(Config{From: "shop@app.test", SMTP: "127.0.0.1:1", SMTPTLS: "none"}))
	app := startApp(t, p)
	wc := wampClient(t, app)
	res, err := wc.Call(context.Background(), "email.send", wamp.List{wamp.Dict{"to": wamp.List{"x@y.test"}, "subject": "s", "text": "t"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := res.Arg(0).(string); id == "" {
		t.Errorf("email.send returned %v", res.Args)
	}
	_, err = wc.Call(context.Background(), "email.send", wamp.List{wamp.Dict{"to": wamp.List{"x@y.test"}}}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "no body") {
		t.Errorf("a message without a body: %v", err)
	}
}

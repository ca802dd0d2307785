package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/plugins/sms"
	"github.com/junction-run/junction/wamp"
)

// TestAnAlertMailedIsTextedAndShownLive runs the app with its embedded
// SMTP server on a free port and its SMS plugin on a Twilio-style API
// played by the test; IRC stays off (plugins/irc is tested against
// ngircd).
func TestAnAlertMailedIsTextedAndShownLive(t *testing.T) {
	var mu sync.Mutex
	var texts []url.Values
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		texts = append(texts, r.PostForm)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid": "SM1"}`)
	}))
	defer api.Close()

	n := newNotifier(junction.WithSettings(func(s *junction.Settings) { s.Listen = "127.0.0.1:0" }),
		junction.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	n.settings.OnCall = []string{"+33600000001"}
	n.mail.Config.Listen = "127.0.0.1:0"
	n.texts.Config = sms.Config{Backend: "twilio", TwilioURL: api.URL, TwilioSID: "AC1", TwilioToken: "tok", From: "+15550001"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer n.app.Shutdown(context.Background())
	t.Logf("http %s, smtp %s", n.app.Addr(), n.mail.SMTPAddr())

	// The page is served.
	resp, err := http.Get("http://" + n.app.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "notify.js") {
		t.Errorf("page:\n%s", page)
	}

	s, err := client.Dial(ctx, "ws://"+n.app.Addr().String()+"/ws", client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	alerts := make(chan wamp.Dict, 10)
	if _, err := s.Subscribe(ctx, "notify.alert", func(_ context.Context, e *client.Event) {
		d, _ := e.Arg(0).(wamp.Dict)
		alerts <- d
	}, nil); err != nil {
		t.Fatal(err)
	}

	for _, subject := range []string{"weekly newsletter", "ALERT: disk full on db1"} {
		msg := "From: monitor@example.test\r\nTo: ops@notify.localhost\r\nSubject: " + subject + "\r\n\r\nsee the graphs\r\n"
		if err := smtp.SendMail(n.mail.SMTPAddr().String(), nil, "monitor@example.test", []string{"ops@notify.localhost"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case a := <-alerts:
		if a["source"] != "email" || a["from"] != "monitor@example.test" || a["text"] != "disk full on db1" {
			t.Errorf("alert %v", a)
		}
	case <-ctx.Done():
		t.Fatal("no alert on the page's topic")
	}
	res, err := s.Call(ctx, "notify.recent", nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if recent, _ := res.Arg(0).(wamp.List); len(recent) != 1 {
		t.Errorf("notify.recent: %v", res.Args)
	}
	for {
		mu.Lock()
		got := append([]url.Values(nil), texts...)
		mu.Unlock()
		if len(got) > 0 {
			if len(got) != 1 || got[0].Get("To") != "+33600000001" || got[0].Get("Body") != "[email] monitor@example.test: disk full on db1" {
				t.Errorf("texts sent: %v", got)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no text sent")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Command notify relays alerts, the seed's plugins working together: a
// mail whose subject starts with "ALERT" (sent to the app's SMTP server)
// or an IRC message "!alert ..." in its channel is texted to the
// on-call numbers and shown live on a web page over WAMP.
//
//	go run ./examples/notify run --on-call +33600000001 \
//		--email-listen 127.0.0.1:2525 --email-domains notify.localhost \
//		--irc-server irc.libera.chat:6697 --irc-tls --irc-channels '#myalerts' \
//		--sms-backend kannel --sms-kannel-url http://127.0.0.1:13013/cgi-bin/sendsms \
//		--sms-kannel-user app --sms-kannel-password secret
package main

import (
	"context"
	"embed"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/plugins/email"
	"github.com/junction-run/junction/plugins/irc"
	"github.com/junction-run/junction/plugins/sms"
)

//go:embed public
var files embed.FS

func main() {
	newNotifier().app.Run()
}

// Settings are the app's own settings.
type Settings struct {
	OnCall []string `help:"numbers the alerts are texted to"`
}

// Alert is what the page shows, published on notify.alert.
type Alert struct {
	Source string    `json:"source"` // email or irc
	From   string    `json:"from"`
	Text   string    `json:"text"`
	Time   time.Time `json:"time"`
}

type notifier struct {
	app      *junction.Application
	settings Settings
	mail     *email.Plugin
	chat     *irc.Plugin
	texts    *sms.Plugin

	mu     sync.Mutex
	recent []Alert // the last 20, for notify.recent
}

func newNotifier(opts ...junction.Option) *notifier {
	n := &notifier{app: junction.New("notify", opts...)}
	n.app.AddSettings(&n.settings)
	n.mail = email.New(email.Config{Listen: "127.0.0.1:2525", Domains: []string{"notify.localhost"}})
	n.chat = irc.New(irc.Config{Nick: "notify", Channels: []string{"#alerts"}}) // off until --irc-server
	n.texts = sms.New(sms.Config{Backend: "kannel", KannelURL: "http://127.0.0.1:13013/cgi-bin/sendsms"})

	n.mail.Receive(func(ctx context.Context, m *email.Mail) error {
		return n.relay(ctx, Alert{Source: "email", From: m.From, Text: m.Groups["subject"][1]})
	}, email.Subject(`(?i)^alert:?\s*(.+)$`))
	n.chat.Message(`^!alert (.+)$`, func(ctx context.Context, m *irc.Msg) error {
		if err := n.relay(ctx, Alert{Source: "irc", From: m.Nick, Text: m.Groups[1]}); err != nil {
			return err
		}
		return m.Reply(ctx, "relayed to the on-call numbers")
	})
	n.app.Plug(n.mail)
	n.app.Plug(n.chat)
	n.app.Plug(n.texts)

	n.app.Register(".recent", func() []Alert {
		n.mu.Lock()
		defer n.mu.Unlock()
		return append([]Alert(nil), n.recent...)
	})
	public, _ := fs.Sub(files, "public")
	n.app.HTTP.ServeFS("/", public)
	return n
}

// relay texts the alert to the on-call numbers (through the durable
// queue: a down gateway delays it, loses nothing) and shows it on the
// page. An error makes the source send it again (the mail's MTA, 451).
func (n *notifier) relay(ctx context.Context, a Alert) error {
	a.Time = time.Now().UTC()
	text := "[" + a.Source + "] " + a.From + ": " + strings.TrimSpace(a.Text)
	if len(n.settings.OnCall) > 0 {
		if _, err := n.texts.Send(ctx, text, n.settings.OnCall...); err != nil {
			return err
		}
	}
	n.mu.Lock()
	n.recent = append(n.recent, a)
	if len(n.recent) > 20 {
		n.recent = n.recent[1:]
	}
	n.mu.Unlock()
	return n.app.Publish(ctx, ".alert", a)
}

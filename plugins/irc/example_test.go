package irc_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/plugins/irc"
)

// A bot that answers "!price NAME" in #shop, and whose settings join the
// app's command line under --irc-.
func Example() {
	app := junction.New("shop")
	chat := irc.New(irc.Config{Server: "irc.libera.chat:6697", TLS: true, Nick: "shopbot", Channels: []string{"#shop"}})
	chat.Message(`^!price (?P<item>\w+)$`, func(ctx context.Context, m *irc.Msg) error {
		return m.Reply(ctx, m.Named["item"]+": 3 EUR") // sent through the app's durable queue "irc"
	})
	app.Plug(chat)

	var help strings.Builder
	app.Main(context.Background(), []string{"--help"}, &help, io.Discard)
	_, section, _ := strings.Cut(help.String(), "Settings of plugin irc:\n")
	section, _, _ = strings.Cut(section, "\n\n")
	for line := range strings.SplitSeq(section, "\n") {
		if strings.HasPrefix(line, "  --") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// --irc-server string
	// --irc-tls
	// --irc-tls-ca-file string
	// --irc-nick string
	// --irc-user string
	// --irc-real-name string
	// --irc-password string
	// --irc-sasl-login string
	// --irc-sasl-password string
	// --irc-sasl-mech string
	// --irc-channels list
	// --irc-timeout duration
	// --irc-reconnect-delay duration
	// --irc-flood-burst int
	// --irc-flood-interval duration
	// --irc-send-retries int
}

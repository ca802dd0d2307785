// Package irc is the IRC plugin of Junction apps: the app joins IRC
// channels as a bot, handles the messages that match its patterns, and
// sends messages that survive a down server.
//
//	chat := irc.New(irc.Config{Server: "irc.libera.chat:6697", TLS: true, Nick: "shopbot",
//		Channels: []string{"#shop"}})
//	chat.Message(`^!price (\w+)$`, func(ctx context.Context, m *irc.Msg) error {
//		return m.Reply(ctx, "price of "+m.Groups[1]+": 3€")
//	})
//	app.Plug(chat) // namespace "irc"
//
// It has three faces:
//
//   - Go: Message handlers, called with the regexp's groups, and Send;
//   - WAMP: every message received (in a channel or in private) is
//     published on NS.received, joins on NS.joined, and the procedure
//     NS.send(target, text) sends, so that any WAMP client can;
//   - reliability: Send and NS.send enqueue a task in the app's durable
//     queue NS (retried with backoff while the server is down, then kept
//     in the dead letters), which sends once connected, at the pace the
//     flood control allows, and counts a message sent only once the
//     server has answered a PING sent after it.
//
// The connection (TLS, SASL PLAIN or EXTERNAL, server password) is
// github.com/ergochat/irc-go's, which reconnects on its own; the plugin
// joins its channels again after each reconnection.
package irc

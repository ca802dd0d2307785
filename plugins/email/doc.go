// Package email is the email plugin of Junction apps: the app receives
// mail (an embedded SMTP server, and IMAP polling of a mailbox) into
// handlers chosen by patterns on the sender, the recipients and the
// subject, and sends mail through a durable queue.
//
//	mail := email.New(email.Config{SMTP: "smtp.example.org:587", SMTPUser: "shop", SMTPPassword: pw,
//		From: "shop@example.org", Listen: ":2525", Domains: []string{"shop.example.org"}})
//	mail.Receive(func(ctx context.Context, m *email.Mail) error {
//		return nil // m.Text, m.HTML, m.Attachments, m.Groups["subject"]...
//	}, email.From(`@example\.com$`), email.Subject(`^order (\d+)`))
//	app.Plug(mail) // namespace "email"
//
// It has three faces:
//
//   - Go: Receive handlers with From, To and Subject patterns (their
//     groups in Mail.Groups), and Send of a Message with text, HTML and
//     attachments;
//   - WAMP: every mail received is published on NS.received (without
//     the attachments' bytes), and the procedure NS.send(message) sends;
//   - reliability: Send and NS.send enqueue a task in the app's durable
//     queue NS, tried again with backoff while the server is down or
//     answers 4xx, kept in the dead letters after its retries or at once
//     on a 5xx refusal. A mail received over SMTP is accepted (250) only
//     once the handlers have run without error: otherwise the sender
//     gets 451 and its MTA tries again later; one read over IMAP is
//     marked \Seen only then, and read again at the next poll.
//
// Sending is SMTP with STARTTLS or implicit TLS and AUTH PLAIN or LOGIN
// (github.com/emersion/go-smtp); messages are built and parsed with
// github.com/emersion/go-message; IMAP is github.com/emersion/go-imap/v2.
package email

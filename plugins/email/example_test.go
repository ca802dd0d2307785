package email_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/smtp"
	"strings"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/plugins/email"
)

// The seed's @app.email.receive(src=r'.*@sametmax.com', ...): orders
// mailed to the app's embedded SMTP server reach a receiver, with the
// groups of its patterns.
func Example() {
	mail := email.New(email.Config{Listen: "127.0.0.1:0", Domains: []string{"shop.test"}})
	orders := make(chan string, 1)
	mail.Receive(func(ctx context.Context, m *email.Mail) error {
		orders <- fmt.Sprintf("order %s from %s: %s", m.Groups["subject"][1], m.From, strings.TrimSpace(m.Text))
		return nil // an error would answer 451: the sender tries again later
	}, email.From(`@sametmax\.test$`), email.Subject(`^order (\d+)$`))

	app := junction.New("shop", junction.WithSettings(func(s *junction.Settings) { s.Listen = "" }),
		junction.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Plug(mail)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer app.Shutdown(ctx)

	msg := "From: sam@sametmax.test\r\nTo: orders@shop.test\r\nSubject: order 42\r\n\r\nTwo mugs.\r\n"
	if err := smtp.SendMail(mail.SMTPAddr().String(), nil, "sam@sametmax.test", []string{"orders@shop.test"}, []byte(msg)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(<-orders)
	// Output: order 42 from sam@sametmax.test: Two mugs.
}

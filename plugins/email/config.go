package email

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
)

// Config is the plugin's configuration, also its settings (--email-smtp,
// MYAPP_EMAIL_FROM, email: {domains: [...]} in the settings file). Its
// zero value is valid: it neither sends nor receives. Each field's default
// applies when it is zero.
type Config struct {
	// SMTP is the host:port of the server mail is sent through; "" sends
	// nothing.
	SMTP string `flag:"smtp" json:"smtp" yaml:"smtp" help:"SMTP server to send through, host:port"`
	// SMTPTLS is how to secure it: "starttls" (the default, port 587),
	// "tls" (implicit TLS, port 465) or "none" (a local relay only).
	SMTPTLS string `flag:"smtp-tls" json:"smtp-tls" yaml:"smtp-tls" help:"starttls, tls (implicit, port 465) or none"`
	// SMTPUser and SMTPPassword log in with SMTPAuth: "plain" (the
	// default) or "login".
	SMTPUser     string `flag:"smtp-user" json:"smtp-user" yaml:"smtp-user" help:"SMTP login"`
	SMTPPassword string `flag:"smtp-password" json:"smtp-password" yaml:"smtp-password" help:"SMTP password"`
	SMTPAuth     string `flag:"smtp-auth" json:"smtp-auth" yaml:"smtp-auth" help:"SMTP AUTH mechanism: plain or login"`
	// From is the sender of messages that name none.
	From string `flag:"from" json:"from" yaml:"from" help:"sender of the messages that name none"`
	// TLSCAFile, if set, is a PEM file of the CAs to trust (SMTP and
	// IMAP) instead of the system's.
	TLSCAFile string `flag:"tls-ca-file" json:"tls-ca-file" yaml:"tls-ca-file" help:"PEM file of the CAs to trust instead of the system's"`

	// Listen, if set, is where the embedded SMTP server accepts mail for
	// Domains (host:port; ":0" picks a port).
	Listen string `flag:"listen" json:"listen" yaml:"listen" help:"address of the embedded SMTP server receiving mail (\"\" for none)"`
	// Domains are the recipient domains the embedded server accepts
	// mail for; others get 550.
	Domains []string `flag:"domains" json:"domains" yaml:"domains" help:"recipient domains the embedded SMTP server accepts"`
	// MaxMessageBytes bounds a mail received (SMTP: refused with 552;
	// IMAP: left unread and logged). Default 25 MiB.
	MaxMessageBytes int64 `flag:"max-message-bytes" json:"max-message-bytes" yaml:"max-message-bytes" help:"largest mail received"`

	// IMAP, if set, is the host:port of a mailbox polled for unread mail.
	IMAP string `flag:"imap" json:"imap" yaml:"imap" help:"IMAP server whose mailbox is polled, host:port"`
	// IMAPTLS is "tls" (the default, port 993), "starttls" or "none".
	IMAPTLS      string `flag:"imap-tls" json:"imap-tls" yaml:"imap-tls" help:"tls (port 993), starttls or none"`
	IMAPUser     string `flag:"imap-user" json:"imap-user" yaml:"imap-user" help:"IMAP login"`
	IMAPPassword string `flag:"imap-password" json:"imap-password" yaml:"imap-password" help:"IMAP password"`
	// IMAPMailbox is the mailbox polled. Default INBOX.
	IMAPMailbox string `flag:"imap-mailbox" json:"imap-mailbox" yaml:"imap-mailbox" help:"mailbox polled"`
	// IMAPPoll is the pause between polls. Default 1m.
	IMAPPoll time.Duration `flag:"imap-poll" json:"imap-poll" yaml:"imap-poll" help:"pause between polls of the mailbox"`

	// Timeout bounds a connection's dialogue with a server. Default 1m.
	Timeout time.Duration `flag:"timeout" json:"timeout" yaml:"timeout" help:"bound on a dialogue with a server"`
	// SendRetries is how many times a message is tried again before it
	// goes to the dead letters. Default 100 (with the default backoff,
	// about 1h30).
	SendRetries int `flag:"send-retries" json:"send-retries" yaml:"send-retries" help:"tries of a message before the dead letters"`
	// SendBackoff and SendMaxBackoff are the first and the longest pause
	// between tries. Defaults 1s and 1m. Set in code: they are the
	// queue's, declared by Plug.
	SendBackoff    time.Duration `flag:"-" json:"-" yaml:"-"`
	SendMaxBackoff time.Duration `flag:"-" json:"-" yaml:"-"`
}

func (c Config) withDefaults() Config {
	if c.SMTPTLS == "" {
		c.SMTPTLS = "starttls"
	}
	if c.SMTPAuth == "" {
		c.SMTPAuth = "plain"
	}
	if c.IMAPTLS == "" {
		c.IMAPTLS = "tls"
	}
	if c.IMAPMailbox == "" {
		c.IMAPMailbox = "INBOX"
	}
	if c.IMAPPoll == 0 {
		c.IMAPPoll = time.Minute
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 25 << 20
	}
	if c.Timeout == 0 {
		c.Timeout = time.Minute
	}
	if c.SendRetries == 0 {
		c.SendRetries = 100
	}
	if c.SendBackoff == 0 {
		c.SendBackoff = time.Second
	}
	if c.SendMaxBackoff == 0 {
		c.SendMaxBackoff = time.Minute
	}
	return c
}

// Validate reports what is wrong with the configuration.
func (c *Config) Validate() error {
	var errs []error
	hostPort := func(name, v string) {
		if v == "" {
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			errs = append(errs, fmt.Errorf("email: %s %q: want host:port", name, v))
		}
	}
	hostPort("smtp", c.SMTP)
	hostPort("listen", c.Listen)
	hostPort("imap", c.IMAP)
	oneOf := func(name, v string, ok ...string) {
		for _, o := range ok {
			if strings.EqualFold(v, o) {
				return
			}
		}
		errs = append(errs, fmt.Errorf("email: %s %q: want one of %s", name, v, strings.Join(ok[1:], ", ")))
	}
	oneOf("smtp-tls", c.SMTPTLS, "", "starttls", "tls", "none")
	oneOf("smtp-auth", c.SMTPAuth, "", "plain", "login")
	oneOf("imap-tls", c.IMAPTLS, "", "tls", "starttls", "none")
	if c.From != "" {
		if _, err := mail.ParseAddress(c.From); err != nil {
			errs = append(errs, fmt.Errorf("email: from %q: %w", c.From, err))
		}
	}
	if c.Listen != "" && len(c.Domains) == 0 {
		errs = append(errs, errors.New("email: listen: the embedded SMTP server needs the domains it accepts mail for (domains)"))
	}
	if c.IMAP != "" && c.IMAPUser == "" {
		errs = append(errs, errors.New("email: imap: needs imap-user and imap-password"))
	}
	if (c.SMTPUser == "") != (c.SMTPPassword == "") {
		errs = append(errs, errors.New("email: smtp-user and smtp-password go together"))
	}
	if c.MaxMessageBytes < 0 || c.IMAPPoll < 0 || c.Timeout < 0 || c.SendRetries < 0 {
		errs = append(errs, errors.New("email: max-message-bytes, imap-poll, timeout and send-retries: want 0 (the default) or more"))
	}
	return errors.Join(errs...)
}

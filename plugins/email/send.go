package email

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/junction-run/junction"
)

// Send sends m through the app's durable queue NS and returns the task's
// id once the task is stored. The message is checked first (sender,
// recipients, body). While the server is down or answers 4xx the task is
// tried again with backoff (Config.SendRetries), then goes to the dead
// letters; a 5xx refusal sends it there at once. A mail is sent at least
// once: one whose acceptance was lost with the connection is sent again,
// with the same Message-ID.
func (p *Plugin) Send(ctx context.Context, m *Message) (string, error) {
	if p.queue == nil {
		return "", ErrNotPlugged
	}
	msg := *m
	if msg.From == "" {
		msg.From = p.Config.From
	}
	if msg.From == "" {
		return "", ErrNoSender
	}
	if len(msg.To)+len(msg.Cc)+len(msg.Bcc) == 0 {
		return "", errors.New("email: send: no recipient")
	}
	if msg.Text == "" && msg.HTML == "" {
		return "", errors.New("email: send: no body: set Text or HTML")
	}
	for _, list := range [][]string{{msg.From}, msg.To, msg.Cc, msg.Bcc, nonEmpty(msg.ReplyTo)} {
		if _, err := addresses("address", list); err != nil {
			return "", err
		}
	}
	if msg.MessageID == "" {
		var b [12]byte
		rand.Read(b[:])
		_, domain, _ := strings.Cut(msg.From, "@")
		msg.MessageID = hex.EncodeToString(b[:]) + "@" + strings.Trim(domain, "> ")
	}
	for i := range msg.Attachments {
		msg.Attachments[i].Size = len(msg.Attachments[i].Data)
	}
	return p.queue.Enqueue(ctx, "send", msg, junction.MaxRetries(p.Config.withDefaults().SendRetries))
}

// Queue returns the plugin's queue, for its dead letters and statistics.
func (p *Plugin) Queue() *junction.Queue { return p.queue }

// sendTask sends one message over SMTP.
func (p *Plugin) sendTask(ctx context.Context, m Message) error {
	p.mu.Lock()
	cfg, tlsCfg, started := p.cfg, p.tls, p.started
	p.mu.Unlock()
	if !started {
		return errors.New("email: not started")
	}
	if cfg.SMTP == "" {
		return ErrNoSMTP
	}
	raw, err := build(&m, time.Now())
	if err != nil {
		return junction.Permanent(err)
	}
	var rcpts []string
	for _, list := range [][]string{m.To, m.Cc, m.Bcc} {
		addrs, err := addresses("recipient", list)
		if err != nil {
			return junction.Permanent(err)
		}
		for _, a := range addrs {
			rcpts = append(rcpts, a.Address)
		}
	}
	from, err := netmail.ParseAddress(m.From)
	if err != nil {
		return junction.Permanent(fmt.Errorf("email: from %q: %w", m.From, err))
	}
	c, err := dialSMTP(ctx, cfg, tlsCfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from.Address, rcpts, strings.NewReader(string(raw))); err != nil {
		return smtpError(cfg.SMTP, err)
	}
	c.Quit()
	p.metrics.sent.Inc()
	return nil
}

// dialSMTP connects to the server, secures the connection and logs in.
func dialSMTP(ctx context.Context, cfg Config, base *tls.Config) (*smtp.Client, error) {
	d := net.Dialer{Timeout: cfg.Timeout}
	conn, err := d.DialContext(ctx, "tcp", cfg.SMTP)
	if err != nil {
		return nil, fmt.Errorf("email: smtp %s: %w", cfg.SMTP, err)
	}
	conn.SetDeadline(time.Now().Add(cfg.Timeout))
	tlsCfg := base.Clone()
	if host, _, err := net.SplitHostPort(cfg.SMTP); err == nil {
		tlsCfg.ServerName = host
	}
	var c *smtp.Client
	switch strings.ToLower(cfg.SMTPTLS) {
	case "tls":
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("email: smtp %s: %w", cfg.SMTP, err)
		}
		c = smtp.NewClient(tc)
	case "starttls":
		c, err = smtp.NewClientStartTLS(conn, tlsCfg)
		if err != nil {
			conn.Close()
			return nil, smtpError(cfg.SMTP, err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	if cfg.SMTPUser != "" {
		var auth sasl.Client
		if strings.EqualFold(cfg.SMTPAuth, "login") {
			auth = sasl.NewLoginClient(cfg.SMTPUser, cfg.SMTPPassword)
		} else {
			auth = sasl.NewPlainClient("", cfg.SMTPUser, cfg.SMTPPassword)
		}
		if err := c.Auth(auth); err != nil {
			c.Close()
			return nil, smtpError(cfg.SMTP, err)
		}
	}
	return c, nil
}

// smtpError wraps a server's answer: a 5xx is permanent (the dead
// letters at once), anything else is tried again.
func smtpError(server string, err error) error {
	err = fmt.Errorf("email: smtp %s: %w", server, err)
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code != 530 && se.Code != 535 {
		// 530 and 535 (authentication) may be a misconfiguration being
		// fixed: tried again.
		return junction.Permanent(err)
	}
	return err
}

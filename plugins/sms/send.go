package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/junction-run/junction"
)

// outgoing is the payload of a send task.
type outgoing struct {
	To   string `json:"to"`
	Text string `json:"text"`
	From string `json:"from,omitempty"`
	// Ref names the text in Kannel's delivery reports.
	Ref string `json:"ref"`
}

// Send sends text to each of to (numbers), as the seed's
// app.sms.send('test', [contact]): one task of the app's durable queue
// NS per recipient, whose ids it returns once they are stored. A task
// is tried again with backoff while the gateway is down or answers 5xx
// (Config.SendRetries), and goes to the dead letters at once when it
// refuses the text for good (4xx but 429).
func (p *Plugin) Send(ctx context.Context, text string, to ...string) ([]string, error) {
	if p.queue == nil {
		return nil, ErrNotPlugged
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("sms: send: empty text")
	}
	if len(to) == 0 {
		return nil, errors.New("sms: send: no recipient")
	}
	for _, n := range to {
		if n == "" || strings.ContainsAny(n, " \r\n&") {
			return nil, fmt.Errorf("sms: send: bad recipient %q", n)
		}
	}
	retries := junction.MaxRetries(p.Config.withDefaults().SendRetries)
	var ids []string
	for _, n := range to {
		var b [8]byte
		rand.Read(b[:])
		id, err := p.queue.Enqueue(ctx, "send", outgoing{To: n, Text: text, From: p.Config.From, Ref: hex.EncodeToString(b[:])}, retries)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Queue returns the plugin's queue, for its dead letters and statistics.
func (p *Plugin) Queue() *junction.Queue { return p.queue }

// sendTask hands one text to the gateway.
func (p *Plugin) sendTask(ctx context.Context, o outgoing) error {
	cfg, ok := p.config()
	if !ok {
		return errors.New("sms: not started")
	}
	var err error
	switch cfg.Backend {
	case "kannel":
		err = p.kannelSend(ctx, cfg, o)
	case "twilio":
		err = p.twilioSend(ctx, cfg, o)
	default:
		err = junction.Permanent(fmt.Errorf("sms: backend %q", cfg.Backend))
	}
	if err == nil {
		p.metrics.sent.Inc()
	}
	return err
}

// httpError classifies a gateway's answer: 4xx but 408 and 429 is
// permanent, the rest is tried again.
func httpError(what string, code int, body string) error {
	err := fmt.Errorf("sms: %s: %d %s", what, code, strings.TrimSpace(body))
	if code >= 400 && code < 500 && code != 408 && code != 429 {
		return junction.Permanent(err)
	}
	return err
}

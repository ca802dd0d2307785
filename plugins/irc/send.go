package irc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/junction-run/junction"
)

// outgoing is the payload of a send task.
type outgoing struct {
	Target string `json:"target"`
	Text   string `json:"text"`
}

// sendState is the send in flight, for the numerics that refuse it.
type sendState struct {
	target string
	code   string
	err    error
}

// Send sends text to target (a channel or a nick) through the app's
// durable queue NS, and returns the task's id once the task is stored:
// while the server is down, or the target is not there (no such nick,
// cannot send to the channel), the task is tried again with backoff,
// then goes to the dead letters with the server's last refusal (see
// Config.SendRetries). A text of several lines
// is sent as several messages; a long line is cut to fit IRC's 512
// bytes. Messages are sent at least once: one whose confirmation was
// lost with the connection is sent again.
func (p *Plugin) Send(ctx context.Context, target, text string) (string, error) {
	if p.queue == nil {
		return "", ErrNotPlugged
	}
	if target == "" || strings.ContainsAny(target, " ,\r\n\x00") {
		return "", fmt.Errorf("irc: send: bad target %q", target)
	}
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("irc: send to %s: empty text", target)
	}
	return p.queue.Enqueue(ctx, "send", outgoing{target, text}, junction.MaxRetries(p.Config.withDefaults().SendRetries))
}

// Queue returns the plugin's queue, for its dead letters and statistics.
func (p *Plugin) Queue() *junction.Queue { return p.queue }

// sendTask sends one message, paced by the flood control, and waits for
// the server to answer a PING sent after it: only then was it sent.
func (p *Plugin) sendTask(ctx context.Context, o outgoing) error {
	p.mu.Lock()
	conn := p.conn
	p.mu.Unlock()
	if conn == nil || !p.Connected() {
		return ErrNotConnected
	}
	st := &sendState{target: o.Target}
	p.mu.Lock()
	p.inflight = st
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight = nil
		p.mu.Unlock()
	}()
	for _, line := range splitText(o.Text, maxTextBytes(o.Target)) {
		if err := p.limiter.Wait(ctx); err != nil {
			return err
		}
		if err := conn.Privmsg(o.Target, line); err != nil {
			return fmt.Errorf("irc: send to %s: %w", o.Target, err)
		}
	}
	if err := p.confirm(ctx, conn); err != nil {
		return err
	}
	p.mu.Lock()
	code, serr := st.code, st.err
	p.mu.Unlock()
	switch {
	case code == "411" || code == "412":
		return junction.Permanent(fmt.Errorf("irc: send to %s: refused: %w", o.Target, serr))
	case serr != nil:
		return fmt.Errorf("irc: send to %s: refused for now: %w", o.Target, serr)
	}
	p.metrics.sent.Inc()
	return nil
}

// confirm sends a PING and waits for its PONG: the server handles a
// client's lines in order, so everything sent before it has arrived.
func (p *Plugin) confirm(ctx context.Context, conn interface {
	Send(string, ...string) error
}) error {
	var b [8]byte
	rand.Read(b[:])
	token := "junction-" + hex.EncodeToString(b[:])
	pong := make(chan struct{})
	p.mu.Lock()
	p.pongs[token] = pong
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.pongs, token)
		p.mu.Unlock()
	}()
	if err := p.limiter.Wait(ctx); err != nil {
		return err
	}
	if err := conn.Send("PING", token); err != nil {
		return fmt.Errorf("%w: %w", ErrNoConfirmation, err)
	}
	t := time.NewTimer(p.cfg.Timeout)
	defer t.Stop()
	select {
	case <-pong:
		return nil
	case <-t.C:
		return fmt.Errorf("%w within %v", ErrNoConfirmation, p.cfg.Timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxTextBytes is the longest text of a PRIVMSG to target that fits in
// 512 bytes once the server adds the sender's prefix (up to ~100 bytes)
// for the other clients.
func maxTextBytes(target string) int {
	return 512 - 2 - len("PRIVMSG  :") - len(target) - 100
}

// splitText cuts text into lines of at most max bytes, at line breaks,
// else at spaces, else at rune boundaries; empty lines are dropped.
func splitText(text string, max int) []string {
	var out []string
	for line := range strings.SplitSeq(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		for len(line) > max {
			cut := strings.LastIndexByte(line[:max], ' ')
			if cut <= 0 {
				cut = max
				for cut > 0 && !utf8.RuneStart(line[cut]) {
					cut--
				}
			}
			out = append(out, line[:cut])
			line = strings.TrimLeft(line[cut:], " ")
		}
		if strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}

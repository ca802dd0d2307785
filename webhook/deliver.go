package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/junction-run/junction/queue"
)

// Request headers of a delivery.
const (
	HeaderHook      = "X-Junction-Hook"
	HeaderDelivery  = "X-Junction-Delivery"
	HeaderAttempt   = "X-Junction-Attempt"
	HeaderSignature = "X-Junction-Signature"
)

// Signature returns the X-Junction-Signature of body for a hook whose
// secret is secret: "sha256=" and the hex HMAC-SHA256 of body. A receiver
// computes it again and compares the two with hmac.Equal.
func Signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// maxAnswer is how much of an answer's body is read (so that the
// connection can be reused) before it is closed.
const maxAnswer = 64 << 10

// deliver is the queue's handler of h's tasks: one attempt to POST the
// event.
func (d *Dispatcher) deliver(h *hook) queue.Handler {
	return func(ctx context.Context, t *queue.Task) ([]byte, error) {
		status, err := d.post(ctx, h, t)
		// The counter moves with the status, under its lock, so that
		// whoever reads the status sees the metrics agree with it.
		h.mu.Lock()
		h.status.LastStatus, h.status.LastDelivery = status, time.Now()
		if err != nil {
			h.status.Failed++
			h.status.LastError = err.Error()
			d.metrics.add(h.Name, outcomeFailed)
		} else {
			h.status.Delivered++
			h.status.LastError = ""
			d.metrics.add(h.Name, outcomeDelivered)
		}
		h.mu.Unlock()
		if err != nil {
			d.log.Info("webhook: delivery failed", "hook", h.Name, "id", t.ID, "attempt", t.Attempt, "err", err)
			return nil, err
		}
		return nil, nil
	}
}

// post makes the request and returns the answer's status (0 without
// one) and the attempt's error.
func (d *Dispatcher) post(ctx context.Context, h *hook, t *queue.Task) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(t.Payload))
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	for k, v := range h.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "junction-webhook")
	req.Header.Set(HeaderHook, h.Name)
	req.Header.Set(HeaderDelivery, t.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(t.Attempt))
	if h.Secret != "" {
		req.Header.Set(HeaderSignature, Signature(h.Secret, t.Payload))
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: POST %s: %w", h.URL, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("webhook: POST %s: %s", h.URL, resp.Status)
	}
	return resp.StatusCode, nil
}

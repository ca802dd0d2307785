package sms

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// kannelSend hands a text to Kannel's sendsms interface, which answers
// 202 "0: Accepted for delivery" (200 in older versions), or 3 "Queued
// for later delivery".
func (p *Plugin) kannelSend(ctx context.Context, cfg Config, o outgoing) error {
	q := url.Values{}
	q.Set("username", cfg.KannelUser)
	q.Set("password", cfg.KannelPassword)
	q.Set("to", o.To)
	q.Set("text", o.Text)
	q.Set("charset", "UTF-8")
	q.Set("coding", "0")
	if isUCS2(o.Text) {
		q.Set("coding", "2")
	}
	if o.From != "" {
		q.Set("from", o.From)
	}
	if cfg.KannelDLR {
		q.Set("dlr-mask", "31")
		dlr := strings.TrimSuffix(cfg.PublicURL, "/") + "/" + p.host.Namespace() + "/kannel/dlr?ref=" + url.QueryEscape(o.Ref) +
			"&to=" + url.QueryEscape(o.To) + "&status=%d"
		q.Set("dlr-url", dlr)
	}
	u := cfg.KannelURL
	if strings.Contains(u, "?") {
		u += "&" + q.Encode()
	} else {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("sms: kannel: %w", err)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: kannel sendsms: %w", redact(err, cfg.KannelPassword))
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return httpError("kannel sendsms", resp.StatusCode, string(body))
	}
	return nil
}

// isUCS2 reports whether text needs more than GSM's Latin letters.
func isUCS2(text string) bool {
	for _, r := range text {
		if r > 0xff {
			return true
		}
	}
	return false
}

// redact keeps a password out of an error that quotes the URL.
func redact(err error, secret string) error {
	if secret == "" {
		return err
	}
	msg := strings.ReplaceAll(err.Error(), url.QueryEscape(secret), "REDACTED")
	return fmt.Errorf("%s", msg)
}

// kannelIncoming is the get-url of Kannel's sms-service:
//
//	get-url = "http://APP/sms/kannel/incoming?from=%p&to=%P&text=%a&id=%I"
//
// It answers 200 with an empty body (no reply text).
func (p *Plugin) kannelIncoming(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.config(); !ok {
		http.Error(w, "sms: not started", http.StatusServiceUnavailable)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "sms: bad request", http.StatusBadRequest)
		return
	}
	m := &Msg{From: r.Form.Get("from"), To: r.Form.Get("to"), Text: r.Form.Get("text"), ID: r.Form.Get("id"), Backend: "kannel"}
	if p.received(w, r, m) {
		w.WriteHeader(http.StatusOK)
	}
}

// kannelDLR receives Kannel's delivery reports (the dlr-url set by
// kannelSend) and publishes them on NS.delivery.
func (p *Plugin) kannelDLR(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.config(); !ok {
		http.Error(w, "sms: not started", http.StatusServiceUnavailable)
		return
	}
	status := r.URL.Query().Get("status")
	n, err := strconv.Atoi(status)
	if err != nil {
		http.Error(w, "sms: bad status", http.StatusBadRequest)
		return
	}
	p.delivered(r.Context(), &Delivery{Ref: r.URL.Query().Get("ref"), To: r.URL.Query().Get("to"), Status: status,
		Delivered: n&1 != 0, Failed: n&(2|16) != 0, Backend: "kannel"})
	w.WriteHeader(http.StatusOK)
}

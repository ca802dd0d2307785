package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// twilioSend posts a text to the provider's REST API:
// POST {TwilioURL}/2010-04-01/Accounts/{SID}/Messages.json, To, From,
// Body and StatusCallback as a form, the SID and token as basic auth.
func (p *Plugin) twilioSend(ctx context.Context, cfg Config, o outgoing) error {
	form := url.Values{}
	form.Set("To", o.To)
	form.Set("Body", o.Text)
	if o.From != "" {
		form.Set("From", o.From)
	}
	if cfg.PublicURL != "" {
		form.Set("StatusCallback", strings.TrimSuffix(cfg.PublicURL, "/")+"/"+p.host.Namespace()+"/twilio/status")
	}
	u := strings.TrimSuffix(cfg.TwilioURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.TwilioSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("sms: twilio: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(cfg.TwilioSID, cfg.TwilioToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: twilio: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			body = []byte(e.Message)
		}
		return httpError("twilio", resp.StatusCode, string(body))
	}
	return nil
}

// TwilioSignature is the X-Twilio-Signature of a POST of form to
// fullURL signed with token: base64 of HMAC-SHA1 over the URL followed
// by each parameter's name and value, in the names' order. Exported for
// tests of apps that receive texts.
func TwilioSignature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// twilioForm reads a webhook's form and checks its signature: false,
// with the answer written, if it is not the provider's.
func (p *Plugin) twilioForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	cfg, ok := p.config()
	if !ok {
		http.Error(w, "sms: not started", http.StatusServiceUnavailable)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "sms: bad form", http.StatusBadRequest)
		return nil, false
	}
	want := TwilioSignature(cfg.TwilioToken, p.publicURL(cfg, r), r.PostForm)
	got := r.Header.Get("X-Twilio-Signature")
	if cfg.TwilioToken == "" || !hmac.Equal([]byte(got), []byte(want)) {
		p.metrics.refused.Inc()
		p.host.Logger().Warn("sms: twilio webhook with a bad signature refused", "remote", r.RemoteAddr)
		http.Error(w, "sms: bad signature", http.StatusForbidden)
		return nil, false
	}
	return r.PostForm, true
}

// twilioIncoming is the provider's webhook for a text received. It
// answers an empty TwiML response (no reply text).
func (p *Plugin) twilioIncoming(w http.ResponseWriter, r *http.Request) {
	form, ok := p.twilioForm(w, r)
	if !ok {
		return
	}
	m := &Msg{From: form.Get("From"), To: form.Get("To"), Text: form.Get("Body"), ID: form.Get("MessageSid"), Backend: "twilio"}
	if p.received(w, r, m) {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)
	}
}

// twilioStatus receives the StatusCallback of a text sent and publishes
// it on NS.delivery.
func (p *Plugin) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := p.twilioForm(w, r)
	if !ok {
		return
	}
	st := form.Get("MessageStatus")
	p.delivered(r.Context(), &Delivery{Ref: form.Get("MessageSid"), To: form.Get("To"), Status: st,
		Delivered: st == "delivered", Failed: st == "failed" || st == "undelivered", Backend: "twilio"})
	w.WriteHeader(http.StatusNoContent)
}

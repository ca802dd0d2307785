package email

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
)

// Message is a mail to send. To, Cc and Bcc are addresses ("a@b.org" or
// "Name <a@b.org>"); at least one recipient and a Text or HTML body are
// needed. It travels in its JSON form through the queue (and from WAMP
// clients to NS.send): attachments count against the queue's payload
// limit, about 700 KiB.
type Message struct {
	From        string       `json:"from,omitempty"`
	To          []string     `json:"to,omitempty"`
	Cc          []string     `json:"cc,omitempty"`
	Bcc         []string     `json:"bcc,omitempty"`
	ReplyTo     string       `json:"reply_to,omitempty"`
	Subject     string       `json:"subject,omitempty"`
	Text        string       `json:"text,omitempty"`
	HTML        string       `json:"html,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// MessageID is set by Send (one per message, the same on every
	// try, so that a copy sent twice can be told apart).
	MessageID string `json:"message_id,omitempty"`
}

// Attachment is a file attached to a mail.
type Attachment struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"` // default: from the name's extension
	// Data is the file; in JSON, base64. In the NS.received event it is
	// left out: Size says how big it was.
	Data []byte `json:"data,omitempty"`
	Size int    `json:"size"`
}

// Mail is a mail received.
type Mail struct {
	From        string       `json:"from"` // the sender's address
	FromName    string       `json:"from_name,omitempty"`
	To          []string     `json:"to"` // the recipients' addresses: the envelope's over SMTP, To and Cc over IMAP
	Subject     string       `json:"subject"`
	Date        time.Time    `json:"date,omitzero"`
	MessageID   string       `json:"message_id,omitempty"`
	Text        string       `json:"text,omitempty"`
	HTML        string       `json:"html,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// Via is "smtp" or "imap".
	Via string `json:"via"`
	// Groups are the groups of the receiver's patterns that matched,
	// under "from", "to" and "subject" (Groups[k][0] is the whole
	// match). In the NS.received event, those of the first receiver
	// that matched.
	Groups map[string][]string `json:"groups,omitempty"`
	// Header is the mail's header, keys in canonical form.
	Header map[string][]string `json:"-"`
	// Raw is the mail as received.
	Raw []byte `json:"-"`
}

// addresses parses a list of addresses for a header.
func addresses(field string, list []string) ([]*mail.Address, error) {
	var out []*mail.Address
	for _, s := range list {
		a, err := netmail.ParseAddress(s)
		if err != nil {
			return nil, fmt.Errorf("email: %s %q: %w", field, s, err)
		}
		out = append(out, &mail.Address{Name: a.Name, Address: a.Address})
	}
	return out, nil
}

// build writes m as a MIME message: multipart/mixed with the body
// (text, HTML, or both as multipart/alternative) and the attachments.
func build(m *Message, date time.Time) ([]byte, error) {
	var h mail.Header
	h.SetDate(date)
	h.SetSubject(m.Subject)
	if m.MessageID != "" {
		h.SetMessageID(m.MessageID)
	}
	for _, f := range []struct {
		key  string
		list []string
	}{{"From", []string{m.From}}, {"To", m.To}, {"Cc", m.Cc}, {"Reply-To", nonEmpty(m.ReplyTo)}} {
		if len(f.list) == 0 {
			continue
		}
		addrs, err := addresses(f.key, f.list)
		if err != nil {
			return nil, err
		}
		h.SetAddressList(f.key, addrs)
	}
	var buf bytes.Buffer
	w, err := mail.CreateWriter(&buf, h)
	if err != nil {
		return nil, err
	}
	iw, err := w.CreateInline()
	if err != nil {
		return nil, err
	}
	for _, part := range []struct{ ct, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if part.body == "" {
			continue
		}
		var ih mail.InlineHeader
		ih.Set("Content-Type", part.ct+"; charset=utf-8")
		pw, err := iw.CreatePart(ih)
		if err != nil {
			return nil, err
		}
		if _, err := io.WriteString(pw, part.body); err != nil {
			return nil, err
		}
		if err := pw.Close(); err != nil {
			return nil, err
		}
	}
	if err := iw.Close(); err != nil {
		return nil, err
	}
	for _, a := range m.Attachments {
		var ah mail.AttachmentHeader
		ct := a.ContentType
		if ct == "" {
			ct = mime.TypeByExtension(extension(a.Filename))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		ah.Set("Content-Type", ct)
		ah.SetFilename(a.Filename)
		aw, err := w.CreateAttachment(ah)
		if err != nil {
			return nil, err
		}
		if _, err := aw.Write(a.Data); err != nil {
			return nil, err
		}
		if err := aw.Close(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func extension(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// parse reads a received mail: its header, its text and HTML bodies and
// its attachments. rcpts, if given, are the envelope's recipients.
func parse(raw []byte, via string, rcpts []string) (*Mail, error) {
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("email: parse: %w", err)
	}
	defer r.Close()
	m := &Mail{Via: via, Raw: raw, Header: map[string][]string{}}
	fields := r.Header.Fields()
	for fields.Next() {
		k := fields.Key()
		m.Header[k] = append(m.Header[k], fields.Value())
	}
	if from, err := r.Header.AddressList("From"); err == nil && len(from) > 0 {
		m.From, m.FromName = from[0].Address, from[0].Name
	}
	m.Subject, _ = r.Header.Subject()
	m.Date, _ = r.Header.Date()
	m.MessageID, _ = r.Header.MessageID()
	if len(rcpts) > 0 {
		m.To = rcpts
	} else {
		for _, key := range []string{"To", "Cc"} {
			list, _ := r.Header.AddressList(key)
			for _, a := range list {
				m.To = append(m.To, a.Address)
			}
		}
	}
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil, fmt.Errorf("email: parse: %w", err)
		}
		if p == nil {
			break
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return nil, fmt.Errorf("email: parse: %w", err)
		}
		switch h := p.Header.(type) {
		case *mail.InlineHeader:
			ct, _, _ := h.ContentType()
			switch {
			case ct == "text/html" && m.HTML == "":
				m.HTML = string(body)
			case (ct == "text/plain" || ct == "") && m.Text == "":
				m.Text = string(body)
			}
		case *mail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			m.Attachments = append(m.Attachments, Attachment{Filename: name, ContentType: ct, Data: body, Size: len(body)})
		}
	}
	return m, nil
}

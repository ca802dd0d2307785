package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/emersion/go-smtp"
)

// smtpReceiver is the embedded SMTP server: it accepts mail for the
// configured domains and answers 250 once the receivers have run.
type smtpReceiver struct {
	p    *Plugin
	ctx  context.Context
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}
}

func startSMTP(ctx context.Context, p *Plugin) (*smtpReceiver, error) {
	ln, err := net.Listen("tcp", p.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("email: listen: %w", err)
	}
	r := &smtpReceiver{p: p, ctx: ctx, ln: ln, done: make(chan struct{})}
	s := smtp.NewServer(r)
	s.Domain = "localhost"
	if host, _, err := net.SplitHostPort(p.cfg.Listen); err == nil && host != "" {
		s.Domain = host
	}
	s.MaxMessageBytes = p.cfg.MaxMessageBytes
	s.MaxRecipients = 100
	s.ReadTimeout, s.WriteTimeout = p.cfg.Timeout, p.cfg.Timeout
	s.ErrorLog = logAdapter{p}
	r.srv = s
	go func() {
		defer close(r.done)
		if err := s.Serve(ln); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			p.host.Logger().Error("email: smtp server failed", "err", err)
		}
	}()
	return r, nil
}

func (r *smtpReceiver) Addr() net.Addr { return r.ln.Addr() }

func (r *smtpReceiver) stop(ctx context.Context) error {
	err := r.srv.Shutdown(ctx)
	if err != nil {
		r.srv.Close()
	}
	<-r.done
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return fmt.Errorf("email: smtp server: %w", err)
	}
	return nil
}

// NewSession starts an SMTP session.
func (r *smtpReceiver) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &session{r: r}, nil
}

type session struct {
	r     *smtpReceiver
	from  string
	rcpts []string
}

var _ smtp.Session = (*session)(nil)

func (s *session) Reset()        { s.from, s.rcpts = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

// Rcpt accepts recipients in the configured domains only.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	_, domain, ok := strings.Cut(to, "@")
	if ok {
		for _, d := range s.r.p.cfg.Domains {
			if strings.EqualFold(domain, d) {
				s.rcpts = append(s.rcpts, to)
				return nil
			}
		}
	}
	s.r.p.metrics.refused.Inc()
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such recipient here: " + to}
}

// Data parses the mail and runs the receivers: 250 if they succeed,
// 451 (try again later) if one fails, 552 over the size limit.
func (s *session) Data(r io.Reader) error {
	p := s.r.p
	raw, err := io.ReadAll(r)
	if err != nil {
		p.metrics.refused.Inc()
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se // 552 over MaxMessageBytes
		}
		return err
	}
	m, err := parse(raw, "smtp", s.rcpts)
	if err != nil {
		p.metrics.refused.Inc()
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "malformed message: " + err.Error()}
	}
	if m.From == "" {
		m.From = s.from
	}
	if err := p.dispatch(s.r.ctx, m); err != nil {
		p.metrics.refused.Inc()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "could not handle the message now; try again later"}
	}
	p.metrics.received.Inc()
	return nil
}

// logAdapter sends go-smtp's log lines to the plugin's logger.
type logAdapter struct{ p *Plugin }

func (l logAdapter) Printf(format string, v ...any) {
	l.p.host.Logger().Warn("email: smtp server: " + fmt.Sprintf(format, v...))
}

func (l logAdapter) Println(v ...any) {
	l.p.host.Logger().Warn("email: smtp server: " + strings.TrimSpace(fmt.Sprintln(v...)))
}

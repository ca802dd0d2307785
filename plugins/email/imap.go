package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapPoller reads the unread mail of a mailbox every IMAPPoll, runs the
// receivers, and marks \Seen the mails they handled.
type imapPoller struct {
	p      *Plugin
	cancel context.CancelFunc
	done   chan struct{}

	// Owned by the polling goroutine.
	conn    net.Conn
	c       *imapclient.Client
	skipped map[imap.UID]bool // too large: logged once
}

// startIMAP logs in once, so that a wrong address or password fails
// Start, then polls in the background.
func startIMAP(ctx context.Context, p *Plugin) (*imapPoller, error) {
	ip := &imapPoller{p: p, done: make(chan struct{}), skipped: map[imap.UID]bool{}}
	if err := ip.connect(); err != nil {
		return nil, err
	}
	ctx, ip.cancel = context.WithCancel(ctx)
	go ip.loop(ctx)
	return ip, nil
}

// connect dials, logs in and selects the mailbox.
func (ip *imapPoller) connect() error {
	cfg := ip.p.cfg
	conn, err := net.DialTimeout("tcp", cfg.IMAP, cfg.Timeout)
	if err != nil {
		return fmt.Errorf("email: imap %s: %w", cfg.IMAP, err)
	}
	conn.SetDeadline(time.Now().Add(cfg.Timeout))
	tlsCfg := ip.p.tls.Clone()
	if host, _, err := net.SplitHostPort(cfg.IMAP); err == nil {
		tlsCfg.ServerName = host
	}
	opts := &imapclient.Options{TLSConfig: tlsCfg}
	var c *imapclient.Client
	switch strings.ToLower(cfg.IMAPTLS) {
	case "tls":
		tc := tls.Client(conn, tlsCfg)
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return fmt.Errorf("email: imap %s: %w", cfg.IMAP, err)
		}
		conn = tc
		c = imapclient.New(conn, opts)
	case "starttls":
		c, err = imapclient.NewStartTLS(conn, opts)
		if err != nil {
			conn.Close()
			return fmt.Errorf("email: imap %s: starttls: %w", cfg.IMAP, err)
		}
	default:
		c = imapclient.New(conn, opts)
	}
	if err := c.Login(cfg.IMAPUser, cfg.IMAPPassword).Wait(); err != nil {
		c.Close()
		return fmt.Errorf("email: imap %s: login as %s: %w", cfg.IMAP, cfg.IMAPUser, err)
	}
	if _, err := c.Select(cfg.IMAPMailbox, nil).Wait(); err != nil {
		c.Close()
		return fmt.Errorf("email: imap %s: select %s: %w", cfg.IMAP, cfg.IMAPMailbox, err)
	}
	ip.conn, ip.c = conn, c
	return nil
}

func (ip *imapPoller) close() {
	if ip.c != nil {
		ip.c.Logout().Wait()
		ip.c.Close()
		ip.c, ip.conn = nil, nil
	}
}

func (ip *imapPoller) loop(ctx context.Context) {
	defer close(ip.done)
	defer ip.close()
	log := ip.p.host.Logger()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ip.c == nil {
			if err := ip.connect(); err != nil {
				log.Warn("email: imap: cannot connect; trying at the next poll", "err", err)
			}
		}
		if ip.c != nil {
			if err := ip.poll(ctx); err != nil && ctx.Err() == nil {
				log.Warn("email: imap: poll failed; reconnecting at the next poll", "err", err)
				ip.c.Close()
				ip.c, ip.conn = nil, nil
			}
		}
		t.Reset(ip.p.cfg.IMAPPoll)
	}
}

// poll handles the unread mails of the mailbox, oldest first.
func (ip *imapPoller) poll(ctx context.Context) error {
	cfg, p := ip.p.cfg, ip.p
	ip.conn.SetDeadline(time.Now().Add(cfg.Timeout))
	data, err := ip.c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	for _, uid := range data.AllUIDs() {
		if ctx.Err() != nil || ip.skipped[uid] {
			continue
		}
		ip.conn.SetDeadline(time.Now().Add(cfg.Timeout))
		sizes, err := ip.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		if err != nil {
			return fmt.Errorf("fetch %d: %w", uid, err)
		}
		if len(sizes) == 0 {
			continue // expunged meanwhile
		}
		if sizes[0].RFC822Size > cfg.MaxMessageBytes {
			ip.skipped[uid] = true
			p.metrics.refused.Inc()
			p.host.Logger().Warn("email: imap: mail over max-message-bytes left unread", "uid", uid, "size", sizes[0].RFC822Size)
			continue
		}
		section := &imap.FetchItemBodySection{Peek: true}
		msgs, err := ip.c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			return fmt.Errorf("fetch %d: %w", uid, err)
		}
		if len(msgs) == 0 {
			continue
		}
		m, err := parse(msgs[0].FindBodySection(section), "imap", nil)
		if err != nil {
			ip.skipped[uid] = true
			p.metrics.refused.Inc()
			p.host.Logger().Warn("email: imap: malformed mail left unread", "uid", uid, "err", err)
			continue
		}
		if err := p.dispatch(ctx, m); err != nil {
			p.metrics.refused.Inc()
			continue // unread: handled again at the next poll
		}
		p.metrics.received.Inc()
		ip.conn.SetDeadline(time.Now().Add(cfg.Timeout))
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}
		if err := ip.c.Store(imap.UIDSetNum(uid), store, nil).Close(); err != nil {
			return fmt.Errorf("mark %d seen: %w", uid, err)
		}
	}
	return nil
}

func (ip *imapPoller) stop(ctx context.Context) error {
	ip.cancel()
	select {
	case <-ip.done:
		return nil
	case <-ctx.Done():
		return errors.New("email: imap: the poll in progress did not end in time")
	}
}

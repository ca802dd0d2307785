// Package connlimit bounds the connections a process accepts, in total
// and per source address, so that one client cannot take every file
// descriptor: a connection over a limit is answered with a short refusal
// and closed at once, without ever reaching the server behind the
// listener.
package connlimit

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	DefaultMaxConnections      = 100000
	DefaultMaxConnectionsPerIP = 1000
	DefaultIdleTimeout         = 60 * time.Second
)

// Config bounds connections. The zero value is valid: each field's
// default is given in its comment.
type Config struct {
	// MaxConnections bounds the connections open at once on all the
	// limiter's listeners together. Default 100000; negative for none.
	MaxConnections int `json:"max_connections" yaml:"max_connections"`
	// MaxConnectionsPerIP bounds the connections open at once from one
	// IP address (IPv6: one /64, what one host usually holds). Default
	// 1000, room for a NAT gateway; negative for none.
	MaxConnectionsPerIP int `json:"max_connections_per_ip" yaml:"max_connections_per_ip"`
	// IdleTimeout closes an HTTP connection that waits that long for its
	// next request (keep-alive). WebSocket sessions, once upgraded, have
	// their own keep-alive. Default 60s.
	IdleTimeout time.Duration `json:"idle_timeout" yaml:"idle_timeout"`
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxConnectionsPerIP == 0 {
		c.MaxConnectionsPerIP = DefaultMaxConnectionsPerIP
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	return c
}

// Validate reports a value that makes no sense.
func (c Config) Validate() error {
	if c.IdleTimeout < 0 {
		return fmt.Errorf("connlimit: idle timeout %v is negative", c.IdleTimeout)
	}
	if c.MaxConnections > 0 && c.MaxConnectionsPerIP > c.MaxConnections {
		return fmt.Errorf("connlimit: max connections per IP (%d) is above max connections (%d)", c.MaxConnectionsPerIP, c.MaxConnections)
	}
	return nil
}

// Refusal is what a refused connection is told before it is closed.
type Refusal int

const (
	// RefuseSilently closes the connection (a TLS listener: nothing can
	// be said before the handshake).
	RefuseSilently Refusal = iota
	// RefuseHTTP answers 503 Service Unavailable with a line of text.
	RefuseHTTP
	// RefuseRawSocket answers the RawSocket handshake error "maximum
	// connection count reached" (error code 4).
	RefuseRawSocket
)

// refuseTimeout bounds the write of a refusal, so that a peer that does
// not read cannot hold a goroutine.
const refuseTimeout = time.Second

// Limiter counts the connections of its listeners. It is safe for
// concurrent use.
type Limiter struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	total int
	perIP map[string]int

	open    prometheus.Gauge
	refused *prometheus.CounterVec

	// lastLog rate-limits the refusal log line: one per second at most,
	// with the count of refusals since the last one.
	lastLog  time.Time
	sinceLog int
}

// New returns a limiter registering its metrics on reg (nil for none);
// refusals are logged on log (nil for slog.Default()).
func New(cfg Config, reg prometheus.Registerer, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.Default()
	}
	l := &Limiter{
		cfg:   cfg.WithDefaults(),
		log:   log,
		perIP: map[string]int{},
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "junction_connections_open", Help: "Connections open on the listeners, all together."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "junction_connections_refused_total", Help: "Connections refused by a connection limit, by limit."}, []string{"limit"}),
	}
	if reg != nil {
		reg.MustRegister(l.open, l.refused)
	}
	return l
}

// Config returns the limiter's configuration, defaults applied.
func (l *Limiter) Config() Config { return l.cfg }

// Open returns how many connections are open.
func (l *Limiter) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// Wrap returns ln counting its connections against the limits, refusing
// those over them as r says.
func (l *Limiter) Wrap(ln net.Listener, r Refusal) net.Listener {
	return &listener{Listener: ln, l: l, refusal: r}
}

// ipKey is the address a connection counts against: its IP, an IPv6 one
// cut to its /64. Unix-socket peers have none, and count in total only.
func ipKey(a net.Addr) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return ""
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		return ip4.String()
	}
	return ta.IP.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// admit counts a new connection from key, or returns the limit it is over.
func (l *Limiter) admit(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxConnections > 0 && l.total >= l.cfg.MaxConnections {
		return "max_connections"
	}
	if key != "" && l.cfg.MaxConnectionsPerIP > 0 && l.perIP[key] >= l.cfg.MaxConnectionsPerIP {
		return "max_connections_per_ip"
	}
	l.total++
	if key != "" {
		l.perIP[key]++
	}
	l.open.Set(float64(l.total))
	return ""
}

func (l *Limiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if key != "" {
		if l.perIP[key]--; l.perIP[key] <= 0 {
			delete(l.perIP, key)
		}
	}
	l.open.Set(float64(l.total))
}

// refuse counts and logs a refusal (the log at most once a second).
func (l *Limiter) refuse(limit string, remote net.Addr) {
	l.refused.WithLabelValues(limit).Inc()
	l.mu.Lock()
	l.sinceLog++
	now := time.Now()
	if now.Sub(l.lastLog) < time.Second {
		l.mu.Unlock()
		return
	}
	n := l.sinceLog
	l.lastLog, l.sinceLog = now, 0
	l.mu.Unlock()
	l.log.Warn("connection refused: limit reached", "limit", limit, "remote", remote.String(), "refused_since_last_log", n,
		"max_connections", l.cfg.MaxConnections, "max_connections_per_ip", l.cfg.MaxConnectionsPerIP)
}

type listener struct {
	net.Listener
	l       *Limiter
	refusal Refusal
}

// Accept returns the next connection within the limits; those over them
// are refused on their own goroutine meanwhile.
func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := ipKey(c.RemoteAddr())
		if limit := ln.l.admit(key); limit != "" {
			ln.l.refuse(limit, c.RemoteAddr())
			go refuse(c, ln.refusal, limit)
			continue
		}
		return &conn{Conn: c, l: ln.l, key: key}, nil
	}
}

func refuse(c net.Conn, r Refusal, limit string) {
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(refuseTimeout))
	switch r {
	case RefuseHTTP:
		body := "connection refused: " + limit + " reached\n"
		fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s", len(body), body)
	case RefuseRawSocket:
		c.Write([]byte{0x7f, 4 << 4, 0, 0})
	}
}

// conn releases its place once closed, whoever closes it (the HTTP
// server, or the transport that hijacked it).
type conn struct {
	net.Conn
	l    *Limiter
	key  string
	once sync.Once
}

// SyscallConn gives the transport the socket itself when there is one,
// as the wrapped connection would (transport reads it with one syscall
// per message).
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("connlimit: connection has no file descriptor")
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

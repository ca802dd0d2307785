package irc

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Config is the plugin's configuration, also its settings (--irc-server,
// MYAPP_IRC_NICK, irc: {channels: [...]} in the settings file). Its zero
// value is valid but for Server; each field's default applies when it is
// zero.
type Config struct {
	// Server is the IRC server's host:port. "" turns the plugin off:
	// Start only logs it, sends wait in the queue.
	Server string `flag:"server" json:"server" yaml:"server" help:"IRC server, host:port (\"\": the plugin is off)"`
	// TLS connects with TLS (port 6697 by convention).
	TLS bool `flag:"tls" json:"tls" yaml:"tls" help:"connect with TLS"`
	// TLSCAFile, if set, is a PEM file of the CAs to trust instead of
	// the system's.
	TLSCAFile string `flag:"tls-ca-file" json:"tls-ca-file" yaml:"tls-ca-file" help:"PEM file of the CAs to trust instead of the system's"`
	// Nick is the bot's nickname. Default "junction".
	Nick string `flag:"nick" json:"nick" yaml:"nick" help:"the bot's nickname"`
	// User and RealName default to Nick.
	User     string `flag:"user" json:"user" yaml:"user" help:"user name (default: the nick)"`
	RealName string `flag:"real-name" json:"real-name" yaml:"real-name" help:"real name (default: the nick)"`
	// Password is the server's password (PASS), if it has one.
	Password string `flag:"password" json:"password" yaml:"password" help:"server password"`
	// SASLLogin and SASLPassword log in with SASL PLAIN; SASLMech
	// EXTERNAL logs in with the TLS client certificate instead. A failed
	// SASL login fails the connection.
	SASLLogin    string `flag:"sasl-login" json:"sasl-login" yaml:"sasl-login" help:"SASL account"`
	SASLPassword string `flag:"sasl-password" json:"sasl-password" yaml:"sasl-password" help:"SASL password"`
	SASLMech     string `flag:"sasl-mech" json:"sasl-mech" yaml:"sasl-mech" help:"SASL mechanism: PLAIN (default) or EXTERNAL"`
	// Channels are joined at each connection. A channel's key follows
	// it after a space: "#secret key".
	Channels []string `flag:"channels" json:"channels" yaml:"channels" help:"channels to join (\"#chan\" or \"#chan key\")"`
	// Timeout bounds connecting, joining, and the server's answer to a
	// PING. Default 30s.
	Timeout time.Duration `flag:"timeout" json:"timeout" yaml:"timeout" help:"bound on connecting, joining and answering a PING"`
	// ReconnectDelay is the pause between reconnection attempts.
	// Default 5s.
	ReconnectDelay time.Duration `flag:"reconnect-delay" json:"reconnect-delay" yaml:"reconnect-delay" help:"pause between reconnection attempts"`
	// FloodBurst lines may be sent at once; then one every FloodInterval.
	// Defaults 4 and 1s: below what IRC servers penalize.
	FloodBurst    int           `flag:"flood-burst" json:"flood-burst" yaml:"flood-burst" help:"lines sent at once before the flood control paces them"`
	FloodInterval time.Duration `flag:"flood-interval" json:"flood-interval" yaml:"flood-interval" help:"one line per interval past the burst"`
	// SendRetries is how many times a message is tried again before it
	// goes to the dead letters. Default 100 (with the default backoff,
	// about 1h30).
	SendRetries int `flag:"send-retries" json:"send-retries" yaml:"send-retries" help:"tries of a message before the dead letters"`
	// SendBackoff and SendMaxBackoff are the first and the longest pause
	// between tries of a message. Defaults 1s and 1m. Set in code: they
	// are the queue's, declared by Plug.
	SendBackoff    time.Duration `flag:"-" json:"-" yaml:"-"`
	SendMaxBackoff time.Duration `flag:"-" json:"-" yaml:"-"`
}

func (c Config) withDefaults() Config {
	if c.Nick == "" {
		c.Nick = "junction"
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.ReconnectDelay == 0 {
		c.ReconnectDelay = 5 * time.Second
	}
	if c.FloodBurst == 0 {
		c.FloodBurst = 4
	}
	if c.FloodInterval == 0 {
		c.FloodInterval = time.Second
	}
	if c.SendRetries == 0 {
		c.SendRetries = 100
	}
	if c.SendBackoff == 0 {
		c.SendBackoff = time.Second
	}
	if c.SendMaxBackoff == 0 {
		c.SendMaxBackoff = time.Minute
	}
	return c
}

// Validate reports what is wrong with the configuration.
func (c *Config) Validate() error {
	var errs []error
	if c.Server != "" {
		if _, _, err := net.SplitHostPort(c.Server); err != nil {
			errs = append(errs, fmt.Errorf("irc: server %q: want host:port", c.Server))
		}
	}
	if strings.ContainsAny(c.Nick, " ,*?!@#:") {
		errs = append(errs, fmt.Errorf("irc: nick %q: want no space nor any of ,*?!@#: in it", c.Nick))
	}
	for _, ch := range c.Channels {
		if ch == "" || !strings.ContainsRune("#&+!", rune(ch[0])) {
			errs = append(errs, fmt.Errorf("irc: channel %q: want a name that starts with #, &, + or ! (\"#chan\")", ch))
		}
	}
	switch strings.ToUpper(c.SASLMech) {
	case "", "PLAIN":
		if (c.SASLLogin == "") != (c.SASLPassword == "") || strings.EqualFold(c.SASLMech, "PLAIN") && c.SASLLogin == "" {
			errs = append(errs, errors.New("irc: SASL PLAIN needs both sasl-login and sasl-password"))
		}
	case "EXTERNAL":
		if !c.TLS {
			errs = append(errs, errors.New("irc: SASL EXTERNAL logs in with the TLS client certificate: it needs tls"))
		}
	default:
		errs = append(errs, fmt.Errorf("irc: sasl-mech %q: want PLAIN or EXTERNAL", c.SASLMech))
	}
	if c.Timeout < 0 || c.ReconnectDelay < 0 || c.FloodInterval < 0 || c.FloodBurst < 0 || c.SendRetries < 0 {
		errs = append(errs, errors.New("irc: timeout, reconnect-delay, flood-burst, flood-interval and send-retries: want 0 (the default) or more"))
	}
	return errors.Join(errs...)
}

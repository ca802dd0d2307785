package netproto

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes a TCPServer. Its zero value is valid: each field's
// default applies when it is zero. The tags let the junction package
// read it from flags, environment and settings files.
type Config struct {
	// Listen is the host:port to listen on (":0" picks a free port).
	// Default "127.0.0.1:0".
	Listen string `flag:"listen" json:"listen" yaml:"listen" help:"host:port to listen on"`
	// MaxConnections bounds the connections open at once; a connection
	// over it is closed as soon as it is accepted. Default 1000.
	MaxConnections int `flag:"max-connections" json:"max-connections" yaml:"max-connections" help:"connections open at once; one over it is closed at once"`
	// MaxBuffered bounds the bytes queued for writing to one connection;
	// past it the connection is closed (ErrSlowConsumer). Default 1 MiB.
	MaxBuffered int `flag:"max-buffered" json:"max-buffered" yaml:"max-buffered" help:"bytes queued for writing to one connection; past it the connection is closed"`
	// MaxFrame bounds a frame that ReadFrame reads. Default 64 KiB.
	MaxFrame int `flag:"max-frame" json:"max-frame" yaml:"max-frame" help:"largest frame read (a line, a length-prefixed message)"`
	// ReadTimeout closes a connection that sends nothing for that long.
	// Default 5m.
	ReadTimeout time.Duration `flag:"read-timeout" json:"read-timeout" yaml:"read-timeout" help:"close a connection that sends nothing for this long"`
	// WriteTimeout closes a connection that takes no written byte for
	// that long. Default 10s.
	WriteTimeout time.Duration `flag:"write-timeout" json:"write-timeout" yaml:"write-timeout" help:"close a connection that takes no written byte for this long"`
}

// Defaults of Config.
const (
	DefaultMaxConnections = 1000
	DefaultMaxBuffered    = 1 << 20
	DefaultMaxFrame       = 64 << 10
	DefaultReadTimeout    = 5 * time.Minute
	DefaultWriteTimeout   = 10 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = DefaultMaxFrame
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	return c
}

// Validate reports a field out of its range; zero fields are valid.
func (c *Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max-connections", int64(c.MaxConnections)},
		{"max-buffered", int64(c.MaxBuffered)},
		{"max-frame", int64(c.MaxFrame)},
		{"read-timeout", int64(c.ReadTimeout)},
		{"write-timeout", int64(c.WriteTimeout)},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("netproto: %s: want 0 (the default) or more", f.name))
		}
	}
	return errors.Join(errs...)
}

// UDPConfig tunes a UDPServer. Its zero value is valid.
type UDPConfig struct {
	// Listen is the host:port to listen on. Default "127.0.0.1:0".
	Listen string `flag:"listen" json:"listen" yaml:"listen" help:"host:port to listen on"`
	// MaxInFlight bounds the datagrams handled at once; one arriving
	// over it is dropped. Default 1000.
	MaxInFlight int `flag:"max-in-flight" json:"max-in-flight" yaml:"max-in-flight" help:"datagrams handled at once; one arriving over it is dropped"`
	// MaxDatagram bounds a datagram; a larger one is dropped as
	// malformed. Default 65507, the most IPv4 carries.
	MaxDatagram int `flag:"max-datagram" json:"max-datagram" yaml:"max-datagram" help:"largest datagram handled; a larger one is dropped"`
}

// Defaults of UDPConfig.
const (
	DefaultMaxInFlight = 1000
	DefaultMaxDatagram = 65507
)

func (c UDPConfig) withDefaults() UDPConfig {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxDatagram == 0 {
		c.MaxDatagram = DefaultMaxDatagram
	}
	return c
}

// Validate reports a field out of its range; zero fields are valid.
func (c *UDPConfig) Validate() error {
	if c.MaxInFlight < 0 || c.MaxDatagram < 0 {
		return errors.New("netproto: max-in-flight and max-datagram: want 0 (the default) or more")
	}
	return nil
}

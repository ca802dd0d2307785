package cli

import (
	"crypto/tls"
	"fmt"
	"sync/atomic"
	"time"
)

// certStore holds a TLS listener's certificate, loaded from its files,
// and hands the current one to each TLS handshake: reload swaps it for
// the files' new content without touching established connections.
type certStore struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// loadCertificate loads the PEM certificate chain and private key.
func loadCertificate(certFile, keyFile string) (*certStore, error) {
	s := &certStore{certFile: certFile, keyFile: keyFile}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// reload reads the files again. On error the current certificate stays.
func (s *certStore) reload() error {
	c, err := tls.LoadX509KeyPair(s.certFile, s.keyFile)
	if err != nil {
		return fmt.Errorf("load certificate %s and key %s: %w", s.certFile, s.keyFile, err)
	}
	s.cert.Store(&c)
	return nil
}

// current returns the certificate in use.
func (s *certStore) current() *tls.Certificate { return s.cert.Load() }

// logAttrs describe the certificate in use, for logs.
func (s *certStore) logAttrs() []any {
	attrs := []any{"cert", s.certFile}
	if leaf := s.current().Leaf; leaf != nil {
		attrs = append(attrs, "subject", leaf.Subject.String(), "serial", leaf.SerialNumber.String(),
			"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return attrs
}

// serverConfig is a listener's TLS configuration. nextProtos are the
// ALPN protocols offered: WebSocket listeners offer only http/1.1, as a
// WebSocket upgrade needs HTTP/1.1.
func (s *certStore) serverConfig(nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return s.current(), nil
		},
	}
}

package transport

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
)

// ChannelBinding returns the channel ID that binds an authentication to
// the TLS connection whose state is cs (nil without TLS), for the
// binding type kind, as WAMP-Cryptosign defines them: "tls-unique" (the
// SHA-256 of the TLS 1.2 Finished message; TLS 1.3 has none) or
// "tls-exporter" (RFC 9266 keying material, 32 bytes). Both ends of a
// connection compute the same ID.
func ChannelBinding(cs *tls.ConnectionState, kind string) ([]byte, error) {
	if cs == nil {
		return nil, errors.New("channel binding needs a TLS connection")
	}
	switch kind {
	case "tls-unique":
		if len(cs.TLSUnique) == 0 {
			return nil, errors.New("tls-unique is not defined for this TLS version (TLS 1.3 has tls-exporter)")
		}
		id := sha256.Sum256(cs.TLSUnique)
		return id[:], nil
	case "tls-exporter":
		id, err := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
		if err != nil {
			return nil, fmt.Errorf("tls-exporter: %w", err)
		}
		return id, nil
	}
	return nil, fmt.Errorf(`unknown channel binding %q: the types known are "tls-unique" and "tls-exporter"`, kind)
}

package router

import (
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/junction-run/junction/wamp"
)

// validateAuth checks the realm's authentication methods. Its messages
// name the fields by their keys in a configuration file.
func (c *RealmConfig) validateAuth() error {
	if c.Anonymous == nil && c.Ticket == nil && c.WAMPCRA == nil && c.Cryptosign == nil {
		return errors.New("no authentication method: set anonymous, ticket, wampcra or cryptosign")
	}
	if t := c.Ticket; t != nil {
		if len(t.Principals) == 0 && t.Authenticator == "" {
			return errors.New("ticket: no principals and no authenticator: nobody could authenticate")
		}
		for _, id := range slices.Sorted(maps.Keys(t.Principals)) {
			p := t.Principals[id]
			if err := checkPrincipal(id, p.Role); err != nil {
				return fmt.Errorf("ticket.principals[%q]: %w", id, err)
			}
			if p.Ticket == "" {
				return fmt.Errorf("ticket.principals[%q]: ticket is empty", id)
			}
		}
		if err := checkAuthenticator(t.Authenticator); err != nil {
			return fmt.Errorf("ticket.authenticator: %w", err)
		}
	}
	if w := c.WAMPCRA; w != nil {
		if len(w.Principals) == 0 && w.Authenticator == "" {
			return errors.New("wampcra: no principals and no authenticator: nobody could authenticate")
		}
		for _, id := range slices.Sorted(maps.Keys(w.Principals)) {
			if err := w.Principals[id].validate(id); err != nil {
				return fmt.Errorf("wampcra.principals[%q]: %w", id, err)
			}
		}
		if err := checkAuthenticator(w.Authenticator); err != nil {
			return fmt.Errorf("wampcra.authenticator: %w", err)
		}
	}
	if cs := c.Cryptosign; cs != nil {
		if len(cs.Principals) == 0 && cs.Authenticator == "" {
			return errors.New("cryptosign: no principals and no authenticator: nobody could authenticate")
		}
		owner := map[string]string{}
		for _, id := range slices.Sorted(maps.Keys(cs.Principals)) {
			p := cs.Principals[id]
			if err := checkPrincipal(id, p.Role); err != nil {
				return fmt.Errorf("cryptosign.principals[%q]: %w", id, err)
			}
			if len(p.AuthorizedKeys) == 0 {
				return fmt.Errorf("cryptosign.principals[%q]: authorized_keys is empty", id)
			}
			for i, k := range p.AuthorizedKeys {
				if b, err := hex.DecodeString(k); err != nil || len(b) != 32 {
					return fmt.Errorf("cryptosign.principals[%q].authorized_keys[%d]: %q is not an Ed25519 public key (64 hex digits)", id, i, k)
				}
				// A key without authid names its principal: it must name
				// one.
				lk := strings.ToLower(k)
				if other, dup := owner[lk]; dup {
					return fmt.Errorf("cryptosign.principals[%q].authorized_keys[%d]: key also authorized for %q", id, i, other)
				}
				owner[lk] = id
			}
		}
		if err := checkAuthenticator(cs.Authenticator); err != nil {
			return fmt.Errorf("cryptosign.authenticator: %w", err)
		}
	}
	return nil
}

// validate checks a WAMP-CRA principal.
func (p WAMPCRAPrincipal) validate(id string) error {
	if err := checkPrincipal(id, p.Role); err != nil {
		return err
	}
	switch {
	case p.Secret == "":
		return errors.New("secret is empty")
	case p.Salt == "" && (p.Iterations != 0 || p.KeyLen != 0):
		return errors.New("iterations and keylen need a salt")
	case p.Iterations < 0 || p.Iterations > maxIterations:
		return fmt.Errorf("iterations %d is not between 1 and %d (0 means %d)", p.Iterations, maxIterations, defaultIterations)
	case p.KeyLen < 0 || p.KeyLen > maxKeyLen:
		return fmt.Errorf("keylen %d is not between 1 and %d (0 means %d)", p.KeyLen, maxKeyLen, defaultKeyLen)
	}
	return nil
}

func checkPrincipal(id, role string) error {
	switch {
	case id == "":
		return errors.New("the authid is empty")
	case role == "":
		return errors.New("role is empty")
	}
	return nil
}

// checkAuthenticator checks a dynamic authenticator's URI, "" for none.
func checkAuthenticator(uri string) error {
	switch {
	case uri == "":
		return nil
	case !wamp.URI(uri).Valid(false):
		return fmt.Errorf("%q is not a valid URI", uri)
	case reservedURI(wamp.URI(uri)):
		return fmt.Errorf("%q is under wamp., which no client may register", uri)
	}
	return nil
}

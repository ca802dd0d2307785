package router

import (
	"crypto/sha256"
	"crypto/subtle"

	"github.com/junction-run/junction/wamp"
)

// ticket runs WAMP-Ticket: CHALLENGE("ticket", {}), and the AUTHENTICATE
// signature is the ticket. A static principal decides for its authid;
// other authids go to the dynamic authenticator, if any. Every authid is
// challenged, known or not, so that a client learns nothing before giving
// its ticket.
func (a *attempt) ticket() (authOutcome, *authError) {
	cfg := a.cfg.Ticket
	authid := a.authid()
	m, err := a.challenge(authTicket, wamp.Dict{})
	if err != nil {
		return authOutcome{}, err
	}
	p, static := cfg.Principals[authid]
	switch {
	case static && authid != "":
		if !secretEqual(m.Signature, p.Ticket) {
			return authOutcome{}, denied("wrong ticket for authid %q", authid)
		}
		return authOutcome{authid: authid, authrole: p.Role, provider: providerStatic}, nil
	case cfg.Authenticator != "":
		details := a.dynamicDetails(authTicket)
		details["ticket"] = m.Signature
		ans, err := a.callAuthenticator(cfg.Authenticator, authid, details)
		if err != nil {
			return authOutcome{}, err
		}
		return ans.outcome(authid), nil
	}
	secretEqual(m.Signature, "") // the same work as for a known authid
	return authOutcome{}, denied("no ticket principal %q", authid)
}

// secretEqual compares a secret given by a client with the expected one
// in constant time, whatever their lengths.
func secretEqual(given, want string) bool {
	g, w := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

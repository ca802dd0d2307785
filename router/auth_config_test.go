package router

import (
	"strings"
	"testing"
)

func TestValidateAuth(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(rc *RealmConfig)
		want string // "" for valid
	}{
		{"valid", func(*RealmConfig) {}, ""},
		{"no method", func(rc *RealmConfig) {
			rc.Anonymous, rc.Ticket, rc.WAMPCRA, rc.Cryptosign = nil, nil, nil, nil
		}, "no authentication method"},
		{"ticket nobody", func(rc *RealmConfig) { rc.Ticket.Principals = nil }, "ticket: no principals and no authenticator"},
		{"ticket dynamic only", func(rc *RealmConfig) {
			rc.Ticket.Principals = nil
			rc.Ticket.Authenticator = "com.example.authenticate"
		}, ""},
		{"ticket role", func(rc *RealmConfig) {
			rc.Ticket.Principals["bob"] = TicketPrincipal{Ticket: "x"}
		}, `ticket.principals["bob"]: role is empty`},
		{"ticket empty", func(rc *RealmConfig) {
			rc.Ticket.Principals["bob"] = TicketPrincipal{Role: "user"}
		}, `ticket.principals["bob"]: ticket is empty`},
		{"empty authid", func(rc *RealmConfig) {
			rc.Ticket.Principals[""] = TicketPrincipal{Ticket: "x", Role: "user"}
		}, `ticket.principals[""]: the authid is empty`},
		{"bad authenticator", func(rc *RealmConfig) { rc.Ticket.Authenticator = "com..x" }, `ticket.authenticator: "com..x" is not a valid URI`},
		{"reserved authenticator", func(rc *RealmConfig) { rc.WAMPCRA.Authenticator = "wamp.auth" }, "wampcra.authenticator"},
		{"wampcra secret", func(rc *RealmConfig) {
			rc.WAMPCRA.Principals["bob"] = WAMPCRAPrincipal{Role: "user"}
		}, `wampcra.principals["bob"]: secret is empty`},
		{"wampcra iterations", func(rc *RealmConfig) {
			rc.WAMPCRA.Principals["bob"] = WAMPCRAPrincipal{Secret: "s", Role: "user", Salt: "x", Iterations: -1}
		}, `wampcra.principals["bob"]: iterations -1`},
		{"wampcra keylen", func(rc *RealmConfig) {
			rc.WAMPCRA.Principals["bob"] = WAMPCRAPrincipal{Secret: "s", Role: "user", Salt: "x", KeyLen: 1 << 20}
		}, `wampcra.principals["bob"]: keylen 1048576`},
		{"wampcra no salt", func(rc *RealmConfig) {
			rc.WAMPCRA.Principals["bob"] = WAMPCRAPrincipal{Secret: "s", Role: "user", Iterations: 10}
		}, "iterations and keylen need a salt"},
		{"wampcra salt defaults", func(rc *RealmConfig) {
			rc.WAMPCRA.Principals["bob"] = WAMPCRAPrincipal{Secret: "s", Role: "user", Salt: "x"}
		}, ""},
		{"cryptosign no keys", func(rc *RealmConfig) {
			rc.Cryptosign.Principals["bob"] = CryptosignPrincipal{Role: "user"}
		}, `cryptosign.principals["bob"]: authorized_keys is empty`},
		{"cryptosign short key", func(rc *RealmConfig) {
			rc.Cryptosign.Principals["bob"] = CryptosignPrincipal{Role: "user", AuthorizedKeys: []string{alicePub[:10]}}
		}, `cryptosign.principals["bob"].authorized_keys[0]`},
		{"cryptosign shared key", func(rc *RealmConfig) {
			rc.Cryptosign.Principals["bob"] = CryptosignPrincipal{Role: "user", AuthorizedKeys: []string{malloryPub, strings.ToUpper(alicePub)}}
		}, `authorized_keys[1]: key also authorized for "alice"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := authRealm()
			c.edit(&rc)
			err := rc.validateAuth()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.want != "" {
				if _, err := New(Config{RealmConfigs: []RealmConfig{rc}}); err == nil || !strings.Contains(err.Error(), `realm "auth"`) {
					t.Errorf("New: %v", err)
				}
			}
		})
	}
}

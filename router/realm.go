package router

import (
	"github.com/junction-run/junction/wamp"
)

// realm is a routing namespace: sessions of one realm see only each
// other's topics and procedures.
type realm struct {
	name   wamp.URI
	router *Router
	broker *broker
	dealer *dealer
}

func newRealm(r *Router, name wamp.URI) *realm {
	rl := &realm{name: name, router: r}
	rl.broker = newBroker(rl)
	rl.dealer = newDealer(rl)
	return rl
}

// welcomeDetails announces exactly the roles and features implemented.
func welcomeDetails(s *session) wamp.Dict {
	return wamp.Dict{
		"realm":        string(s.realm.name),
		"authid":       s.authid,
		"authrole":     "anonymous",
		"authmethod":   "anonymous",
		"authprovider": "static",
		"roles": wamp.Dict{
			"broker": wamp.Dict{"features": wamp.Dict{
				"publisher_exclusion": true,
			}},
			"dealer": wamp.Dict{"features": wamp.Dict{}},
		},
	}
}

package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// Example_authentication joins a realm whose users authenticate with
// WAMP-CRA: peter with his secret, then someone with a wrong one.
func Example_authentication() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := router.New(router.Config{Logger: slog.New(slog.DiscardHandler), RealmConfigs: []router.RealmConfig{{
		Name: "authrealm",
		WAMPCRA: &router.WAMPCRAAuth{Principals: map[string]router.WAMPCRAPrincipal{
			"peter": {Secret: "secret-cra", Role: "user"},
		}},
		Roles: []router.Role{{Name: "user"}},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Stop(ctx)

	join := func(secret string) (*client.Session, error) {
		peer, err := r.LocalPeer()
		if err != nil {
			return nil, err
		}
		return client.Join(ctx, peer, client.Config{
			Realm:  "authrealm",
			AuthID: "peter",
			Auth:   []client.Authenticator{client.WAMPCRAAuth(secret)},
		})
	}
	s, err := join("secret-cra")
	if err != nil {
		log.Fatal(err)
	}
	d := s.Details()
	fmt.Println(d["authid"], d["authrole"], d["authmethod"])
	s.Close(ctx)

	_, err = join("wrong")
	fmt.Println(errors.Is(err, wamp.ErrAuthenticationFailed), err)
	// Output:
	// peter user wampcra
	// true wamp.error.authentication_failed: authentication failed
}

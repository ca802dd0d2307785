// Command authsvc is machine 2 of the auth example: it joins the router
// and registers auth.signin, which checks a username and password and
// returns the user, or fails with auth.error.invalid_credentials.
//
//	authsvc run --connect ws://ROUTER:8080/ws
//
// It serves no HTTP (its --listen defaults to ""): it is a component
// only.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/junction-run/junction"
)

// User is what auth.signin returns, as a dict: {"id", "name", "token"}.
type User struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

// account is a user as the service stores it: a digest, never the
// password.
type account struct {
	id       int64
	password [sha256.Size]byte
}

// accounts is the example's user table. A real service would keep salted
// bcrypt or argon2 hashes in a database; the shape of the code is the same.
var accounts = map[string]account{
	"alice": {1, sha256.Sum256([]byte("wonderland"))},
	"bob":   {2, sha256.Sum256([]byte("builder"))},
}

// ErrInvalidCredentials is the error URI of a failed signin; callers
// match it with errors.Is(err, junction.Error(ErrInvalidCredentials)).
const ErrInvalidCredentials = "auth.error.invalid_credentials"

// signin checks username and password. Its parameters are the call's
// positional arguments: a caller sending anything else than two strings
// gets wamp.error.invalid_argument from Junction.
func signin(username, password string) (User, error) {
	acc, ok := accounts[username]
	digest := sha256.Sum256([]byte(password))
	// Compare even for an unknown user, so that timing does not tell
	// which usernames exist.
	match := subtle.ConstantTimeCompare(digest[:], acc.password[:]) == 1
	if !ok || !match {
		return User{}, junction.Error(ErrInvalidCredentials, "invalid username or password")
	}
	return User{ID: acc.id, Name: username, Token: rand.Text()}, nil
}

func main() {
	app := junction.New("auth", junction.WithSettings(func(s *junction.Settings) {
		s.Connect = "ws://127.0.0.1:8080/ws"
		s.Listen = "" // no HTTP routes: no listener
	}))
	app.Register("signin", signin) // relative: "auth.signin"
	app.Run()
}

// Command web is machine 3 of the auth example: the REST API. It joins
// the router, and POST /api/auth/ signs a user in by calling auth.signin
// (served by authsvc, on another machine), publishes auth.signedin with
// the user's id, and answers {"token": ...}. It also serves a small page
// at / to try it from a browser.
//
//	web run --connect ws://ROUTER:8080/ws --listen 0.0.0.0:8000
package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
)

// errInvalidCredentials is the error URI authsvc fails a signin with.
const errInvalidCredentials = "auth.error.invalid_credentials"

// callTimeout bounds the call to auth.signin, so that a stuck auth
// service costs the client seconds, not minutes.
const callTimeout = 5 * time.Second

//go:embed public
var files embed.FS

func main() {
	app := junction.New("site", junction.WithSettings(func(s *junction.Settings) {
		s.Connect = "ws://127.0.0.1:8080/ws"
		s.Listen = "127.0.0.1:8000"
	}))

	app.HTTP.Post("/api/auth/", signin(app))

	public, err := fs.Sub(files, "public")
	if err != nil {
		panic(err)
	}
	app.HTTP.ServeFS("/", public)
	app.Run()
}

// signin is POST /api/auth/: it signs the user in with auth.signin,
// announces it on auth.signedin and answers {"token": ...}.
func signin(app *junction.Application) http.HandlerFunc {
	return junction.Handle(func(w http.ResponseWriter, r *http.Request) error {
		username, password, err := credentials(r)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(r.Context(), callTimeout)
		defer cancel()
		res, err := app.Call(ctx, "auth.signin", username, password)
		switch {
		case errors.Is(err, junction.Error(errInvalidCredentials)):
			return junction.NewHTTPError(http.StatusUnauthorized, "invalid username or password")
		case errors.Is(err, client.ErrConnectionLost):
			// The app lost its router and is reconnecting: say so at
			// once rather than wait for it. (A call made meanwhile fails
			// with junction.ErrNotConnected, one in flight when the
			// connection dropped with the error that ended it: both
			// match client.ErrConnectionLost.)
			return routerDown(err)
		case err != nil:
			// The rest as WriteError maps it: no auth service on the
			// router 503, timeout 504...
			return err
		}
		user, err := junction.Arg[signedIn](&res.Values, 0)
		if err != nil || user.Token == "" {
			return &junction.HTTPError{Status: http.StatusBadGateway, Message: "the auth service answered something unexpected",
				Err: fmt.Errorf("auth.signin: want a user with an id and a token: %v", err)}
		}
		// The signin stands even if the announcement fails: log it only.
		if err := app.Publish(r.Context(), "auth.signedin", user.ID); err != nil {
			app.Logger().Warn("announce signin", "user", user.ID, "err", err)
		}
		return junction.JSON(w, http.StatusOK, junction.M{"token": user.Token})
	})
}

// signedIn is what auth.signin answers, of which the web app uses two
// fields.
type signedIn struct {
	ID    int64  `json:"id"`
	Token string `json:"token"`
}

// routerDown answers the requests that come while the app has lost its
// router; cause, if any, is logged.
func routerDown(cause error) error {
	return &junction.HTTPError{
		Status:  http.StatusServiceUnavailable,
		Message: "the auth service cannot be reached right now; try again in a few seconds",
		Err:     cause,
	}
}

// credentials reads the username and password of a signin from a form
// (application/x-www-form-urlencoded or multipart/form-data) or from a
// JSON body {"username": "...", "password": "..."}.
func credentials(r *http.Request) (username, password string, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data" {
		username, password = junction.Form(r, "username"), junction.Form(r, "password")
	} else {
		var body struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := junction.Decode(r, &body); err != nil {
			return "", "", err
		}
		username, password = body.Username, body.Password
	}
	if username == "" || password == "" {
		return "", "", junction.NewHTTPError(http.StatusBadRequest, "username and password are required")
	}
	return username, password, nil
}

// Package junction is the Junction application framework: one
// Application gives a Go program HTTP routes and static files, WebSocket
// pub/sub and RPC that any WAMP client reaches (Autobahn|JS in a browser,
// Autobahn|Python, other Junction apps), lifecycle hooks and a generated
// command line.
//
//	app := junction.New("shop")
//	app.HTTP.Get("/user/:id/", showUser)
//	app.Register("signin", signin)             // RPC "shop.signin"
//	app.Subscribe("auth.signedin", onSignedIn) // absolute: has a dot
//	app.On(junction.Ready, announce)
//	app.Run()                                  // shop run --listen 127.0.0.1:8080
//
// By default Run starts an embedded WAMP router, served at /ws on the
// same listener as the HTTP routes, and joins the app's components to it
// in-process. With --connect the app joins a remote router instead and
// serves only its HTTP routes and components.
package junction

// Command router is machine 1 of the auth example: a Junction app with
// nothing of its own, whose embedded WAMP router the other machines join
// at ws://HOST:PORT/ws.
//
//	router run --listen 0.0.0.0:8080
package main

import "github.com/junction-run/junction"

func main() {
	junction.New("router").Run()
}

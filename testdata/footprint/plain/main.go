// An app with HTTP, RPC and pub/sub but neither queues nor cron jobs:
// TestEmbeddedNATSIsLinkedOnlyWhenUsed checks that its binary holds no
// NATS server.
package main

import (
	"net/http"

	"github.com/junction-run/junction"
)

func main() {
	app := junction.New("plain")
	app.Register("add", func(a, b int) int { return a + b })
	app.Subscribe("news", func(s string) {})
	app.HTTP.Get("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
	app.Run()
}

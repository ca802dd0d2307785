// The same app with a task queue: its binary holds the embedded NATS
// server.
package main

import (
	"net/http"

	"github.com/junction-run/junction"
)

func main() {
	app := junction.New("queued")
	app.Register("add", func(a, b int) int { return a + b })
	app.Subscribe("news", func(s string) {})
	app.HTTP.Get("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) })
	app.Queue("jobs").Task("nop", func() {})
	app.Run()
}

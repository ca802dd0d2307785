package junction_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/junction-run/junction"
)

// Shout is a third-party plugin, written with the public API only: a
// setting, a WAMP procedure and a topic under its namespace, and a
// lifecycle.
type Shout struct {
	Settings struct {
		Suffix string `help:"appended to what is shouted"`
	}
	host *junction.PluginHost
}

var _ junction.Plugin = (*Shout)(nil) // interface guard

func (s *Shout) DefaultNamespace() string { return "shout" }

// Provision declares the setting --shout-suffix and the procedure
// shout.send, which publishes on shout.sent.
func (s *Shout) Provision(h *junction.PluginHost) error {
	s.host = h
	s.Settings.Suffix = "!"
	if err := h.Settings(&s.Settings); err != nil {
		return err
	}
	return h.Register("send", func(ctx context.Context, text string) (string, error) {
		out := strings.ToUpper(text) + s.Settings.Suffix
		return out, h.Publish(ctx, "sent", out)
	})
}

// Start would connect to a server; an error fails the app's start.
func (s *Shout) Start(ctx context.Context) error {
	if s.Settings.Suffix == "" {
		return errors.New("no suffix")
	}
	return nil
}

func (s *Shout) Stop(ctx context.Context) error { return nil }

// A plugin gets its own namespace in the app: settings, WAMP names,
// HTTP routes, logs and metrics.
func ExampleApplication_Plug() {
	app := junction.New("shop", junction.WithSettings(func(s *junction.Settings) { s.Listen = "" }))
	app.Plug(&Shout{}, junction.Namespace("loud"))
	sent := make(chan string, 1)
	app.Subscribe("loud.sent", func(text string) { sent <- text })

	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer app.Shutdown(ctx)
	res, err := app.Call(ctx, "loud.send", "hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("result:", res.Arg(0))
	fmt.Println("event:", <-sent)
	// Output:
	// result: HELLO!
	// event: HELLO!
}

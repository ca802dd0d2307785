package interop

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction"
)

// TestApplication has Autobahn|JS talk to a Junction Application, on
// each serializer: it receives the event an HTTP handler publishes, and
// calls procedures registered as typed Go functions, whose arguments and
// results must cross every serializer as a JS developer expects.
func TestApplication(t *testing.T) {
	requireNode(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			applicationScenario(t, ser)
		})
	}
}

// appUser is what interop.user returns: a Go struct, which must reach
// Autobahn|JS as a dictionary keyed by its json tags.
type appUser struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

func applicationScenario(t *testing.T, ser string) {
	app := junction.New("interop",
		junction.WithLogger(slog.New(slog.DiscardHandler)),
		junction.WithSettings(func(s *junction.Settings) { s.Listen = "127.0.0.1:0" }))
	app.HTTP.Post("/notify", junction.Handle(func(w http.ResponseWriter, r *http.Request) error {
		var body struct {
			Message string `json:"message"`
			Count   int    `json:"count"`
		}
		if err := junction.Decode(r, &body); err != nil {
			return err
		}
		err := app.Publish(r.Context(), "notified", body.Message,
			junction.Kwargs{"count": body.Count, "via": "http"}, junction.Acknowledge())
		if err != nil {
			return err
		}
		return junction.JSON(w, http.StatusAccepted, junction.M{"published": true})
	}))
	app.Register("add", func(a, b int) int { return a + b })
	app.Register("user", func(ctx context.Context, id int) (appUser, error) {
		return appUser{ID: id, Name: "user " + fmt.Sprint(id), Roles: []string{"reader"}}, nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("start the app: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shut the app down: %v", err)
		}
	})
	addr := app.Addr().String()

	peer := startNode(t, "app_peer", "ws://"+addr+"/ws", ser)
	peer.expect(`{"ready":true}`)

	res, err := http.Post("http://"+addr+"/notify", "application/json", strings.NewReader(`{"message": "hello", "count": 3}`))
	if err != nil {
		peer.fail("POST /notify: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		peer.fail("POST /notify: status %d, want 202", res.StatusCode)
	}

	got, _ := peer.result().(map[string]any)
	check(t, "event published by the HTTP handler", got["event"], want(t, `{"args":["hello"],"kwargs":{"count":3,"via":"http"}}`))
	check(t, "interop.add(2, 3)", got["sum"], 5.0)
	check(t, "interop.user(7)", got["user"], want(t, `{"id":7,"name":"user 7","roles":["reader"]}`))
	bad, _ := got["bad"].(map[string]any)
	check(t, "interop.add(2, \"three\") error URI", bad["error"], "wamp.error.invalid_argument")
	args, _ := bad["args"].([]any)
	if msg, _ := firstOf(args).(string); !strings.Contains(msg, "argument 1") {
		t.Errorf("interop.add(2, \"three\") error %v: want a message naming argument 1", bad)
	}
}

func firstOf(l []any) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

// Package plugintest runs, for a plugin's tests, an app with the plugin
// plugged in, and a WAMP client of its router.
package plugintest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
)

// StartApp starts app name on a free loopback port with p plugged in
// (more run on it first), and shuts it down when the test ends. Its logs
// are shown if the start or the test fails.
func StartApp(t testing.TB, name string, p junction.Plugin, more ...func(*junction.Application)) *junction.Application {
	t.Helper()
	logs := &logBuffer{}
	app := junction.New(name,
		junction.WithSettings(func(s *junction.Settings) { s.Listen = "127.0.0.1:0" }),
		junction.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err := app.Plug(p); err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		f(app)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatalf("Start: %v\n%s", err, logs)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("app logs:\n%s", logs)
		}
	})
	return app
}

// Client joins the app's router over WebSocket, closed when the test
// ends.
func Client(t testing.TB, app *junction.Application) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "ws://"+app.Addr().String()+"/ws", client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// logBuffer collects the app's logs.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

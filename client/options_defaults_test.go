package client

import (
	"testing"
	"time"
)

// TestReconnectDefaults: a client reconnects as an app does, from 100 ms
// up to 5 s between attempts (the app uses these defaults).
func TestReconnectDefaults(t *testing.T) {
	c := Config{Reconnect: &ReconnectConfig{}}.withDefaults()
	if c.Reconnect.MinDelay != 100*time.Millisecond || c.Reconnect.MaxDelay != 5*time.Second {
		t.Fatalf("reconnect defaults %v to %v, want 100ms to 5s", c.Reconnect.MinDelay, c.Reconnect.MaxDelay)
	}
}

package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigLoad(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c Config
	src := `
realm: shop
hooks:
  - name: orders
    topic: com.shop.order.
    match: prefix
    url: https://hooks.example.com/orders
    headers: {Authorization: "Bearer x"}
    secret_file: ` + secret + `
    timeout: 5s
    max_attempts: 8
  - topic: com.shop.user.created
    url: http://127.0.0.1:9/users
`
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	c, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Hooks[0], c.Hooks[1]
	if c.Realm != "shop" || c.Queue != "webhooks" || c.Workers != DefaultWorkers || c.AuthRole != "webhooks" ||
		a.Secret != "s3cret" || a.Timeout != 5*time.Second || a.MaxAttempts != 8 || a.Headers["Authorization"] != "Bearer x" ||
		b.Name != "com.shop.user.created" || b.Match != "exact" || b.Timeout != DefaultTimeout || b.MaxAttempts != DefaultMaxAttempts {
		t.Fatalf("loaded %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	hook := func(f func(*Hook)) Config {
		h := Hook{Topic: "com.ex.a", URL: "http://localhost/x"}
		f(&h)
		return Config{Hooks: []Hook{h}}
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "hooks: no hook"},
		{hook(func(h *Hook) { h.URL = "" }), "hooks[0].url: required"},
		{hook(func(h *Hook) { h.URL = "ftp://host/x" }), "hooks[0].url: \"ftp://host/x\": want an http:// or https:// URL"},
		{hook(func(h *Hook) { h.URL = "http://%zz" }), "hooks[0].url: "},
		{hook(func(h *Hook) { h.URL = "/relative" }), "hooks[0].url: "},
		{hook(func(h *Hook) { h.Topic = "" }), "hooks[0].topic: required"},
		{hook(func(h *Hook) { h.Topic = "com..ex" }), "hooks[0].topic: \"com..ex\" is not a valid topic URI for exact match"},
		{hook(func(h *Hook) { h.Topic = "com.ex." }), "hooks[0].topic: \"com.ex.\" is not a valid topic URI"},
		{hook(func(h *Hook) { h.Topic = "com.ex a" }), "hooks[0].topic:"},
		{hook(func(h *Hook) { h.Match = "wildcard" }), "hooks[0].match: \"wildcard\": want exact or prefix"},
		{hook(func(h *Hook) { h.Name = "a b" }), "hooks[0].name:"},
		{hook(func(h *Hook) { h.MaxAttempts = -1 }), "hooks[0].max_attempts:"},
		{hook(func(h *Hook) { h.Timeout = -time.Second }), "hooks[0].timeout:"},
		{hook(func(h *Hook) { h.Headers = map[string]string{"Bad Header": "x"} }), "hooks[0].headers:"},
		{hook(func(h *Hook) { h.SecretFile = "/nonexistent/secret" }), "hooks[0].secret_file:"},
		{Config{Hooks: []Hook{{Topic: "com.ex.a", URL: "http://h/"}, {Topic: "com.ex.a", URL: "http://h/2"}}}, "hooks[1].name: \"com.ex.a\" is also hooks[0]'s name"},
		{Config{Realm: "bad realm", Hooks: []Hook{{Topic: "com.ex.a", URL: "http://h/"}}}, "realm:"},
		{Config{Workers: -1, Hooks: []Hook{{Topic: "com.ex.a", URL: "http://h/"}}}, "workers:"},
		{Config{Backoff: time.Minute, MaxBackoff: time.Second, Hooks: []Hook{{Topic: "com.ex.a", URL: "http://h/"}}}, "max_backoff:"},
	} {
		_, err := tc.cfg.Load()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg.Hooks, err, tc.want)
		}
	}
	// A prefix hook may end its prefix with a dot.
	if _, err := hook(func(h *Hook) { h.Topic, h.Match = "com.ex.", "prefix" }).Load(); err != nil {
		t.Errorf("prefix with a dot: %v", err)
	}
}

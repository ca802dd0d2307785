package link

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/junction-run/junction/wamp"
	"go.yaml.in/yaml/v3"
)

// TestConfigErrors checks that New refuses bad configs with an error
// naming the field.
func TestConfigErrors(t *testing.T) {
	ok := Config{Name: "a", Peer: "b", Router: "ws://127.0.0.1:8080/ws", DataDir: "/data", Remote: "nats-leaf://b.example:7422"}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "name: required"},
		{"bad name", func(c *Config) { c.Name = "a.b" }, `name: "a.b"`},
		{"no peer", func(c *Config) { c.Peer = "" }, "peer: required"},
		{"peer is self", func(c *Config) { c.Peer = "a" }, `peer: "a" is also this side's name`},
		{"bad realm", func(c *Config) { c.Realm = "a b" }, "realm:"},
		{"no router", func(c *Config) { c.Router = "" }, "router: required"},
		{"ticket without authid", func(c *Config) { c.Ticket = "x" }, "authid: required with ticket"},
		{"token and user", func(c *Config) { c.Token, c.User = "t", "u" }, "token: set token, or user and password"},
		{"password without user", func(c *Config) { c.Password = "p" }, "user: required with password"},
		{"no data dir", func(c *Config) { c.DataDir = "" }, "data_dir: required"},
		{"neither listen nor remote", func(c *Config) { c.Remote = "" }, "remote: required, or listen"},
		{"bad listen", func(c *Config) { c.Listen = "nowhere" }, `listen: "nowhere"`},
		{"bad remote scheme", func(c *Config) { c.Remote = "http://b:7422" }, `remote: "http://b:7422": scheme "http"`},
		{"external NATS and data dir", func(c *Config) { c.NATS = "nats://n:4222"; c.Remote = "" }, `data_dir: "/data": for the embedded NATS server`},
		{"bad export topic", func(c *Config) { c.ExportTopics = []string{"ok", "a..b"} }, `export_topics[1]: "a..b" is not a valid URI pattern`},
		{"bad import procedure", func(c *Config) { c.ImportProcedures = []string{"prefix:a b"} }, "import_procedures[0]:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want %v containing %q", err, ErrInvalidConfig, tt.want)
			}
		})
	}
	if _, err := New(ok); err != nil {
		t.Errorf("New(valid config): %v", err)
	}
}

// TestConfigYAML reads the link section of a node file.
func TestConfigYAML(t *testing.T) {
	const doc = `
name: shop-eu
peer: shop-us
realm: shop
router: ws://127.0.0.1:8080/ws
data_dir: /var/lib/junction/link
remote: nats-leaf://us.example.com:7422
token: s3cret
export_topics: [shop.order.placed, "prefix:shop.stock"]
import_topics: ["wildcard:shop..updated"]
export_procedures: [shop.stock.get]
import_procedures: ["prefix:shop.price"]
call_timeout: 5s
`
	var cfg Config
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.cfg.CallTimeout.Seconds() != 5 || l.cfg.Token != "s3cret" || !slices.Equal(l.cfg.ExportTopics, []string{"shop.order.placed", "prefix:shop.stock"}) {
		t.Errorf("config read as %+v", l.cfg)
	}
	if got := l.lists.importTopics[0]; got.policy != wamp.MatchWildcard || got.uri != "shop..updated" {
		t.Errorf("import_topics[0] = %+v", got)
	}
}

// TestPatterns checks what each kind of pattern allows, and the NATS
// subjects it filters on.
func TestPatterns(t *testing.T) {
	tests := []struct {
		pattern  string
		match    []wamp.URI
		nomatch  []wamp.URI
		subjects []string
	}{
		{"paste.created", []wamp.URI{"paste.created"}, []wamp.URI{"paste.created.x", "paste"}, []string{"p.paste.created"}},
		{"prefix:paste", []wamp.URI{"paste", "paste.created", "paste.a.b"}, []wamp.URI{"pastebin", "x.paste"}, []string{"p.paste", "p.paste.>"}},
		{"prefix:paste.", []wamp.URI{"paste.created"}, []wamp.URI{"pastebin"}, []string{"p.paste", "p.paste.>"}},
		{"wildcard:a..c", []wamp.URI{"a.b.c", "a.x.c"}, []wamp.URI{"a.b.d", "a.b.c.d"}, []string{"p.a.*.c"}},
		{"a*b.c>d", []wamp.URI{"a*b.c>d"}, nil, []string{"p.a%2Ab.c%3Ed"}},
	}
	for _, tt := range tests {
		p, err := parsePattern(tt.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tt.pattern, err)
		}
		for _, u := range tt.match {
			if !p.matches(u) {
				t.Errorf("%s does not match %s", tt.pattern, u)
			}
		}
		for _, u := range tt.nomatch {
			if p.matches(u) {
				t.Errorf("%s matches %s", tt.pattern, u)
			}
		}
		if got := p.subjects("p"); !slices.Equal(got, tt.subjects) {
			t.Errorf("%s: subjects %v, want %v", tt.pattern, got, tt.subjects)
		}
	}
}

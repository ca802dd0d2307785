package junction

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/internal/connlimit"
)

// cliResult is what one run of the command line did.
type cliResult struct {
	code           int
	stdout, stderr string
	ran            bool     // the run command started the app
	settings       Settings // app.settings when it did
}

// runCLI runs app's command line with env as the environment, the run
// command replaced by one that records the resolved settings.
func runCLI(t *testing.T, app *Application, env map[string]string, args ...string) cliResult {
	t.Helper()
	var res cliResult
	app.cli.serve = func(ctx context.Context) error {
		res.ran = true
		res.settings = app.settings
		return nil
	}
	var stdout, stderr strings.Builder
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	res.code = app.main(context.Background(), args, &stdout, &stderr, lookup)
	res.stdout, res.stderr = stdout.String(), stderr.String()
	return res
}

// writeFile writes content to a new file named name and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type shopSettings struct {
	MaxItems int      `help:"most items in a cart"`
	Currency string   `flag:"money" env:"CURRENCY"`
	Tags     []string `help:"labels of the shop"`
	Poll     time.Duration
	Level    slog.Level // an encoding.TextUnmarshaler
	Color    color
	Ratio    float64
	Small    uint8
	Verbose  bool
	Speed    speed // an int with a String method
	DB       struct {
		Host string
		Port int
	}
	Skipped string `flag:"-"`
	hidden  string
}

func newShop(opts ...Option) (*Application, *shopSettings) {
	app := New("shop", opts...)
	cfg := &shopSettings{Speed: 1, MaxItems: 10, Currency: "EUR", Tags: []string{"new"}, Poll: time.Minute}
	cfg.DB.Host = "localhost"
	cfg.hidden = "unexported: not a setting"
	app.AddSettings(cfg)
	return app, cfg
}

type speed int

func (s speed) String() string { return [...]string{"slow", "fast"}[s] }

// color is a TextUnmarshaler whose errors reach the user.
type color string

func (c *color) UnmarshalText(text []byte) error {
	switch s := string(text); s {
	case "red", "green", "blue":
		*c = color(s)
		return nil
	}
	return fmt.Errorf("unknown color %q: want red, green or blue", text)
}

func TestCLIPrecedence(t *testing.T) {
	file := "listen: 127.0.0.1:1001\nmax-items: 1\n"
	env := map[string]string{"SHOP_LISTEN": "127.0.0.1:1002", "SHOP_MAX_ITEMS": "2"}
	flags := []string{"--listen", "127.0.0.1:1003", "--max-items=3"}
	tests := []struct {
		name       string
		file       bool
		env        bool
		flags      bool
		listen     string
		maxItems   int
		wantListen string
	}{
		{name: "defaults", listen: "127.0.0.1:8080", maxItems: 10},
		{name: "file beats defaults", file: true, listen: "127.0.0.1:1001", maxItems: 1},
		{name: "env beats file", file: true, env: true, listen: "127.0.0.1:1002", maxItems: 2},
		{name: "flag beats env and file", file: true, env: true, flags: true, listen: "127.0.0.1:1003", maxItems: 3},
		{name: "flag beats file", file: true, flags: true, listen: "127.0.0.1:1003", maxItems: 3},
		{name: "flag beats env", env: true, flags: true, listen: "127.0.0.1:1003", maxItems: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, cfg := newShop()
			var args []string
			e := map[string]string{}
			if tt.file {
				e["SHOP_CONFIG"] = writeFile(t, "shop.yaml", file)
			}
			if tt.env {
				for k, v := range env {
					e[k] = v
				}
			}
			if tt.flags {
				args = flags
			}
			res := runCLI(t, app, e, args...)
			if res.code != 0 || !res.ran {
				t.Fatalf("code %d, ran %v, stderr %q", res.code, res.ran, res.stderr)
			}
			if res.settings.Listen != tt.listen || cfg.MaxItems != tt.maxItems {
				t.Errorf("listen %q, max-items %d; want %q, %d", res.settings.Listen, cfg.MaxItems, tt.listen, tt.maxItems)
			}
		})
	}
}

func TestCLIHelpShowsCurrentDefaults(t *testing.T) {
	app, cfg := newShop()
	cfg.MaxItems = 25 // after AddSettings
	if res := runCLI(t, app, nil, "-h"); !strings.Contains(res.stdout, "(default 25, env SHOP_MAX_ITEMS)") {
		t.Errorf("help does not show the current value:\n%s", res.stdout)
	}
}

func TestCLIWithSettingsIsTheDefault(t *testing.T) {
	app, _ := newShop(WithSettings(func(s *Settings) { s.Realm = "shop"; s.Listen = ":9000" }))
	res := runCLI(t, app, nil, "--help")
	if !strings.Contains(res.stdout, "(default :9000, env SHOP_LISTEN)") {
		t.Errorf("help does not show the WithSettings default:\n%s", res.stdout)
	}
	res = runCLI(t, app, map[string]string{"SHOP_LISTEN": "127.0.0.1:1"})
	if res.settings.Realm != "shop" || res.settings.Listen != "127.0.0.1:1" {
		t.Errorf("realm %q, listen %q; want shop, 127.0.0.1:1", res.settings.Realm, res.settings.Listen)
	}

	bad := New("shop", WithSettings(func(s *Settings) { s.LogFormat = "xml" }))
	res = runCLI(t, bad, nil)
	want := "shop: junction: WithSettings: invalid value \"xml\" for --log-format: want text or json\n"
	if res.code != 2 || res.ran || res.stderr != want {
		t.Errorf("code %d, ran %v, stderr %q; want 2 and %q", res.code, res.ran, res.stderr, want)
	}
	// A flag replacing the bad default is fine.
	if res = runCLI(t, bad, nil, "--log-format=json"); res.code != 0 {
		t.Errorf("code %d, stderr %q", res.code, res.stderr)
	}
}

func TestCLISettingsFile(t *testing.T) {
	yamlFile := `# shop settings
listen: 0.0.0.0:9000
connect: wss://router.example.com/ws
realm: shop
debug: true
data-dir: /var/lib/shop
log-format: json
shutdown-timeout: 30s
slow-handler: 1s
max-connections-per-ip: 50
idle-timeout: 2m
max-items: 7
money: USD
tags: [a, b]
poll: 90s
level: warn
color: blue
ratio: 0.5
small: 255
verbose: yes-no-maybe
`
	yamlFile = strings.Replace(yamlFile, "yes-no-maybe", "true", 1)
	yamlFile += "db:\n  host: db.internal\n  port: 5432\n"
	jsonFile := `{
  "listen": "0.0.0.0:9000", "connect": "wss://router.example.com/ws", "realm": "shop",
  "debug": true, "data-dir": "/var/lib/shop", "log-format": "json",
  "shutdown-timeout": "30s", "slow-handler": "1s", "max-connections-per-ip": 50, "idle-timeout": "2m",
  "max-items": 7, "money": "USD", "tags": ["a", "b"], "poll": "90s", "level": "warn",
  "color": "blue", "ratio": 0.5, "small": 255, "verbose": true,
  "db-host": "db.internal", "db-port": 5432
}`
	for _, tt := range []struct{ name, content string }{{"shop.yaml", yamlFile}, {"shop.json", jsonFile}} {
		t.Run(tt.name, func(t *testing.T) {
			app, cfg := newShop()
			res := runCLI(t, app, nil, "--config", writeFile(t, tt.name, tt.content))
			if res.code != 0 {
				t.Fatalf("code %d, stderr %q", res.code, res.stderr)
			}
			want := Settings{
				Listen:          "0.0.0.0:9000",
				Connect:         "wss://router.example.com/ws",
				Realm:           "shop",
				Debug:           true,
				DataDir:         "/var/lib/shop",
				Metrics:         "/metrics",
				LogFormat:       "json",
				LogLevel:        "debug", // implied by debug
				ShutdownTimeout: 30 * time.Second,
				SlowHandler:     time.Second,

				MaxConnections:      connlimit.DefaultMaxConnections,
				MaxConnectionsPerIP: 50,
				IdleTimeout:         2 * time.Minute,
			}
			if !reflect.DeepEqual(res.settings, want) {
				t.Errorf("settings\n%+v\nwant\n%+v", res.settings, want)
			}
			got := fmt.Sprintf("%d %s %q %s %s %s %g %d %v %s %d", cfg.MaxItems, cfg.Currency, cfg.Tags, cfg.Poll,
				cfg.Level, cfg.Color, cfg.Ratio, cfg.Small, cfg.Verbose, cfg.DB.Host, cfg.DB.Port)
			if w := `7 USD ["a" "b"] 1m30s WARN blue 0.5 255 true db.internal 5432`; got != w {
				t.Errorf("user settings %s, want %s", got, w)
			}
		})
	}
}

func TestCLISettingsFileEmptyOrNull(t *testing.T) {
	for _, content := range []string{"", "# nothing\n", "---\n", "connect:\nrealm: ~\n"} {
		app := New("shop", WithSettings(func(s *Settings) { s.Connect = "ws://r:8080/ws" }))
		res := runCLI(t, app, nil, "--config="+writeFile(t, "s.yaml", content))
		if res.code != 0 || res.settings.Connect != "ws://r:8080/ws" || res.settings.Realm != "realm1" {
			t.Errorf("%q: code %d, stderr %q, settings %+v", content, res.code, res.stderr, res.settings)
		}
	}
}

func TestCLISettingsFileErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"unknown key", "realm: shop\nlisten: :1\nlisen: :2\n", `s.yaml:3: unknown setting "lisen" (did you mean "listen"?)`},
		{"unknown key far from any", "realm: shop\nfrobnicate: 1\n", `s.yaml:2: unknown setting "frobnicate"`},
		{"unknown nested key", "db:\n  host: x\n  hots: y\n", `s.yaml:3: unknown setting "db-hots" (did you mean "db-host"?)`},
		{"bad built-in", "realm: shop\n\nlog-level: loud\n", `s.yaml:3: invalid value "loud" for log-level: want debug, info, warn or error`},
		{"bad duration", "shutdown-timeout: 10\n", `s.yaml:1: invalid value "10" for shutdown-timeout: want a duration such as 10s or 1m30s`},
		{"bad user value", "max-items: many\n", `s.yaml:1: invalid value "many" for max-items: want an integer`},
		{"bad text value", "color: mauve\n", `s.yaml:1: invalid value "mauve" for color: unknown color "mauve": want red, green or blue`},
		{"list for a single value", "realm:\n  - a\n  - b\n", `s.yaml:2: invalid value for realm: want a single value, not a list`},
		{"mapping for a value", "realm: {a: 1}\n", `s.yaml:1: invalid value for realm: want a single value, not a mapping`},
		{"list of lists", "tags: [[a]]\n", `s.yaml:1: invalid value for tags: want a list of strings`},
		{"twice", "realm: a\nlisten: :1\nrealm: b\n", `s.yaml:3: realm is set twice (first on line 1)`},
		{"config", "config: other.yaml\n", `s.yaml:1: config cannot be set in a settings file`},
		{"not a mapping", "- listen\n", `s.yaml:1: want a mapping of setting names to values`},
		{"syntax", "realm: shop\nlisten: [\n", `s.yaml:2: did not find expected node content`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, _ := newShop()
			path := writeFile(t, "s.yaml", tt.content)
			res := runCLI(t, app, nil, "--config", path)
			want := "shop: " + filepath.Dir(path) + "/" + tt.want + "\nrun 'shop --help' for usage\n"
			if res.code != 2 || res.ran || res.stderr != want {
				t.Errorf("code %d, ran %v, stderr\n%s\nwant 2 and\n%s", res.code, res.ran, res.stderr, want)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		app, _ := newShop()
		res := runCLI(t, app, map[string]string{"SHOP_CONFIG": "/nonexistent/shop.yaml"})
		want := "shop: settings file /nonexistent/shop.yaml does not exist\nrun 'shop --help' for usage\n"
		if res.code != 2 || res.stderr != want {
			t.Errorf("code %d, stderr %q; want 2, %q", res.code, res.stderr, want)
		}
	})

	t.Run("a flag does not hide a bad key", func(t *testing.T) {
		app, _ := newShop()
		res := runCLI(t, app, nil, "--realm=x", "--config", writeFile(t, "s.yaml", "realm: y\nrelam: z\n"))
		if res.code != 2 || !strings.Contains(res.stderr, `s.yaml:2: unknown setting "relam" (did you mean "realm"?)`) {
			t.Errorf("code %d, stderr %q", res.code, res.stderr)
		}
	})
}

func TestCLIBadValues(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{args: []string{"--shutdown-timeout=abc"}, want: `invalid value "abc" for --shutdown-timeout: want a duration such as 10s or 1m30s`},
		{args: []string{"--slow-handler=-1s"}, want: `invalid value "-1s" for --slow-handler: want a duration of 0 or more`},
		{args: []string{"--idle-timeout=0s"}, want: `invalid value "0s" for --idle-timeout: want a duration above 0`},
		{args: []string{"--max-connections-per-ip=0"}, want: `invalid value "0" for --max-connections-per-ip: want a count above 0, or -1 for no limit`},
		{args: []string{"--log-format", "xml"}, want: `invalid value "xml" for --log-format: want text or json`},
		{args: []string{"--log-level=loud"}, want: `invalid value "loud" for --log-level: want debug, info, warn or error`},
		{args: []string{"--listen=8080"}, want: `invalid value "8080" for --listen: want host:port, such as 127.0.0.1:8080 or :8080, or "" for no HTTP`},
		{args: []string{"--listen=localhost:http"}, want: `invalid value "localhost:http" for --listen: want host:port, such as 127.0.0.1:8080 or :8080, or "" for no HTTP`},
		{args: []string{"--connect=http://r/ws"}, want: `invalid value "http://r/ws" for --connect: want a ws://, wss://, tcp://, rs:// or unix: URL`},
		{args: []string{"--connect=ws:r"}, want: `invalid value "ws:r" for --connect: want a ws://, wss://, tcp://, rs:// or unix: URL`},
		{args: []string{"--debug=maybe"}, want: `invalid value "maybe" for --debug: want true or false`},
		{args: []string{"--max-items=1.5"}, want: `invalid value "1.5" for --max-items: want an integer`},
		{args: []string{"--small=256"}, want: `invalid value "256" for --small: want an integer from 0 to 255`},
		{args: []string{"--small=-1"}, want: `invalid value "-1" for --small: want an integer of 0 or more`},
		{args: []string{"--ratio=half"}, want: `invalid value "half" for --ratio: want a number`},
		{args: []string{"--color=mauve"}, want: `invalid value "mauve" for --color: unknown color "mauve": want red, green or blue`},
		{env: map[string]string{"SHOP_SHUTDOWN_TIMEOUT": "abc"}, want: `invalid value "abc" for SHOP_SHUTDOWN_TIMEOUT: want a duration such as 10s or 1m30s`},
		{env: map[string]string{"SHOP_LOG_FORMAT": "xml"}, want: `invalid value "xml" for SHOP_LOG_FORMAT: want text or json`},
		{env: map[string]string{"SHOP_LOG_LEVEL": "loud"}, want: `invalid value "loud" for SHOP_LOG_LEVEL: want debug, info, warn or error`},
		{env: map[string]string{"SHOP_DEBUG": ""}, want: `invalid value "" for SHOP_DEBUG: want true or false`},
		{env: map[string]string{"CURRENCY": "EUR", "SHOP_MAX_ITEMS": "ten"}, want: `invalid value "ten" for SHOP_MAX_ITEMS: want an integer`},
	}
	for _, tt := range tests {
		app, _ := newShop()
		res := runCLI(t, app, tt.env, tt.args...)
		want := "shop: " + tt.want + "\nrun 'shop --help' for usage\n"
		if res.code != 2 || res.ran || res.stderr != want {
			t.Errorf("%q %v: code %d, ran %v, stderr\n%s\nwant 2 and\n%s", tt.args, tt.env, res.code, res.ran, res.stderr, want)
		}
	}
}

func TestCLIGoodValues(t *testing.T) {
	for _, connect := range []string{"", "ws://r:8080/ws", "wss://r/ws", "tcp://r:8081", "rs://r:8081", "unix:///run/j.sock", "unix:j.sock"} {
		app := New("shop")
		if res := runCLI(t, app, nil, "--connect="+connect); res.code != 0 || res.settings.Connect != connect {
			t.Errorf("--connect=%s: code %d, stderr %q, connect %q", connect, res.code, res.stderr, res.settings.Connect)
		}
	}
	for _, listen := range []string{":8080", "127.0.0.1:0", "[::1]:9000"} {
		app := New("shop")
		if res := runCLI(t, app, nil, "--listen", listen); res.code != 0 || res.settings.Listen != listen {
			t.Errorf("--listen %s: code %d, stderr %q", listen, res.code, res.stderr)
		}
	}
}

func TestCLIUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--lisen=:1"}, "shop: unknown flag --lisen (did you mean --listen?)\nrun 'shop --help' for usage\n"},
		{[]string{"-x"}, "shop: unknown flag --x\nrun 'shop --help' for usage\n"},
		{[]string{"serve"}, "shop: unknown command \"serve\"\nrun 'shop --help' for usage\n"},
		{[]string{"rnu"}, "shop: unknown command \"rnu\" (did you mean \"run\"?)\nrun 'shop --help' for usage\n"},
		{[]string{"run", "now"}, "shop: unexpected argument \"now\": run takes no arguments\nrun 'shop --help' for usage\n"},
		{[]string{"--debug", "false"}, "shop: flag --debug takes its value after '=': --debug=false\nrun 'shop --help' for usage\n"},
		{[]string{"--realm"}, "shop: flag --realm needs a value\nrun 'shop --help' for usage\n"},
		{[]string{"---realm=x"}, "shop: bad flag syntax: ---realm=x\nrun 'shop --help' for usage\n"},
		{[]string{"help", "serve"}, "shop: unknown command \"serve\"\nrun 'shop help --help' for usage\n"},
		{[]string{"help", "--realm=x"}, "shop: unknown flag --realm\nrun 'shop help --help' for usage\n"},
	}
	for _, tt := range tests {
		app, _ := newShop()
		res := runCLI(t, app, nil, tt.args...)
		if res.code != 2 || res.ran || res.stderr != tt.want || res.stdout != "" {
			t.Errorf("%q: code %d, ran %v, stdout %q, stderr\n%s\nwant 2 and\n%s", tt.args, res.code, res.ran, res.stdout, res.stderr, tt.want)
		}
	}
}

func TestCLIFlagSyntax(t *testing.T) {
	for _, args := range [][]string{
		{"-realm", "x", "-debug"},
		{"--realm=x", "--debug=true"},
		{"run", "--realm", "x", "--debug", "--"},
	} {
		app := New("shop")
		res := runCLI(t, app, nil, args...)
		if res.code != 0 || !res.ran || res.settings.Realm != "x" || !res.settings.Debug {
			t.Errorf("%q: code %d, stderr %q, settings %+v", args, res.code, res.stderr, res.settings)
		}
	}
}

func TestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"run", "--help"}, {"help", "run"}, {"--realm=x", "-help"}} {
		app, _ := newShop()
		app.Flags().String("greeting", "hello", "what to `say`")
		res := runCLI(t, app, nil, args...)
		if res.code != 0 || res.ran || res.stderr != "" {
			t.Fatalf("%q: code %d, ran %v, stderr %q", args, res.code, res.ran, res.stderr)
		}
		var last int
		for _, want := range []string{
			"shop [run] [flags]",
			"shop help [command]",
			"--config file\n",
			"(env SHOP_CONFIG)",
			"--listen string\n        HTTP address; the embedded router serves WAMP at /ws on it (\"\" for no HTTP)\n        (default 127.0.0.1:8080, env SHOP_LISTEN)\n",
			"--debug\n",
			"(default 10s, env SHOP_SHUTDOWN_TIMEOUT)",
			"Settings of shop:",
			"--max-items int\n        most items in a cart\n        (default 10, env SHOP_MAX_ITEMS)\n",
			"--money string\n        (default EUR, env CURRENCY)\n",
			"--tags list\n        labels of the shop\n        (default new, env SHOP_TAGS)\n",
			"--poll duration\n        (default 1m0s, env SHOP_POLL)\n",
			"--level value\n        (default INFO, env SHOP_LEVEL)\n",
			"--speed int\n        (default 1, env SHOP_SPEED)\n",
			"--db-host string\n        (default localhost, env SHOP_DB_HOST)\n",
			"--db-port int\n        (env SHOP_DB_PORT)\n",
			"--greeting say\n        what to say\n        (default hello, env SHOP_GREETING)\n",
		} {
			i := strings.Index(res.stdout, want)
			if i < last {
				t.Errorf("%q: help lacks %q after the previous line:\n%s", args, want, res.stdout)
				break
			}
			last = i
		}
		if strings.Contains(res.stdout, "skipped") || strings.Contains(res.stdout, "hidden") {
			t.Errorf("help lists skipped fields:\n%s", res.stdout)
		}
	}

	app := New("shop")
	res := runCLI(t, app, nil, "help", "help")
	if want := "Usage:\n  shop help [command]   show this help, or a command's\n"; res.code != 0 || res.stdout != want {
		t.Errorf("help help: code %d, stdout %q, want %q", res.code, res.stdout, want)
	}
}

func TestCLIUserSettingTypes(t *testing.T) {
	app, cfg := newShop()
	env := map[string]string{
		"SHOP_TAGS":  "a, b,,c",
		"SHOP_LEVEL": "error",
		"SHOP_SMALL": "0x10",
		"CURRENCY":   "GBP",
	}
	res := runCLI(t, app, env, "--poll=1h30m", "--color", "red", "--verbose", "--db-host=db", "--ratio=2.5")
	if res.code != 0 {
		t.Fatalf("code %d, stderr %q", res.code, res.stderr)
	}
	got := fmt.Sprintf("%q %s %s %s %d %s %v %s %g", cfg.Tags, cfg.Level, cfg.Poll, cfg.Color, cfg.Small, cfg.Currency, cfg.Verbose, cfg.DB.Host, cfg.Ratio)
	if want := `["a" "b" "c"] ERROR 1h30m0s red 16 GBP true db 2.5`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// A list given on the command line replaces the default, it does not
	// append to it.
	app, cfg = newShop()
	if res := runCLI(t, app, nil, "--tags=x,y"); res.code != 0 || strings.Join(cfg.Tags, "|") != "x|y" {
		t.Errorf("code %d, tags %q", res.code, cfg.Tags)
	}
	app, cfg = newShop()
	if res := runCLI(t, app, nil, "--tags="); res.code != 0 || len(cfg.Tags) != 0 {
		t.Errorf("code %d, tags %q", res.code, cfg.Tags)
	}
}

type embedded struct{ Region string }

type textStruct struct{ s string }

func (t *textStruct) UnmarshalText(b []byte) error { t.s = string(b); return nil }

func TestCLIUserSettingNames(t *testing.T) {
	cfg := struct {
		embedded
		MaxItems  int
		HTTPPort  int
		UserID    string
		OAuthURL  string
		Cache     struct{ TTL time.Duration } `flag:"c"`
		Addr      textStruct                  // a struct, but a TextUnmarshaler
		Secret    string                      `env:"SHOP_SECRET_FILE" flag:"secret-file"`
		Snake_Key string
	}{}
	app := New("my-shop.v2")
	app.AddSettings(&cfg)
	res := runCLI(t, app, nil, "--help")
	for _, want := range []string{
		"--region string\n        (env MY_SHOP_V2_REGION)",
		"--max-items int\n        (env MY_SHOP_V2_MAX_ITEMS)",
		"--http-port int",
		"--user-id string",
		"--o-auth-url string",
		"--c-ttl duration\n        (env MY_SHOP_V2_C_TTL)",
		"--addr value",
		"--secret-file string\n        (env SHOP_SECRET_FILE)",
		"--snake-key string",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, res.stdout)
		}
	}
	res = runCLI(t, app, map[string]string{"MY_SHOP_V2_LISTEN": ":1", "MY_SHOP_V2_C_TTL": "5s"}, "--addr=x:1", "--region", "eu")
	if res.code != 0 || res.settings.Listen != ":1" || cfg.Cache.TTL != 5*time.Second || cfg.Addr.s != "x:1" || cfg.Region != "eu" {
		t.Errorf("code %d, stderr %q, listen %q, %+v", res.code, res.stderr, res.settings.Listen, cfg)
	}
}

func TestCLIKebab(t *testing.T) {
	for name, want := range map[string]string{
		"MaxItems": "max-items",
		"HTTPPort": "http-port",
		"UserID":   "user-id",
		"DB":       "db",
		"Port2":    "port2",
		"V2Name":   "v2-name",
		"A_B":      "a-b",
		"a":        "a",
	} {
		if got := kebab(name); got != want {
			t.Errorf("kebab(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestCLIBadDeclarations(t *testing.T) {
	var n int
	tests := []struct {
		name string
		ptr  any
		want string
	}{
		{"not a pointer", shopSettings{}, "junction: AddSettings(junction.shopSettings): want a non-nil pointer to a struct"},
		{"nil pointer", (*shopSettings)(nil), "junction: AddSettings(*junction.shopSettings): want a non-nil pointer to a struct"},
		{"pointer to int", &n, "junction: AddSettings(*int): want a non-nil pointer to a struct"},
		{"nil", nil, "junction: AddSettings(<nil>): want a non-nil pointer to a struct"},
		{"map field", &struct{ M map[string]int }{}, "junction: AddSettings(*struct { M map[string]int }): field M: unsupported type map[string]int"},
		{"pointer field", &struct{ P *int }{}, "junction: AddSettings(*struct { P *int }): field P: unsupported type *int"},
		{"nested bad field", &struct{ DB struct{ C chan int } }{}, "junction: AddSettings(*struct { DB struct { C chan int } }): field DB.C: unsupported type chan int"},
		{"float32", &struct{ F float32 }{}, "junction: AddSettings(*struct { F float32 }): field F: unsupported type float32"},
		{"built-in", &struct{ Listen string }{}, "junction: AddSettings(*struct { Listen string }): field Listen: --listen is a built-in flag"},
		{"config", &struct{ Config string }{}, "junction: AddSettings(*struct { Config string }): field Config: --config is a built-in flag"},
		{"help", &struct{ H bool }{}, "junction: AddSettings(*struct { H bool }): field H: --h is a built-in flag"},
		{"twice in one struct", &struct {
			A string `flag:"x"`
			B string `flag:"x"`
		}{}, "junction: AddSettings(*struct { A string \"flag:\\\"x\\\"\"; B string \"flag:\\\"x\\\"\" }): field B: --x is declared twice"},
		{"same env", &struct {
			A string `flag:"a-b"`
			B string `flag:"a_b"`
		}{}, "junction: AddSettings(*struct { A string \"flag:\\\"a-b\\\"\"; B string \"flag:\\\"a_b\\\"\" }): field B: --a-b and --a_b have the same environment variable SHOP_A_B"},
		{"bad name", &struct {
			A string `flag:"a b"`
		}{}, "junction: AddSettings(*struct { A string \"flag:\\\"a b\\\"\" }): field A: bad flag name \"a b\": want letters, digits, '-', '_' or '.'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := New("shop")
			app.AddSettings(tt.ptr)
			if len(app.setupErrs) != 1 || app.setupErrs[0].Error() != tt.want {
				t.Errorf("setup errors %q, want %q", app.setupErrs, tt.want)
			}
			res := runCLI(t, app, nil, "--help")
			if res.code != 2 || res.ran || res.stderr != "shop: "+tt.want+"\n" {
				t.Errorf("code %d, ran %v, stderr %q; want 2 and %q", res.code, res.ran, res.stderr, "shop: "+tt.want+"\n")
			}
		})
	}

	t.Run("twice", func(t *testing.T) {
		app, _ := newShop()
		app.AddSettings(&struct{ MaxItems int }{})
		app.AddSettings(&struct{ Listen string }{})
		res := runCLI(t, app, nil)
		want := "shop: junction: AddSettings(*struct { MaxItems int }): field MaxItems: --max-items is declared twice\n" +
			"shop: junction: AddSettings(*struct { Listen string }): field Listen: --listen is a built-in flag\n"
		if res.code != 2 || res.stderr != want {
			t.Errorf("code %d, stderr\n%s\nwant\n%s", res.code, res.stderr, want)
		}
	})
}

func TestCLIRawFlags(t *testing.T) {
	app, cfg := newShop()
	greeting := app.Flags().String("greeting", "hello", "what to say")
	workers := app.Flags().Int("workers", 1, "worker count")
	dry := app.Flags().Bool("dry-run", false, "change nothing")
	env := map[string]string{"SHOP_WORKERS": "4", "SHOP_GREETING": "hi"}
	file := writeFile(t, "s.yaml", "greeting: hey\ndry-run: true\nmax-items: 3\n")
	res := runCLI(t, app, env, "--greeting=bonjour", "--config", file)
	if res.code != 0 || *greeting != "bonjour" || *workers != 4 || !*dry || cfg.MaxItems != 3 {
		t.Errorf("code %d, stderr %q, greeting %q, workers %d, dry-run %v, max-items %d", res.code, res.stderr, *greeting, *workers, *dry, cfg.MaxItems)
	}

	app, _ = newShop()
	app.Flags().Int("workers", 1, "worker count")
	res = runCLI(t, app, map[string]string{"SHOP_WORKERS": "many"})
	if want := "shop: invalid value \"many\" for SHOP_WORKERS: parse error\nrun 'shop --help' for usage\n"; res.code != 2 || res.stderr != want {
		t.Errorf("code %d, stderr %q, want %q", res.code, res.stderr, want)
	}

	// A repeatable flag takes a list in the file.
	app = New("shop")
	var names stringList
	app.Flags().Var(&names, "name", "a name, repeatable")
	res = runCLI(t, app, nil, "--config", writeFile(t, "s.yaml", "name: [a, b]\n"))
	if res.code != 0 || strings.Join(names, ",") != "a,b" {
		t.Errorf("code %d, stderr %q, names %q", res.code, res.stderr, names)
	}
	names = nil
	res = runCLI(t, app, nil, "--name=x", "--name", "y")
	if res.code != 0 || strings.Join(names, ",") != "x,y" {
		t.Errorf("code %d, stderr %q, names %q", res.code, res.stderr, names)
	}

	for _, clash := range []string{"listen", "max-items", "config", "help"} {
		app, _ = newShop()
		app.Flags().String(clash, "", "")
		res = runCLI(t, app, nil, "--help")
		if res.code != 2 || !strings.HasPrefix(res.stderr, "shop: junction: Flags: --"+clash+" is") {
			t.Errorf("flag %s: code %d, stderr %q", clash, res.code, res.stderr)
		}
	}
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func TestCLIDebugImpliesLogLevel(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "info"},
		{[]string{"--debug"}, nil, "debug"},
		{nil, map[string]string{"SHOP_DEBUG": "1"}, "debug"},
		{[]string{"--debug", "--log-level=warn"}, nil, "warn"},
		{[]string{"--debug"}, map[string]string{"SHOP_LOG_LEVEL": "error"}, "error"},
		{[]string{"--debug=false"}, nil, "info"},
	}
	for _, tt := range tests {
		app := New("shop")
		res := runCLI(t, app, tt.env, tt.args...)
		if res.code != 0 || res.settings.LogLevel != tt.want {
			t.Errorf("%q %v: code %d, log level %q, want %q", tt.args, tt.env, res.code, res.settings.LogLevel, tt.want)
		}
	}
}

func TestCLIRunResult(t *testing.T) {
	app := New("shop")
	var stderr strings.Builder
	app.cli.serve = func(context.Context) error { return errors.New("listen tcp :80: permission denied") }
	code := app.main(context.Background(), nil, io.Discard, &stderr, func(string) (string, bool) { return "", false })
	if want := "shop: listen tcp :80: permission denied\n"; code != 1 || stderr.String() != want {
		t.Errorf("code %d, stderr %q; want 1, %q", code, stderr.String(), want)
	}

	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	app.cli.serve = func(got context.Context) error {
		if got.Value(key{}) != "v" {
			return errors.New("not Main's context")
		}
		return nil
	}
	if code := app.main(ctx, nil, io.Discard, &stderr, func(string) (string, bool) { return "", false }); code != 0 {
		t.Errorf("code %d, stderr %q", code, stderr.String())
	}
}

// A command added to the table gets its flags, arguments and help.
func TestCLICommandTable(t *testing.T) {
	var out string
	var ran []string
	scaffold := &command{
		name:    "scaffold",
		summary: "write a scaffold's files",
		args:    "NAME...",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "out", ".", "`directory` to write to")
		},
		run: func(ctx context.Context, inv *invocation) error {
			ran = inv.args
			return nil
		},
	}
	call := func(args ...string) (code int, stdout, stderr string) {
		var o, e strings.Builder
		inv := &invocation{
			app:       New("shop"),
			cmds:      append(commands(), scaffold),
			stdout:    &o,
			stderr:    &e,
			lookupEnv: func(string) (string, bool) { return "", false },
		}
		code = inv.main(context.Background(), args)
		return code, o.String(), e.String()
	}

	if code, _, stderr := call("scaffold", "--out", "/tmp/x", "a", "b"); code != 0 || out != "/tmp/x" || strings.Join(ran, " ") != "a b" {
		t.Errorf("code %d, stderr %q, out %q, args %q", code, stderr, out, ran)
	}
	if code, _, stderr := call("scaffold", "--listen=:1"); code != 2 || stderr != "shop: unknown flag --listen\nrun 'shop scaffold --help' for usage\n" {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
	want := "Usage:\n  shop scaffold [flags] NAME...   write a scaffold's files\n\n" +
		"Flags of scaffold:\n  --out directory\n        directory to write to\n        (default .)\n"
	for _, args := range [][]string{{"help", "scaffold"}, {"scaffold", "-h"}} {
		if code, stdout, _ := call(args...); code != 0 || stdout != want {
			t.Errorf("%q: code %d, stdout\n%s\nwant\n%s", args, code, stdout, want)
		}
	}
	if _, stdout, _ := call("-h"); !strings.Contains(stdout, "  shop scaffold [flags] NAME...   write a scaffold's files\n") {
		t.Errorf("help lacks the command:\n%s", stdout)
	}
}

// FuzzCLISettingsFile checks that no settings file makes Main panic or
// fail without saying why.
func FuzzCLISettingsFile(f *testing.F) {
	f.Add("listen: :1\nmax-items: 3\ntags: [a, b]\ndb:\n  host: x\n")
	f.Add(`{"realm": "r", "poll": "1s", "color": "red"}`)
	f.Add("a: &x [1]\nb: *x\n")
	f.Add("- 1\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(dir, "s.yaml")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		app, _ := newShop()
		res := runCLI(t, app, nil, "--config", path)
		if res.code != 0 && (res.code != 2 || !strings.HasPrefix(res.stderr, "shop: ")) {
			t.Errorf("code %d, stderr %q", res.code, res.stderr)
		}
	})
}

// FuzzCLIArgs checks that no command line makes Main panic or fail
// without saying why; args are separated by NUL.
func FuzzCLIArgs(f *testing.F) {
	f.Add("--listen\x00:1\x00--tags=a,b")
	f.Add("help\x00run")
	f.Add("run\x00--debug\x00false")
	f.Add("--\x00x")
	f.Fuzz(func(t *testing.T, line string) {
		app, _ := newShop()
		res := runCLI(t, app, nil, strings.Split(line, "\x00")...)
		if res.code != 0 && (res.code != 2 || !strings.HasPrefix(res.stderr, "shop: ")) {
			t.Errorf("code %d, stderr %q", res.code, res.stderr)
		}
	})
}

// pollSettings validates itself: Main reports its error as a usage
// mistake.
type pollSettings struct {
	Every time.Duration `help:"poll period"`
}

func (p *pollSettings) Validate() error {
	if p.Every < time.Second {
		return fmt.Errorf("--every %s: want at least 1s", p.Every)
	}
	return nil
}

func TestCLIValidateUserSettings(t *testing.T) {
	app := New("feeds")
	cfg := &pollSettings{Every: time.Minute}
	app.AddSettings(cfg)
	res := runCLI(t, app, nil, "--every", "10ms")
	if res.code != 2 || res.ran || !strings.Contains(res.stderr, "--every 10ms: want at least 1s") {
		t.Fatalf("code %d, ran %v, stderr %q", res.code, res.ran, res.stderr)
	}
	if res := runCLI(t, app, map[string]string{"FEEDS_EVERY": "5s"}); res.code != 0 || !res.ran || cfg.Every != 5*time.Second {
		t.Fatalf("valid setting: code %d, ran %v, every %s, stderr %q", res.code, res.ran, cfg.Every, res.stderr)
	}
}

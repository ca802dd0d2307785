package junction

import (
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// wantIn checks that out has each of want.
func wantIn(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in:\n%s", w, out)
		}
	}
}

func TestTemplateNginx(t *testing.T) {
	static := t.TempDir()
	app := New("shop")
	app.HTTP.Serve("/static/", static, AllowIndex())
	app.HTTP.ServeFS("/embedded/", fstest.MapFS{"a.txt": {Data: []byte("a")}}) // the app serves it, not nginx
	for _, args := range [][]string{
		{"template", "nginx", "--listen", "127.0.0.1:9000", "--server-name", "example.org"},
		{"template", "--listen", "127.0.0.1:9000", "--server-name=example.org", "nginx"}, // flags before KIND
	} {
		res := runCLI(t, app, nil, args...)
		if res.code != 0 || res.ran {
			t.Fatalf("%q: exit %d, ran %v: %s", args, res.code, res.ran, res.stderr)
		}
		wantIn(t, res.stdout,
			"upstream junction_shop {",
			`server "127.0.0.1:9000";`,
			`server_name "example.org";`,
			`location = "/ws" {`,
			"proxy_set_header Upgrade $http_upgrade;",
			`location ^~ "/static/" {`,
			`alias "`+static+`/";`,
			"autoindex on;",
			`location = "/metrics" {`,
		)
		if strings.Contains(res.stdout, "/embedded/") {
			t.Errorf("nginx serves a ServeFS tree:\n%s", res.stdout)
		}
	}
}

func TestTemplateSettings(t *testing.T) {
	config := writeFile(t, "shop.yaml", "listen: 127.0.0.1:9003\nshutdown-timeout: 30s\nrealm: filerealm\nmax-items: 7\n")
	app, _ := newShop()
	env := map[string]string{
		"SHOP_LISTEN":    "127.0.0.1:9002", // beats the file
		"SHOP_REALM":     "envrealm",
		"SHOP_MAX_ITEMS": "3",
		"CURRENCY":       "USD",
	}
	res := runCLI(t, app, env, "template", "systemd", "--config", config, "--binary", "/usr/local/bin/shop", "--money", "GBP", "--debug")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	abs, _ := filepath.Abs(config)
	wantIn(t, res.stdout,
		`ExecStart="/usr/local/bin/shop" "run" "--listen=127.0.0.1:9002" "--config=`+abs+`" "--realm=envrealm" "--debug=true" "--money=GBP"`+"\n",
		`Environment="SHOP_MAX_ITEMS=3"`,
		"TimeoutStopSec=35s", // the file's 30s and a margin
		"StateDirectory=shop",
	)
	for _, no := range []string{"--shutdown-timeout", "filerealm", "--log-level", "CURRENCY"} {
		if strings.Contains(res.stdout, no) {
			t.Errorf("%s is carried:\n%s", no, res.stdout)
		}
	}

	dir := t.TempDir()
	res = runCLI(t, New("shop", WithSettings(func(s *Settings) { s.Connect = "ws://router:8080/ws" })), nil,
		"template", "supervisord", "--data-dir", dir, "--binary", "/usr/local/bin/shop", "--user", "www", "--env", "A=1", "--restart", "always")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	wantIn(t, res.stdout,
		"command=/usr/local/bin/shop run --listen=127.0.0.1:8080 --data-dir="+dir+" --connect=ws://router:8080/ws\n",
		"user=www\n", `environment=A="1"`, "autorestart=true\n")
}

func TestTemplateKinds(t *testing.T) {
	for _, kind := range []string{"nginx", "systemd", "supervisord", "openrc", "docker", "alpine:openrc", "debian:systemd", "alpine:docker"} {
		t.Run(kind, func(t *testing.T) {
			res := runCLI(t, New("shop"), nil, "template", kind, "--binary", "/usr/local/bin/shop")
			if res.code != 0 || res.stdout == "" {
				t.Errorf("exit %d: %s", res.code, res.stderr)
			}
		})
	}
	res := runCLI(t, New("shop"), nil, "template", "docker", "--target", "alpine")
	wantIn(t, res.stdout, "FROM alpine:3")
}

func TestTemplateUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"template"}, "shop: template needs a KIND: nginx, systemd, supervisord, openrc, docker\n"},
		{[]string{"template", "ngnix"}, `shop: deploy: unknown kind "ngnix" (did you mean "nginx"?): want nginx, systemd, supervisord, openrc or docker`},
		{[]string{"template", "bsd:systemd"}, `bad target "bsd" for systemd: want debian`},
		{[]string{"template", "systemd", "--target", "alpine"}, "alpine runs services with openrc, not systemd: try alpine:openrc"},
		{[]string{"template", "nginx", "extra"}, `unexpected argument "extra": template takes one KIND`},
		{[]string{"template", "nginx", "--lisen", "x"}, `unknown flag --lisen (did you mean --listen?)`},
		{[]string{"template", "nginx", "--listen", ""}, "serves no HTTP"},
		{[]string{"template", "nginx", "--tls-cert", "c.pem"}, "both a certificate and a key"},
		{[]string{"template", "nginx", "--env", "novalue"}, "want NAME=value"},
	}
	for _, tt := range tests {
		res := runCLI(t, New("shop"), nil, tt.args...)
		if res.code != 2 || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit 2 with %q", tt.args, res.code, res.stderr, tt.want)
		}
	}
}

func TestTemplateHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "template"}, {"template", "--help"}, {"template", "nginx", "--help"}} {
		res := runCLI(t, New("shop"), nil, args...)
		if res.code != 0 {
			t.Fatalf("%q: exit %d: %s", args, res.code, res.stderr)
		}
		wantIn(t, res.stdout, "shop template [flags] KIND", "print a deployment file for KIND: nginx, systemd, supervisord, openrc, docker",
			"--server-name names", "--tls-cert file", "--tls-key file", "--user user", "--group group", "--binary path",
			"--target distribution", "--listen")
	}
	res := runCLI(t, New("shop"), nil, "help")
	wantIn(t, res.stdout, "shop template [flags] KIND")
}

package deploy

import (
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// facts returns the Facts of an ordinary app.
func facts() Facts {
	return Facts{
		App:         "shop",
		Binary:      "/usr/local/bin/shop",
		Listen:      "127.0.0.1:9000",
		WSPath:      "/ws",
		MetricsPath: "/metrics",
		WorkingDir:  "/srv/shop",
		Static:      []Static{{Prefix: "/static/", Dir: "/srv/shop/public"}},
		StopTimeout: 15 * time.Second,
	}
}

func render(t *testing.T, kind string, f Facts) string {
	t.Helper()
	out, err := Render(kind, f)
	if err != nil {
		t.Fatalf("Render(%q): %v", kind, err)
	}
	return string(out)
}

// wantLines checks that out has each line of want, trimmed of its
// indentation.
func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := make(map[string]bool)
	for l := range strings.SplitSeq(out, "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("no line %q in:\n%s", w, out)
		}
	}
}

func TestDeployKinds(t *testing.T) {
	want := []string{"nginx", "systemd", "supervisord", "openrc", "docker"}
	if got := Kinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("Kinds() = %q, want %q", got, want)
	}
}

func TestDeployNginxLines(t *testing.T) {
	f := facts()
	f.ServerName = "example.org www.example.org"
	out := render(t, "nginx", f)
	wantLines(t, out,
		"upstream junction_shop {",
		`server "127.0.0.1:9000";`,
		`server_name "example.org" "www.example.org";`,
		"map $http_upgrade $junction_shop_connection {",
		`location = "/ws" {`,
		"proxy_set_header Upgrade $http_upgrade;",
		"proxy_set_header Connection $junction_shop_connection;",
		"proxy_read_timeout 1h;",
		"proxy_send_timeout 1h;",
		"proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
		"proxy_set_header X-Forwarded-Proto $scheme;",
		"proxy_set_header X-Forwarded-Host $host;",
		`location ^~ "/static/" {`,
		`alias "/srv/shop/public/";`,
		`location = "/metrics" {`,
		"location / {",
		"proxy_pass http://junction_shop;",
		"listen 80;",
	)
	if strings.Contains(out, "ssl") {
		t.Errorf("TLS without a certificate:\n%s", out)
	}

	f.TLSCert, f.TLSKey = "/etc/ssl/shop.pem", "/etc/ssl/shop.key"
	f.Listen = ":9000"
	out = render(t, "nginx", f)
	wantLines(t, out,
		"listen 443 ssl;",
		`ssl_certificate "/etc/ssl/shop.pem";`,
		`ssl_certificate_key "/etc/ssl/shop.key";`,
		"return 301 https://$host$request_uri;",
		`server "127.0.0.1:9000";`, // a wildcard host is reached on loopback
	)

	f = facts()
	f.WSPath, f.MetricsPath = "", ""
	f.Listen = "[::]:9000"
	f.Static = []Static{{Prefix: "/", Dir: "/srv/www", Index: true}}
	out = render(t, "nginx", f)
	wantLines(t, out, `server "[::1]:9000";`, `root "/srv/www";`, "autoindex on;",
		"try_files $uri $uri/ @junction_shop;", "location @junction_shop {", "server_name _;")
	for _, no := range []string{"location = ", "Upgrade"} {
		if strings.Contains(out, no) {
			t.Errorf("output has %q with no WebSocket and no metrics:\n%s", no, out)
		}
	}
	if got := render(t, "alpine:nginx", facts()); !strings.Contains(got, "/etc/nginx/http.d/shop.conf") {
		t.Errorf("alpine's nginx file is not in http.d:\n%s", got)
	}
}

func TestDeploySystemdLines(t *testing.T) {
	out := render(t, "systemd", facts())
	wantLines(t, out,
		"[Service]",
		"Type=simple",
		`ExecStart="/usr/local/bin/shop" "run" "--listen=127.0.0.1:9000"`,
		"DynamicUser=yes",
		"StateDirectory=shop",
		"WorkingDirectory=/srv/shop",
		"Restart=on-failure",
		"KillSignal=SIGTERM",
		"TimeoutStopSec=15s",
		"NoNewPrivileges=yes",
		"ProtectSystem=strict",
		"PrivateTmp=yes",
		"WantedBy=multi-user.target",
	)
	f := facts()
	f.DataDir, f.User, f.Group, f.Restart = "/data/shop", "shop", "web", "always"
	f.Listen = "0.0.0.0:443"
	f.StopTimeout = 20*time.Second + time.Millisecond
	f.Env = []string{"Z=1", "A=two words"}
	out = render(t, "systemd", f)
	wantLines(t, out,
		`ExecStart="/usr/local/bin/shop" "run" "--listen=0.0.0.0:443" "--data-dir=/data/shop"`,
		"User=shop", "Group=web", `ReadWritePaths="/data/shop"`, "Restart=always",
		"TimeoutStopSec=21s", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
		`Environment="A=two words"`, `Environment="Z=1"`,
	)
	for _, no := range []string{"DynamicUser", "StateDirectory"} {
		if strings.Contains(out, no) {
			t.Errorf("%s with a data dir of its own:\n%s", no, out)
		}
	}
	if i, j := strings.Index(out, `"A=`), strings.Index(out, `"Z=`); i > j {
		t.Errorf("environment not sorted:\n%s", out)
	}
}

func TestDeploySupervisordLines(t *testing.T) {
	f := facts()
	f.Env = []string{"B=x,y", "A=50%"}
	out := render(t, "supervisord", f)
	wantLines(t, out,
		"[program:shop]",
		"command=/usr/local/bin/shop run --listen=127.0.0.1:9000 --data-dir=/var/lib/shop",
		"directory=/srv/shop",
		"user=shop",
		`environment=A="50%%",B="x,y"`,
		"autorestart=unexpected",
		"stopsignal=TERM",
		"stopwaitsecs=15",
		"stdout_logfile=/dev/stdout",
		"stdout_logfile_maxbytes=0",
		"redirect_stderr=true",
	)
	f.Restart = "always"
	if out := render(t, "alpine:supervisord", f); !strings.Contains(out, "autorestart=true") || !strings.Contains(out, "/etc/supervisor.d/shop.ini") {
		t.Errorf("always, on alpine:\n%s", out)
	}
}

func TestDeployOpenrcLines(t *testing.T) {
	out := render(t, "openrc", facts())
	wantLines(t, out,
		"#!/sbin/openrc-run",
		"supervisor=supervise-daemon",
		"command=/usr/local/bin/shop",
		"command_args='run --listen=127.0.0.1:9000 --data-dir=/var/lib/shop'",
		"command_user=shop:shop",
		"directory=/srv/shop",
		"output_log=/var/log/shop.log",
		"error_log=/var/log/shop.log",
		"retry=TERM/15/KILL/5",
		"need net",
	)
}

func TestDeployDockerLines(t *testing.T) {
	f := facts()
	f.Config = "/srv/shop/conf/shop.yaml"
	f.Env = []string{`MSG=say "$HOME"`}
	out := render(t, "docker", f)
	wantLines(t, out,
		"FROM golang:1 AS build",
		"RUN CGO_ENABLED=0 go build -trimpath -o /app/shop .",
		"FROM debian:stable-slim",
		"USER shop:shop",
		"EXPOSE 9000",
		`VOLUME ["/var/lib/shop"]`,
		"STOPSIGNAL SIGTERM",
		`COPY --from=build ["/src/public","/app/public"]`,
		`COPY --from=build ["/src/conf/shop.yaml","/app/conf/shop.yaml"]`,
		`ENV MSG="say \"\$HOME\""`,
		`ENTRYPOINT ["/app/shop","run","--listen=0.0.0.0:9000","--data-dir=/var/lib/shop","--config=/app/conf/shop.yaml"]`,
	)
	out = render(t, "docker", Facts{App: "shop", Target: "alpine", Listen: "127.0.0.1:9000"})
	wantLines(t, out, "FROM golang:1-alpine AS build", "FROM alpine:3",
		"RUN addgroup -S shop && adduser -S -D -H -G shop -s /sbin/nologin shop")
}

// nasty is a value that breaks each syntax if it is not quoted.
const nasty = `it's a "dir" {x}; #y %n \z`

func TestDeployQuoting(t *testing.T) {
	f := facts()
	f.App = `my "shop"; rm -rf /`
	f.Binary = "/opt/a {x}; #y %n $z/bin"
	f.WorkingDir = "/srv/a b"
	f.Args = []string{"--realm=" + nasty}
	out := render(t, "systemd", f)
	wantLines(t, out,
		`ExecStart="/opt/a {x}; #y %%n $z/bin" "run" "--listen=127.0.0.1:9000" "--realm=it's a \"dir\" {x}; #y %%n \\z"`,
		`Description=my "shop"; rm -rf / (Junction app)`,
		"StateDirectory=my--shop---rm--rf--",
	)
	f.Args = []string{"--realm=$HOME"}
	wantLines(t, render(t, "systemd", f), `ExecStart="/opt/a {x}; #y %%n $z/bin" "run" "--listen=127.0.0.1:9000" "--realm=$$HOME"`)

	// Docker's exec form is JSON.
	f.Args = []string{"--realm=" + nasty}
	out = render(t, "docker", f)
	var argv []string
	for l := range strings.SplitSeq(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "ENTRYPOINT "); ok {
			if err := json.Unmarshal([]byte(rest), &argv); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []string{"/app/my--shop---rm--rf--", "run", "--listen=0.0.0.0:9000", "--data-dir=/var/lib/my--shop---rm--rf--", "--realm=" + nasty}; !reflect.DeepEqual(argv, want) {
		t.Errorf("ENTRYPOINT %q, want %q", argv, want)
	}
}

// TestDeployOpenrcEval runs the script's variables through a shell as
// openrc does: assigned when the script is sourced, then expanded
// unquoted into eval by supervise-daemon's start function.
func TestDeployOpenrcEval(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	f := facts()
	f.Binary = "/opt/" + `it's a "dir" {x}; #y %n \z  two  spaces $(id)` + "/bin"
	f.WorkingDir = "/srv/`id` $HOME"
	f.Args = []string{"--realm=" + nasty, "--empty="}
	f.Env = []string{`GREETING=it's "$HOME"`}
	script := render(t, "openrc", f)
	// The script's body is shell: keep its assignments, not its
	// functions' calls.
	test := script + `
printargs() { for a in "$@"; do printf '%s\n' "$a"; done; }
eval printargs ${directory:+--chdir} $directory ${command_user+--user} $command_user $command -- $command_args
printf '%s\n' "$GREETING"
`
	out, err := exec.Command(sh, "-c", test).CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	want := []string{"--chdir", f.WorkingDir, "--user", "shop:shop", f.Binary, "--",
		"run", "--listen=127.0.0.1:9000", "--data-dir=/var/lib/shop", "--realm=" + nasty, "--empty=",
		`it's "$HOME"`}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("the shell read\n%q\nwant\n%q", got, want)
	}
}

func TestDeployErrors(t *testing.T) {
	tests := []struct {
		name, kind string
		edit       func(*Facts)
		err        error
		want       string
	}{
		{"unknown kind", "ngnix", nil, ErrUnknownKind, `unknown kind "ngnix" (did you mean "nginx"?): want nginx, systemd, supervisord, openrc or docker`},
		{"unknown kind far", "k8s", nil, ErrUnknownKind, `unknown kind "k8s": want nginx`},
		{"systemd on bsd", "bsd:systemd", nil, ErrBadTarget, `bad target "bsd" for systemd: want debian`},
		{"systemd on alpine", "alpine:systemd", nil, ErrBadTarget, "alpine runs services with openrc, not systemd: try alpine:openrc"},
		{"openrc on debian", "openrc", func(f *Facts) { f.Target = "debian" }, ErrBadTarget, "debian runs services with systemd, not openrc: try debian:systemd"},
		{"typo target", "docker", func(f *Facts) { f.Target = "alpin" }, ErrBadTarget, `(did you mean "alpine"?)`},
		{"two targets", "alpine:docker", func(f *Facts) { f.Target = "debian" }, ErrBadTarget, `"alpine" in "alpine:docker", but the target is "debian"`},
		{"no app", "systemd", func(f *Facts) { f.App = "" }, ErrBadFacts, "no app name"},
		{"relative binary", "systemd", func(f *Facts) { f.Binary = "bin/shop" }, ErrBadFacts, "want an absolute path"},
		{"no binary", "supervisord", func(f *Facts) { f.Binary = "" }, ErrBadFacts, "no binary"},
		{"newline", "systemd", func(f *Facts) { f.Args = []string{"--realm=a\nExecStartPre=/bin/evil"} }, ErrBadFacts, "control character"},
		{"bad user", "systemd", func(f *Facts) { f.User = "root\nx" }, ErrBadFacts, "user"},
		{"user with space", "openrc", func(f *Facts) { f.User = "a b" }, ErrBadFacts, `user "a b"`},
		{"bad env", "systemd", func(f *Facts) { f.Env = []string{"A B=1"} }, ErrBadFacts, "NAME=value"},
		{"bad listen", "nginx", func(f *Facts) { f.Listen = "localhost" }, ErrBadFacts, "want host:port"},
		{"no HTTP", "nginx", func(f *Facts) { f.Listen = "" }, ErrBadFacts, "serves no HTTP"},
		{"cert without key", "nginx", func(f *Facts) { f.TLSCert = "/c.pem" }, ErrBadFacts, "both a certificate and a key"},
		{"dollar for nginx", "nginx", func(f *Facts) { f.Static[0].Dir = "/srv/$host" }, ErrBadFacts, "cannot carry a '$'"},
		{"server name", "nginx", func(f *Facts) { f.ServerName = "a;b" }, ErrBadFacts, `server name "a;b"`},
		{"restart", "systemd", func(f *Facts) { f.Restart = "never" }, ErrBadFacts, "on-failure or always"},
		{"signal", "systemd", func(f *Facts) { f.StopSignal = "SIGKILL" }, ErrBadFacts, "SIGTERM or SIGINT"},
		{"comment for supervisord", "supervisord", func(f *Facts) { f.Args = []string{"--realm=a ;b"} }, ErrBadFacts, "starts a comment"},
		{"quote in supervisord env", "supervisord", func(f *Facts) { f.Env = []string{`A=say "x"`} }, ErrBadFacts, "cannot carry its quotes"},
		{"glob for openrc", "openrc", func(f *Facts) { f.Args = []string{"--realm=*"} }, ErrBadFacts, "*?["},
		{"backslash in systemd path", "systemd", func(f *Facts) { f.WorkingDir = `/srv/a\b` }, ErrBadFacts, "backslash"},
		{"quote in systemd binary", "systemd", func(f *Facts) { f.Binary = `/opt/it's/bin` }, ErrBadFacts, `binary "/opt/it's/bin": quotes and backslashes are not allowed`},
		{"quote in systemd data dir", "systemd", func(f *Facts) { f.DataDir = `/srv/"d"` }, ErrBadFacts, "quotes"},
		{"dollar for docker", "docker", func(f *Facts) { f.Config = "/srv/shop/$x.yaml" }, ErrBadFacts, "'$'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := facts()
			if tt.edit != nil {
				tt.edit(&f)
			}
			out, err := Render(tt.kind, f)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render = %v\n%s\nwant %v with %q", err, out, tt.err, tt.want)
			}
		})
	}
}

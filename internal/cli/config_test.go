package cli

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/internal/testcert"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkConfig parses and validates content as the file node.yaml.
func checkConfig(t *testing.T, dir, content string) (*configFile, []listenerSpec, error) {
	t.Helper()
	cf, err := parseConfig(filepath.Join(dir, "node.yaml"), []byte(content))
	if err != nil {
		return nil, nil, err
	}
	specs, err := cf.validate()
	return cf, specs, err
}

// TestConfigErrors: each bad file is refused with the line, column and
// field at fault.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Leaf(2, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "good.crt", string(certPEM))
	writeFile(t, dir, "good.key", string(keyPEM))
	writeFile(t, dir, "bad.crt", "not a certificate")
	const ws = "listeners:\n  - type: websocket\n    address: 127.0.0.1:0\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"empty", "", "node.yaml: the file is empty"},
		{"syntax", "listeners:\n  - type: websocket\n   address: x\n", "node.yaml:1: did not find expected '-' indicator"},
		{"not a mapping", "- a\n- b\n", "node.yaml:1:1: the file must hold a mapping"},
		{"two documents", ws + "---\nrealms: []\n", "node.yaml:4: a second YAML document"},
		{"unknown key", ws + "realm:\n  - name: x\n", `node.yaml:4: unknown key "realm"`},
		{"unknown listener key", ws + "    adress: 127.0.0.1:1\n", `node.yaml:4: unknown key "adress"`},
		{"unknown realm key", ws + "realms:\n  - name: r\n    anonymus: {}\n", `node.yaml:6: unknown key "anonymus"`},
		{"duplicate key", ws + "    address: 127.0.0.1:1\n", `node.yaml:4: mapping key "address" already defined at line 3`},
		{"wrong type", ws + "limits:\n  max_sessions: lots\n", "node.yaml:5: cannot unmarshal !!str `lots` into an integer"},
		{"bad duration", ws + "goodbye_timeout: 3 parsecs\n", "node.yaml:4: cannot unmarshal !!str `3 parsecs` into a duration such as 10s or 1m30s"},
		{"list expected", "listeners: 3\n", "node.yaml:1: cannot unmarshal !!int `3` into a list"},
		{"mapping expected", ws + "limits: [1]\n", "node.yaml:4: cannot unmarshal !!seq into a mapping"},
		{"null value", ws + "realms:\n  - name: r\n    anonymous:\n", "node.yaml:6:5: realms[0].anonymous: no value"},
		{"no type", "listeners:\n  - address: 127.0.0.1:0\n", "node.yaml:2:5: listeners[0].type: missing: websocket or rawsocket"},
		{"bad type", "listeners:\n  - type: http\n    address: 127.0.0.1:0\n", `node.yaml:2:5: listeners[0].type: "http": want websocket or rawsocket`},
		{"no address", "listeners:\n  - type: websocket\n", "node.yaml:2:5: listeners[0].address: missing: HOST:PORT"},
		{"bad port", "listeners:\n  - type: rawsocket\n    address: 127.0.0.1:70000\n", `node.yaml:3:5: listeners[0].address: "127.0.0.1:70000": port "70000" is not a number`},
		{"no port", "listeners:\n  - type: websocket\n    address: localhost\n", `node.yaml:3:5: listeners[0].address: "localhost": want HOST:PORT`},
		{"unix websocket", "listeners:\n  - type: websocket\n    address: unix:/tmp/x.sock\n", "only rawsocket listeners take unix:PATH"},
		{"rawsocket path", "listeners:\n  - type: rawsocket\n    address: 127.0.0.1:0\n    path: /ws\n", "node.yaml:4:5: listeners[0].path: only websocket listeners have a path"},
		{"relative path", ws + "    path: ws\n", `node.yaml:4:5: listeners[0].path: "ws": want an absolute path`},
		{"metrics path", ws + "    path: /metrics\n", "listeners[0].path"},
		{"duplicate address", ws + "  - type: rawsocket\n    address: 127.0.0.1:9\n  - type: websocket\n    address: 127.0.0.1:9\n",
			"node.yaml:7:5: listeners[2].address: 127.0.0.1:9 is also listeners[1]'s address"},
		{"auth method", ws + "    auth_methods: [ticket, kerberos]\n", `node.yaml:4:28: listeners[0].auth_methods[1]: "kerberos": want anonymous, ticket, wampcra, cryptosign`},
		{"tls on unix", "listeners:\n  - type: rawsocket\n    address: unix:/tmp/j.sock\n    tls: {cert: good.crt, key: good.key}\n", "node.yaml:4:5: listeners[0].tls: a Unix socket listener has no TLS"},
		{"tls without key", ws + "    tls: {cert: good.crt}\n", "node.yaml:4:5: listeners[0].tls.key: missing"},
		{"tls missing file", ws + "    tls: {cert: nowhere.crt, key: good.key}\n", "node.yaml:4:5: listeners[0].tls: load certificate " + filepath.Join(dir, "nowhere.crt")},
		{"tls bad file", ws + "    tls:\n      cert: bad.crt\n      key: good.key\n", "node.yaml:4:5: listeners[0].tls: load certificate"},
		{"bad realm name", ws + "open_realms: [ok, \"bad realm\"]\n", `node.yaml:4:19: open_realms[1]: router: invalid realm name: "bad realm"`},
		{"realm twice", ws + "open_realms: [r]\nrealms:\n  - name: r\n    anonymous: {}\n", `node.yaml:6:5: realms[0].name: realm "r" is also open_realms[0]`},
		{"limits", ws + "limits:\n  message_rate: .nan\n", "node.yaml:5:3: limits.message_rate: message_rate NaN is not a number"},
		{"history", ws + "event_history:\n  - topic: a..b\n    limit: 3\n", `node.yaml:5:5: event_history[0].topic: topic "a..b" is not a valid URI for match exact`},
		{"log level", ws + "log:\n  level: loud\n", `node.yaml:5:3: log.level: "loud": want debug, info, warn or error`},
		{"log format", ws + "log: {format: xml}\n", `node.yaml:4:7: log.format: "xml": want text or json`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := checkConfig(t, dir, tc.file)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tc.want)) && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant one with %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), filepath.Join(dir, "node.yaml")) {
				t.Fatalf("error %q does not start with the file's path", err)
			}
		})
	}
}

// TestConfigRealmErrorsLocated: the router's checks of a realm are
// reported at the field they name, down to a role's permission or a
// principal. These messages come from the router's authentication and
// authorization validation.
func TestConfigRealmErrorsLocated(t *testing.T) {
	dir := t.TempDir()
	const head = "listeners:\n  - {type: websocket, address: 127.0.0.1:0}\nrealms:\n  - name: r\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"no method", head + "    roles: []\n", "node.yaml:4:5: realms[0]: "},
		{"permission", head + "    anonymous: {role: a}\n    roles:\n      - name: a\n        permissions:\n          - {uri: a.b, call: true}\n          - {uri: \"bad uri\", call: true}\n",
			`node.yaml:10:13: realms[0].roles[0].permissions[1]: uri "bad uri" is not a valid URI`},
		{"principal", head + "    ticket:\n      principals:\n        joe: {ticket: \"\", role: user}\n    roles: [{name: user}]\n",
			`node.yaml:7:9: realms[0].ticket.principals.joe: `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := checkConfig(t, dir, tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant one with %q", err, tc.want)
			}
		})
	}
}

// TestConfigJSON: a JSON file (tabs and all) reads as the same YAML.
func TestConfigJSON(t *testing.T) {
	yamlCfg, _, err := checkConfig(t, t.TempDir(), `
listeners:
  - type: websocket
    address: 127.0.0.1:0
    auth_methods: [ticket]
  - type: rawsocket
    address: unix:/tmp/junction-test.sock
open_realms: [realm1]
realms:
  - name: authrealm
    ticket:
      principals:
        joe: {ticket: secret-ticket, role: user}
    roles:
      - name: user
        permissions:
          - {uri: com.example., match: prefix, call: true, allow_disclose: false}
limits: {max_sessions: 100, message_rate: 50.5, hello_timeout: 5s}
event_history: [{topic: chat., match: prefix, limit: 10}]
transport: {max_message_size: 65536, ping_interval: 10s, park_after: 2s}
strict_uris: true
goodbye_timeout: 1s
log: {level: debug, format: json}
`)
	if err != nil {
		t.Fatal(err)
	}
	jsonCfg, _, err := checkConfig(t, t.TempDir(), `{
	"listeners": [
		{"type": "websocket", "address": "127.0.0.1:0", "auth_methods": ["ticket"]},
		{"type": "rawsocket", "address": "unix:/tmp/junction-test.sock"}
	],
	"open_realms": ["realm1"],
	"realms": [{
		"name": "authrealm",
		"ticket": {"principals": {"joe": {"ticket": "secret-ticket", "role": "user"}}},
		"roles": [{"name": "user", "permissions": [{"uri": "com.example.", "match": "prefix", "call": true, "allow_disclose": false}]}]
	}],
	"limits": {"max_sessions": 100, "message_rate": 50.5, "hello_timeout": "5s"},
	"event_history": [{"topic": "chat.", "match": "prefix", "limit": 10}],
	"transport": {"max_message_size": 65536, "ping_interval": "10s", "park_after": "2s"},
	"strict_uris": true,
	"goodbye_timeout": "1s",
	"log": {"level": "debug", "format": "json"}
}`)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(yamlCfg.cfg, jsonCfg.cfg) {
		t.Fatalf("YAML %+v\nJSON %+v", yamlCfg.cfg, jsonCfg.cfg)
	}
	no := false
	want := nodeConfig{
		Listeners: []listenerConfig{
			{Type: "websocket", Address: "127.0.0.1:0", AuthMethods: []string{"ticket"}},
			{Type: "rawsocket", Address: "unix:/tmp/junction-test.sock"},
		},
		OpenRealms: []string{"realm1"},
		Realms: []router.RealmConfig{{
			Name:   "authrealm",
			Ticket: &router.TicketAuth{Principals: map[string]router.TicketPrincipal{"joe": {Ticket: "secret-ticket", Role: "user"}}},
			Roles: []router.Role{{Name: "user", Permissions: []router.Permission{
				{URI: "com.example.", Match: "prefix", Call: true, AllowDisclose: &no}}}},
		}},
		Limits:         router.Limits{MaxSessions: 100, MessageRate: 50.5, HelloTimeout: 5 * time.Second},
		EventHistory:   []router.EventHistory{{Topic: "chat.", Match: wamp.MatchPrefix, Limit: 10}},
		Transport:      transport.Config{MaxMessageSize: 65536, PingInterval: 10 * time.Second, ParkAfter: 2 * time.Second},
		StrictURIs:     true,
		GoodbyeTimeout: time.Second,
		Log:            logConfig{Level: "debug", Format: "json"},
	}
	if !reflect.DeepEqual(yamlCfg.cfg, want) {
		t.Fatalf("decoded %+v\nwant    %+v", yamlCfg.cfg, want)
	}
}

// planFor parses args as junction router's flags and returns the plan,
// or the error of the flags or of the plan.
func planFor(t *testing.T, args ...string) (*plan, error) {
	t.Helper()
	fs := newFlagSet("junction router")
	var f routerFlags
	f.register(fs)
	if _, err := fs.parse(args); err != nil {
		return nil, err
	}
	f.parsed(fs)
	return f.plan()
}

// TestConfigFlagsOverride: flags given with --config override or add to
// the file, as the README says.
func TestConfigFlagsOverride(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "node.yaml", `
listeners:
  - {type: rawsocket, address: "127.0.0.1:7001"}
  - {type: websocket, address: "127.0.0.1:7002", path: /wamp, auth_methods: [ticket]}
  - {type: websocket, address: "127.0.0.1:7003"}
open_realms: [open]
realms: [{name: closed, anonymous: {}, roles: [{name: anonymous}]}]
event_history: [{topic: a, limit: 1}]
transport: {max_message_size: 1500, outbound_queue: 10}
log: {level: debug, format: json}
`)
	p, err := planFor(t, "--config", file)
	if err != nil {
		t.Fatal(err)
	}
	addrs := func(p *plan) (s []string) {
		for _, l := range p.listeners {
			s = append(s, l.kind+" "+l.address+l.path)
		}
		return s
	}
	if got := addrs(p); !reflect.DeepEqual(got, []string{"rawsocket 127.0.0.1:7001", "websocket 127.0.0.1:7002/wamp", "websocket 127.0.0.1:7003/ws"}) {
		t.Fatalf("listeners %v", got)
	}
	if p.logs.level != "debug" || p.logs.format != "json" || p.cfg.Transport.MaxMessageSize != 1500 || !reflect.DeepEqual(p.cfg.Realms, []string{"open"}) {
		t.Fatalf("plan %+v", p)
	}
	p, err = planFor(t, "--config", file, "--listen", "127.0.0.1:0", "--rawsocket", "unix:/tmp/j.sock", "--realm", "extra",
		"--event-history", "b=2", "--max-message-size", "2000", "--log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	if got := addrs(p); !reflect.DeepEqual(got, []string{"rawsocket 127.0.0.1:7001", "websocket 127.0.0.1:0/wamp", "websocket 127.0.0.1:7003/ws", "rawsocket /tmp/j.sock"}) {
		t.Fatalf("listeners %v", got)
	}
	if !reflect.DeepEqual(p.listeners[1].listener.AuthMethods, []string{"ticket"}) {
		t.Fatalf("--listen dropped the listener's policies: %+v", p.listeners[1])
	}
	if p.logs.level != "warn" || p.logs.format != "json" || p.cfg.Transport.MaxMessageSize != 2000 || p.cfg.Transport.OutboundQueue != 10 ||
		!reflect.DeepEqual(p.cfg.Realms, []string{"open", "extra"}) || len(p.cfg.EventHistory) != 2 {
		t.Fatalf("plan %+v", p)
	}

	// --listen adds a websocket listener to a file without one.
	noWS := writeFile(t, dir, "rs.yaml", "listeners: [{type: rawsocket, address: \"127.0.0.1:0\"}]\nopen_realms: [r]\n")
	if p, err = planFor(t, "--config", noWS, "--listen", "127.0.0.1:0"); err != nil || len(p.listeners) != 2 || p.listeners[1].path != "/ws" {
		t.Fatalf("plan %+v, %v", p, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config", writeFile(t, dir, "none.yaml", "open_realms: [r]\n")}, "no listener"},
		{[]string{"--config", writeFile(t, dir, "norealm.yaml", "listeners: [{type: websocket, address: \"127.0.0.1:0\"}]\n")}, "no realm"},
		{[]string{"--config", file, "--realm", "closed"}, "--realm closed: " + file + ":7:10: realms[0]: already configured"},
		{[]string{"--config", file, "--realm", "open"}, "--realm open: " + file + ":6:15: open_realms[0]: already an open realm"},
		{[]string{"--config", file, "--listen", "nowhere"}, `invalid value "nowhere" for --listen: want HOST:PORT`},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, "no such file"},
	} {
		_, err := planFor(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error with %q", tc.args, err, tc.want)
		}
	}
	// Without --config, the flags say everything and realm1 is served.
	if p, err = planFor(t, "--listen", "127.0.0.1:0", "--realm", "r"); err != nil || !reflect.DeepEqual(p.cfg.Realms, []string{"realm1", "r"}) ||
		len(p.listeners) != 1 || p.listeners[0].path != "/ws" {
		t.Fatalf("plan %+v, %v", p, err)
	}
}

// TestStartLeavesNothingOnError: when a listener cannot be opened, those
// opened before it are closed again and no router runs.
func TestStartLeavesNothingOnError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// A port released here is taken again by Main: on an address of the
	// loopback network that no other test uses, so that nothing else can
	// grab it meanwhile.
	free, err := net.Listen("tcp", "127.0.0.57:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()
	file := writeFile(t, t.TempDir(), "node.yaml", "listeners:\n  - {type: websocket, address: \""+freeAddr+"\"}\n  - {type: rawsocket, address: \""+busy.Addr().String()+"\"}\nopen_realms: [r]\n")
	var out strings.Builder
	if code := Main([]string{"router", "--config", file}, &out, &out); code != 1 || !strings.Contains(out.String(), "listen rawsocket "+busy.Addr().String()+" ("+file+":3)") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	l, err := net.Listen("tcp", freeAddr)
	if err != nil {
		t.Fatalf("the first listener was left open: %v", err)
	}
	l.Close()
}

// TestMainConfigErrorExit: a bad file is a usage error (exit 2) naming
// the file, line and field.
func TestMainConfigErrorExit(t *testing.T) {
	file := writeFile(t, t.TempDir(), "node.yaml", "listeners:\n  - type: websocket\n    address: 127.0.0.1:http\n")
	var out strings.Builder
	code := Main([]string{"router", "--config", file}, &out, &out)
	if want := file + `:3:5: listeners[0].address: "127.0.0.1:http": port "http" is not a number`; code != 2 || !strings.Contains(out.String(), want) {
		t.Fatalf("exit %d: %s\nwant exit 2 and %q", code, out.String(), want)
	}
}

// TestConfigBounds: the file's sizes, connection limits and timeouts are
// bounded as their flags are. A key left out takes its default; a key
// given as 0 is a mistake.
func TestConfigBounds(t *testing.T) {
	dir := t.TempDir()
	const ws = "listeners:\n  - type: websocket\n    address: 127.0.0.1:0\nopen_realms: [r]\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"max_message_size", "transport:\n  max_message_size: 10\n", "node.yaml:6:3: transport.max_message_size: 10: want 1024 bytes (1 KiB) to 1073741824 (1 GiB)"},
		{"max_message_size 0", "transport: {max_message_size: 0}\n", "node.yaml:5:13: transport.max_message_size: 0: want 1024 bytes (1 KiB)"},
		{"max_hello_size", "transport: {max_hello_size: 2147483648}\n", "transport.max_hello_size: 2147483648: want 1024 bytes (1 KiB)"},
		{"outbound_queue", "transport: {outbound_queue: 0}\n", "transport.outbound_queue: 0: want a count above 0"},
		{"read_timeout", "transport: {read_timeout: -5s}\n", "transport.read_timeout: -5s: want a duration above 0"},
		{"write_timeout", "transport: {write_timeout: 0s}\n", "transport.write_timeout: 0s: want a duration above 0"},
		{"max_connections", "connections:\n  max_connections: -5\n", "node.yaml:6:3: connections.max_connections: -5: want a count above 0, or -1 for no limit"},
		{"max_connections 0", "connections: {max_connections: 0}\n", "connections.max_connections: 0: want a count above 0, or -1 for no limit"},
		{"max_connections_per_ip", "connections: {max_connections_per_ip: -2}\n", "connections.max_connections_per_ip: -2: want a count above 0, or -1 for no limit"},
		{"idle_timeout", "connections: {idle_timeout: 0s}\n", "connections.idle_timeout: 0s: want a duration above 0"},
		{"goodbye_timeout", "goodbye_timeout: -1s\n", "node.yaml:5:1: goodbye_timeout: -1s: want a duration above 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := checkConfig(t, dir, ws+tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant one with %q", err, tc.want)
			}
		})
	}
	for _, good := range []string{
		"",
		"connections: {max_connections: -1, max_connections_per_ip: -1, idle_timeout: 1s}\n",
		"connections: {max_connections: 10, max_connections_per_ip: 10}\n",
		"transport: {max_message_size: 1024, max_hello_size: 1024, outbound_queue: 1, read_timeout: 1s, write_timeout: 1s, ping_interval: -1s}\n",
		"goodbye_timeout: 1ms\n",
	} {
		if _, _, err := checkConfig(t, dir, ws+good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

// TestFlagsAndFileAgree: a setting that both a flag and the file set
// takes the same values from both.
func TestFlagsAndFileAgree(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		flag   string
		key    string // the file's key: "section: {key: %s}"
		values []string
	}{
		{"max-message-size", "transport: {max_message_size: %s}", []string{"-1", "0", "1023", "1024", "16777216", "1073741824", "1073741825"}},
		{"outbound-queue", "transport: {outbound_queue: %s}", []string{"-1", "0", "1", "16384"}},
		{"max-connections", "connections: {max_connections: %s}", []string{"-2", "-1", "0", "1", "50", "100000"}},
		{"max-connections-per-ip", "connections: {max_connections_per_ip: %s}", []string{"-2", "-1", "0", "1", "1000"}},
		{"idle-timeout", "connections: {idle_timeout: %s}", []string{"-1s", "0s", "1ns", "1m0s"}},
		{"log-level", "log: {level: %s}", []string{"debug", "info", "warn", "error", "loud"}},
		{"log-format", "log: {format: %s}", []string{"text", "json", "xml"}},
		{"listen", "listeners: [{type: websocket, address: \"%s\"}]", []string{"127.0.0.1:0", ":8080", "[::1]:8080", "nonsense", "127.0.0.1:99999", "unix:/tmp/j.sock"}},
	} {
		for _, v := range tc.values {
			_, flagErr := planFor(t, "--"+tc.flag, v)
			file := "listeners: [{type: websocket, address: \"127.0.0.1:0\"}]\nopen_realms: [r]\n"
			if tc.flag == "listen" {
				file = "open_realms: [r]\n"
			}
			_, _, fileErr := checkConfig(t, dir, file+strings.Replace(tc.key, "%s", v, 1)+"\n")
			if (flagErr == nil) != (fileErr == nil) {
				t.Errorf("%s: --%s says %v, the file says %v", v, tc.flag, flagErr, fileErr)
			}
		}
	}
}

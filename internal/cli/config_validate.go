package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/junction-run/junction/router"
)

// filePath resolves a path given in the file against its directory.
func (cf *configFile) filePath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cf.dir, p)
}

// validate checks every value of the file that can be checked before
// listening: listener types and addresses, TLS files (loaded here), auth
// method names, the router's own checks of each realm, of the limits and
// of each event history rule, the bounds of the sizes, connection limits
// and timeouts (checkBounds), and the log settings. It returns the
// listeners, their certificates loaded.
func (cf *configFile) validate() ([]listenerSpec, error) {
	c := &cf.cfg
	var specs []listenerSpec
	seen := map[string]int{}
	for i, lc := range c.Listeners {
		spec, err := cf.listener(i, lc)
		if err != nil {
			return nil, err
		}
		key := spec.network + " " + spec.address
		if j, dup := seen[key]; dup && !strings.HasSuffix(spec.address, ":0") {
			return nil, cf.at(fmt.Errorf("%s is also listeners[%d]'s address", spec.address, j), "listeners", i, "address")
		}
		seen[key] = i
		specs = append(specs, spec)
	}
	names := map[string]string{}
	for i, name := range c.OpenRealms {
		if other, dup := names[name]; dup {
			return nil, cf.at(fmt.Errorf("realm %q is also %s", name, other), "open_realms", i)
		}
		names[name] = fmt.Sprintf("open_realms[%d]", i)
		if err := checkRouter(router.Config{Realms: []string{name}, StrictURIs: c.StrictURIs}); err != nil {
			return nil, cf.at(err, "open_realms", i)
		}
	}
	for i, rc := range c.Realms {
		if other, dup := names[rc.Name]; dup {
			return nil, cf.at(fmt.Errorf("realm %q is also %s", rc.Name, other), "realms", i, "name")
		}
		names[rc.Name] = fmt.Sprintf("realms[%d]", i)
		if err := checkRouter(router.Config{RealmConfigs: []router.RealmConfig{rc}, StrictURIs: c.StrictURIs}); err != nil {
			path, detail := realmErrorPath(i, rc, err)
			ce := cf.at(err, path...)
			ce.detail = detail
			return nil, ce
		}
	}
	if err := c.Connections.Validate(); err != nil {
		return nil, cf.at(err, "connections")
	}
	if err := checkRouter(router.Config{Limits: c.Limits}); err != nil {
		return nil, cf.keyed(err, router.ErrInvalidLimits, limitKeys, "limits")
	}
	for i, h := range c.EventHistory {
		if err := checkRouter(router.Config{EventHistory: []router.EventHistory{h}, StrictURIs: c.StrictURIs}); err != nil {
			return nil, cf.keyed(err, router.ErrInvalidEventHistory, historyKeys, "event_history", i)
		}
	}
	if err := cf.checkBounds(); err != nil {
		return nil, err
	}
	if c.Log.Level != "" {
		if err := checkLogLevel(c.Log.Level); err != nil {
			return nil, cf.at(fmt.Errorf("%q: %w", c.Log.Level, err), "log", "level")
		}
	}
	if c.Log.Format != "" {
		if err := checkLogFormat(c.Log.Format); err != nil {
			return nil, cf.at(fmt.Errorf("%q: %w", c.Log.Format, err), "log", "format")
		}
	}
	return specs, nil
}

// realmErrorPath locates the router's error about realms[i]: its
// messages start with the path of the field at fault within the realm,
// as in `ticket.principals["joe"]: ...` or `role "user": permissions[2]:`.
// It returns the path and what the error says beyond it.
func realmErrorPath(i int, rc router.RealmConfig, err error) (path []any, detail string) {
	path = []any{"realms", i}
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, fmt.Sprintf("realm %q: ", rc.Name)); ok {
		msg = rest
	}
	if m := roleError.FindStringSubmatch(msg); m != nil {
		for k, r := range rc.Roles {
			if r.Name == m[1] {
				path = append(path, "roles", k)
				msg = m[2]
				break
			}
		}
	}
	field, rest, ok := strings.Cut(msg, ": ")
	if !ok || !fieldPath.MatchString(field) {
		return path, msg
	}
	for _, part := range fieldPart.FindAllStringSubmatch(field, -1) {
		switch {
		case part[1] != "":
			path = append(path, part[1])
		case part[2] != "":
			n, _ := strconv.Atoi(part[2])
			path = append(path, n)
		default:
			key, _ := strconv.Unquote(`"` + part[3] + `"`)
			path = append(path, key)
		}
	}
	return path, rest
}

var (
	roleError = regexp.MustCompile(`^role "([^"]*)": (.*)$`)
	// fieldPath is a field path such as ticket.principals["joe"] or
	// roles[2]; fieldPart is one of its steps.
	fieldPath = regexp.MustCompile(`^[a-z_]+(?:\.[a-z_]+|\[\d+\]|\["[^"]*"\])*$`)
	fieldPart = regexp.MustCompile(`([a-z_]+)|\[(\d+)\]|\["([^"]*)"\]`)
)

// keyed locates an error of the router that wraps sentinel and whose
// message, after the sentinel's and an optional "rule N: ", starts with
// one of keys: at that key under path, with what follows as its detail.
func (cf *configFile) keyed(err, sentinel error, keys []string, path ...any) *configError {
	msg := strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
	if m := ruleNumber.FindStringIndex(msg); m != nil {
		msg = msg[m[1]:]
	}
	for _, key := range keys {
		if strings.HasPrefix(msg, key+" ") {
			path = append(path, key)
			break
		}
	}
	ce := cf.at(err, path...)
	ce.detail = msg
	return ce
}

var ruleNumber = regexp.MustCompile(`^rule \d+: `)

// limitKeys and historyKeys are the keys of router.Limits and
// router.EventHistory, which their errors start with.
var (
	limitKeys = []string{"max_sessions_per_realm", "max_sessions", "max_subscriptions_per_session",
		"max_registrations_per_session", "message_rate", "message_burst", "hello_timeout"}
	historyKeys = []string{"realm", "topic", "match", "limit"}
)

// listener checks listeners[i] and loads its certificate.
func (cf *configFile) listener(i int, lc listenerConfig) (listenerSpec, error) {
	at := func(err error, path ...any) error { return cf.at(err, append([]any{"listeners", i}, path...)...) }
	spec := listenerSpec{kind: lc.Type, path: lc.Path, where: cf.at(nil, "listeners", i).location()}
	switch lc.Type {
	case listenWebSocket:
		if spec.path == "" {
			spec.path = defaultWSPath
		}
		if !strings.HasPrefix(spec.path, "/") || spec.path == "/healthz" || spec.path == "/metrics" {
			return spec, at(fmt.Errorf("%q: want an absolute path other than /healthz and /metrics", lc.Path), "path")
		}
	case listenRawSocket:
		if lc.Path != "" {
			return spec, at(errors.New("only websocket listeners have a path"), "path")
		}
	case "":
		return spec, at(errors.New("missing: websocket or rawsocket"), "type")
	default:
		return spec, at(fmt.Errorf("%q: want websocket or rawsocket", lc.Type), "type")
	}
	var err error
	spec.network, spec.address, err = listenAddr(lc.Type, lc.Address)
	if err != nil && lc.Address != "" {
		err = fmt.Errorf("%q: %w", lc.Address, err)
	}
	if err != nil {
		return spec, at(err, "address")
	}
	for j, m := range lc.AuthMethods {
		if !slices.Contains(authMethods, m) {
			return spec, at(fmt.Errorf("%q: want %s", m, strings.Join(authMethods, ", ")), "auth_methods", j)
		}
	}
	spec.listener = router.Listener{AuthMethods: lc.AuthMethods}
	if lc.TLS != nil {
		if spec.network == "unix" {
			return spec, at(errors.New("a Unix socket listener has no TLS"), "tls")
		}
		if lc.TLS.Cert == "" {
			return spec, at(errors.New("missing: the certificate file"), "tls", "cert")
		}
		if lc.TLS.Key == "" {
			return spec, at(errors.New("missing: the private key file"), "tls", "key")
		}
		spec.certs, err = loadCertificate(cf.filePath(lc.TLS.Cert), cf.filePath(lc.TLS.Key))
		if err != nil {
			return spec, at(err, "tls")
		}
	}
	return spec, nil
}

// location is "file:line" of a configError, for messages about what
// follows from that place.
func (e *configError) location() string {
	if e.line == 0 {
		return e.file
	}
	return fmt.Sprintf("%s:%d", e.file, e.line)
}

// listenAddr parses a listener's address: HOST:PORT, or for RawSocket
// unix:PATH. Its errors say what is wrong, not the value: the caller
// names it.
func listenAddr(kind, addr string) (network, address string, err error) {
	want := "want HOST:PORT, such as 127.0.0.1:8080, :8080 or [::1]:8080"
	if kind == listenRawSocket {
		want += ", or unix:PATH"
	}
	if addr == "" {
		return "", "", errors.New("missing: HOST:PORT")
	}
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if kind != listenRawSocket {
			return "", "", errors.New("only rawsocket listeners take unix:PATH")
		}
		if path = strings.TrimPrefix(path, "//"); path == "" {
			return "", "", errors.New("want unix:PATH")
		}
		return "unix", path, nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", errors.New(want)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return "", "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return "tcp", addr, nil
}

// checkRouter runs the router's own validation of cfg: it makes a router
// and stops it at once.
func checkRouter(cfg router.Config) error {
	cfg.Logger = slog.New(slog.DiscardHandler)
	r, err := router.New(cfg)
	if err != nil {
		return err
	}
	return r.Stop(context.Background())
}

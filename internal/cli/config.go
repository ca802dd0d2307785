package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/cluster"
	"github.com/junction-run/junction/internal/connlimit"
	"github.com/junction-run/junction/link"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/transport"
)

// nodeConfig is the file `junction router --config FILE` reads, YAML or
// JSON (JSON is YAML). Realms, limits, event history and the transport
// settings map straight onto the router package's types and their yaml
// tags; see the README for every key.
type nodeConfig struct {
	Listeners []listenerConfig `yaml:"listeners"`
	// OpenRealms are realms whose sessions are anonymous with every
	// permission (router.Config.Realms), as --realm adds.
	OpenRealms     []string              `yaml:"open_realms"`
	Realms         []router.RealmConfig  `yaml:"realms"`
	Limits         router.Limits         `yaml:"limits"`
	EventHistory   []router.EventHistory `yaml:"event_history"`
	Transport      transport.Config      `yaml:"transport"`
	Connections    connlimit.Config      `yaml:"connections"`
	StrictURIs     bool                  `yaml:"strict_uris"`
	GoodbyeTimeout time.Duration         `yaml:"goodbye_timeout"`
	Log            logConfig             `yaml:"log"`
	// Cluster joins other routers to serve the realms as one router
	// (package cluster), as the --cluster-* flags do.
	Cluster clusterConfig `yaml:"cluster"`
	// Links join the router's realms with separate deployments
	// (package link), each letting through only what it lists.
	Links []link.Config `yaml:"links"`
	// HTTPBridge serves POST /publish and /call on the websocket
	// listeners (package admin), as --http-bridge-token-file does.
	HTTPBridge *admin.BridgeConfig `yaml:"http_bridge"`
	// Webhooks POST the events of topics to URLs through a durable
	// queue (package webhook); see webhook.go.
	Webhooks *webhookConfig `yaml:"webhooks"`
	// Admin serves the web admin at /admin/ on the websocket listeners
	// (package admin), as --admin-password-file does.
	Admin *admin.Config `yaml:"admin"`
}

// clusterConfig is the cluster section: cluster.Config's settings, and
// the file holding the cluster's shared secret.
type clusterConfig struct {
	cluster.Config `yaml:",inline"`
	TokenFile      string `yaml:"token_file"`
}

// listenerConfig is one entry of listeners.
type listenerConfig struct {
	// Type is "websocket" or "rawsocket".
	Type string `yaml:"type"`
	// Address is HOST:PORT, or unix:PATH for a RawSocket listener.
	Address string `yaml:"address"`
	// Path is where a WebSocket listener serves WAMP. Default /ws.
	Path string `yaml:"path"`
	// TLS, if set, makes it a wss:// or RawSocket-over-TLS listener.
	TLS *tlsFiles `yaml:"tls"`
	// AuthMethods, if not empty, are the only authentication methods its
	// sessions may use (router.Listener.AuthMethods).
	AuthMethods []string `yaml:"auth_methods"`
}

// tlsFiles names a PEM certificate chain and its private key. Relative
// paths are relative to the configuration file's directory.
type tlsFiles struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

type logConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

const (
	listenWebSocket = "websocket"
	listenRawSocket = "rawsocket"
	defaultWSPath   = "/ws"
)

// authMethods are the names a listener's auth_methods may hold.
var authMethods = []string{"anonymous", "ticket", "wampcra", "cryptosign"}

// configError is a fault in the configuration file: where it is, which
// field, and what is wrong.
type configError struct {
	file      string
	line, col int // 0 when unknown
	field     string
	err       error
	// detail, if set, says what is wrong instead of err's message: the
	// part of it that field does not already say.
	detail string
}

func (e *configError) Error() string {
	var b strings.Builder
	b.WriteString(e.file)
	if e.line > 0 {
		fmt.Fprintf(&b, ":%d", e.line)
		if e.col > 0 {
			fmt.Fprintf(&b, ":%d", e.col)
		}
	}
	b.WriteString(": ")
	if e.field != "" {
		b.WriteString(e.field + ": ")
	}
	if e.detail != "" {
		b.WriteString(e.detail)
	} else {
		b.WriteString(e.err.Error())
	}
	return b.String()
}

func (e *configError) Unwrap() error { return e.err }

// configFile is a parsed configuration file: the values, and the YAML
// tree that says where each came from.
type configFile struct {
	path string
	dir  string
	root *yaml.Node // the top-level mapping
	cfg  nodeConfig
}

// loadConfig reads and decodes the configuration file at path. It checks
// the syntax and the types; validate checks the values.
func loadConfig(path string) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parseConfig(path, data)
}

// parseConfig decodes data, the content of the file at path. Unknown keys,
// values of the wrong type, keys given twice, keys without a value and
// several documents are errors naming their line.
func parseConfig(path string, data []byte) (cf *configFile, err error) {
	defer func() {
		// The YAML library should return errors for every input; should
		// it panic on one, the file is still what is wrong.
		if v := recover(); v != nil {
			cf, err = nil, &configError{file: path, err: fmt.Errorf("unreadable YAML: %v", v)}
		}
	}()
	cf = &configFile{path: path, dir: filepath.Dir(path)}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &configError{file: path, err: errors.New("the file is empty")}
		}
		return nil, yamlError(path, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			return nil, yamlError(path, err)
		}
		return nil, &configError{file: path, line: line, err: errors.New("a second YAML document: the file must hold one")}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &configError{file: path, line: doc.Line, col: doc.Column,
			err: errors.New("the file must hold a mapping (listeners:, realms:...)")}
	}
	cf.root = doc.Content[0]
	if n, field := findNull(cf.root, ""); n != nil {
		return nil, &configError{file: path, line: n.Line, col: n.Column, field: field,
			err: errors.New("no value: give one, or {} for an empty section, or remove the key")}
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&cf.cfg); err != nil {
		return nil, yamlError(path, err)
	}
	return cf, nil
}

// findNull returns the first mapping value or list item that is null,
// and its field path.
func findNull(n *yaml.Node, field string) (*yaml.Node, string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f := joinField(field, k.Value)
			if isNull(v) {
				return k, f
			}
			if bad, f := findNull(v, f); bad != nil {
				return bad, f
			}
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			f := fmt.Sprintf("%s[%d]", field, i)
			if isNull(v) {
				return v, f
			}
			if bad, f := findNull(v, f); bad != nil {
				return bad, f
			}
		}
	}
	return nil, ""
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// yamlLine matches the "line N: " that starts the library's messages.
var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlUnknownField rewords the library's "field x not found in type T".
var yamlUnknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

// yamlCannot matches "cannot unmarshal !!str `x` into T".
var yamlCannot = regexp.MustCompile(`^(cannot unmarshal .*) into (\S+)$`)

// friendlyType names a Go type the way the file's author thinks of it.
func friendlyType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "into a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "cli."), strings.HasPrefix(goType, "router."),
		strings.HasPrefix(goType, "transport."):
		return "into a mapping"
	case goType == "time.Duration":
		return "into a duration such as 10s or 1m30s"
	case goType == "bool":
		return "into true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "into an integer"
	case strings.HasPrefix(goType, "float"):
		return "into a number"
	case goType == "string", goType == "wamp.URI", goType == "wamp.MatchPolicy":
		return "into a string"
	}
	return "into " + goType
}

// yamlError turns an error of the YAML library into configErrors, one
// per line at fault, joined.
func yamlError(path string, err error) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	var errs []error
	for _, m := range msgs {
		ce := &configError{file: path}
		if sub := yamlLine.FindStringSubmatch(m); sub != nil {
			ce.line, _ = strconv.Atoi(sub[1])
			m = sub[2]
		}
		m = strings.TrimPrefix(m, "yaml: ")
		if sub := yamlUnknownField.FindStringSubmatch(m); sub != nil {
			m = "unknown key " + strconv.Quote(sub[1])
		}
		if sub := yamlCannot.FindStringSubmatch(m); sub != nil {
			m = sub[1] + " " + friendlyType(sub[2])
		}
		ce.err = errors.New(m)
		errs = append(errs, ce)
	}
	return errors.Join(errs...)
}

// at returns a configError for field, located at the deepest node of the
// file along path: mapping keys (strings) and list indices (ints).
func (cf *configFile) at(err error, path ...any) *configError {
	ce := &configError{file: cf.path, err: err}
	var field strings.Builder
	n := cf.root
	for _, p := range path {
		switch p := p.(type) {
		case string:
			if field.Len() > 0 {
				field.WriteByte('.')
			}
			field.WriteString(p)
		case int:
			fmt.Fprintf(&field, "[%d]", p)
		}
		if n == nil {
			continue
		}
		next, key := child(n, p)
		if key != nil {
			ce.line, ce.col = key.Line, key.Column
		} else if next != nil {
			ce.line, ce.col = next.Line, next.Column
		}
		n = next
	}
	ce.field = field.String()
	return ce
}

// child returns the value under key p of a mapping (and the key's node),
// or item p of a list.
func child(n *yaml.Node, p any) (value, key *yaml.Node) {
	switch p := p.(type) {
	case string:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					return n.Content[i+1], n.Content[i]
				}
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && p < len(n.Content) {
			return n.Content[p], nil
		}
	}
	return nil, nil
}

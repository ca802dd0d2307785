package link

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/internal/natsserver"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// Config configures a Link: the `link` section of a node file. The zero
// value is not enough: Name, Peer and one way to reach each side are
// required (see each field). Fields with json/yaml tags come from files;
// the others are set in code.
type Config struct {
	// Name names this deployment: it is the JetStream domain of the
	// link's NATS server and part of its stream and subject names.
	// Letters, digits, '_' and '-', at most 32. Required.
	Name string `json:"name" yaml:"name"`
	// Peer is the Name of the deployment at the other end. Required, and
	// different from Name.
	Peer string `json:"peer" yaml:"peer"`

	// Realm is the local realm the link joins. Default "realm1".
	Realm wamp.URI `json:"realm" yaml:"realm"`
	// Router is the URL of the local router (ws://, tcp://, unix:). It
	// is for a link running outside the router's process; in-process,
	// set Local instead. One of the two is required.
	Router string `json:"router" yaml:"router"`
	// AuthID and Ticket authenticate the link's session in the local
	// realm (WAMP-Ticket) when the realm requires it; Auth (in code)
	// offers other methods. Default: anonymous.
	AuthID string `json:"authid" yaml:"authid"`
	Ticket string `json:"ticket" yaml:"ticket"`

	// NATS is the URL of an existing NATS server of this deployment,
	// with JetStream in domain Name and its leaf node connection to the
	// peer configured by its operator. Default "": the link runs an
	// embedded NATS server, configured by DataDir, Listen and Remote.
	NATS string `json:"nats" yaml:"nats"`
	// DataDir is the embedded server's JetStream store: exported events
	// wait there for the peer. Required without NATS.
	DataDir string `json:"data_dir" yaml:"data_dir"`
	// Listen is the address of the embedded server's leaf node listener,
	// where the peer's Remote connects ("127.0.0.1:7422"; port 0 picks a
	// free one, see LeafAddr). Default "": none.
	Listen string `json:"listen" yaml:"listen"`
	// Remote is the URL of the peer's leaf node listener, which the
	// embedded server dials and redials while the link runs
	// ("nats-leaf://peer.example:7422"; the schemes nats and tls work
	// too). Default "": none. At least one side of a link has Remote set
	// and the other Listen; one of the two, not both, is enough.
	Remote string `json:"remote" yaml:"remote"`
	// User and Password, or Token, are the leaf node credentials: the
	// listener demands them and the remote presents them, so both sides
	// of a link set the same ones. Default none: the listener admits any
	// leaf node (only for loopback and trusted networks).
	User     string `json:"user" yaml:"user"`
	Password string `json:"password" yaml:"password"`
	Token    string `json:"token" yaml:"token"`

	// ExportTopics lists the local topics whose events the link sends to
	// the peer; ImportTopics the peer's topics whose events it publishes
	// locally. An event crosses only if its topic is exported by its
	// side and imported by the other. Each entry is a URI (exact), or
	// "prefix:URI" (the URI and everything under it, by components:
	// prefix:paste allows paste.new, not pastebin), or "wildcard:URI"
	// (empty components match any one: wildcard:paste..new).
	ExportTopics []string `json:"export_topics" yaml:"export_topics"`
	ImportTopics []string `json:"import_topics" yaml:"import_topics"`
	// ExportProcedures lists the local procedures the peer may call;
	// ImportProcedures the peer's procedures the link registers locally
	// and forwards. Same syntax as the topics.
	ExportProcedures []string `json:"export_procedures" yaml:"export_procedures"`
	ImportProcedures []string `json:"import_procedures" yaml:"import_procedures"`

	// CallTimeout bounds a forwarded call when its caller set no
	// shorter timeout. Default 30s.
	CallTimeout time.Duration `json:"call_timeout" yaml:"call_timeout"`
	// Retention is how long exported events wait for the peer in the
	// stream before they are dropped. Default 7 days (168h).
	Retention time.Duration `json:"retention" yaml:"retention"`

	// Local is the in-process router to join (an app's is
	// Application.Router()). Set it or Router.
	Local *router.Router `json:"-" yaml:"-"`
	// Auth lists authentication methods for the local session, tried
	// after Ticket's.
	Auth []client.Authenticator `json:"-" yaml:"-"`
	// Logger receives the link's logs, and the embedded NATS server's
	// warnings and errors. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// Defaults.
const (
	DefaultCallTimeout = 30 * time.Second
	DefaultRetention   = 7 * 24 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.Realm == "" {
		c.Realm = client.DefaultRealm
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// allowLists are a Config's four lists, parsed.
type allowLists struct {
	exportTopics, importTopics, exportProcs, importProcs []pattern
}

// Validate checks every setting but the local router (Router or Local),
// which the program that runs the link may set later: a router's node
// file has links to the router itself. New checks everything.
func (c Config) Validate() error {
	_, err := c.withDefaults().validate(false)
	return err
}

// validate checks c (with defaults) and parses its lists; needRouter
// requires Router or Local.
func (c Config) validate(needRouter bool) (allowLists, error) {
	var lists allowLists
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Name == "":
		return lists, bad("name", "required: this deployment's name")
	case !nameRE.MatchString(c.Name):
		return lists, bad("name", "%q: want 1 to 32 letters, digits, '_' or '-'", c.Name)
	case c.Peer == "":
		return lists, bad("peer", "required: the name of the deployment at the other end")
	case !nameRE.MatchString(c.Peer):
		return lists, bad("peer", "%q: want 1 to 32 letters, digits, '_' or '-'", c.Peer)
	case c.Peer == c.Name:
		return lists, bad("peer", "%q is also this side's name: the two sides need different names", c.Peer)
	case !c.Realm.Valid(false):
		return lists, bad("realm", "%q is not a valid URI", c.Realm)
	case needRouter && c.Router == "" && c.Local == nil:
		return lists, bad("router", "required (the local router's URL), unless Local is set in code")
	case c.Router != "" && c.Local != nil:
		return lists, bad("router", "%q: set Router or Local, not both", c.Router)
	case c.Ticket != "" && c.AuthID == "":
		return lists, bad("authid", "required with ticket")
	case c.Token != "" && (c.User != "" || c.Password != ""):
		return lists, bad("token", "set token, or user and password, not both")
	case c.Password != "" && c.User == "":
		return lists, bad("user", "required with password")
	}
	if c.NATS != "" {
		for _, f := range [...]struct{ field, v string }{{"data_dir", c.DataDir}, {"listen", c.Listen}, {"remote", c.Remote}} {
			if f.v != "" {
				return lists, bad(f.field, "%q: for the embedded NATS server, but nats is set", f.v)
			}
		}
		if _, err := url.Parse(c.NATS); err != nil {
			return lists, bad("nats", "%v", err)
		}
	} else {
		if c.DataDir == "" {
			return lists, bad("data_dir", "required for the embedded NATS server (or set nats)")
		}
		if c.Listen == "" && c.Remote == "" {
			return lists, bad("remote", "required, or listen: one side of a link dials the other's leaf node listener")
		}
		if c.Listen != "" {
			if _, _, err := splitListen(c.Listen); err != nil {
				return lists, bad("listen", "%q: %v", c.Listen, err)
			}
		}
		if c.Remote != "" {
			if _, err := remoteURL(c.Remote, "", "", ""); err != nil {
				return lists, bad("remote", "%q: %v", c.Remote, err)
			}
		}
	}
	var err error
	for _, l := range []struct {
		field string
		in    []string
		out   *[]pattern
	}{
		{"export_topics", c.ExportTopics, &lists.exportTopics},
		{"import_topics", c.ImportTopics, &lists.importTopics},
		{"export_procedures", c.ExportProcedures, &lists.exportProcs},
		{"import_procedures", c.ImportProcedures, &lists.importProcs},
	} {
		for i, s := range l.in {
			var p pattern
			if p, err = parsePattern(s); err != nil {
				return lists, bad(fmt.Sprintf("%s[%d]", l.field, i), "%v", err)
			}
			*l.out = append(*l.out, p)
		}
	}
	return lists, nil
}

// splitListen splits a listen address; port 0 asks for a free one.
func splitListen(addr string) (string, int, error) { return natsserver.HostPort(addr) }

// remoteURL parses the peer's leaf node URL and puts the credentials in
// it, as the NATS server expects them.
func remoteURL(s, user, password, token string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "nats-leaf", "nats", "tls", "ws", "wss":
	default:
		return nil, fmt.Errorf("scheme %q: want nats-leaf://HOST:PORT", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host: want nats-leaf://HOST:PORT")
	}
	if u.Scheme == "nats-leaf" {
		u.Scheme = "nats"
	}
	switch {
	case token != "":
		u.User = url.User(token)
	case user != "":
		u.User = url.UserPassword(user, password)
	}
	return u, nil
}

package deploy

import (
	"strings"
)

// nginxData is the data of nginx.tmpl.
type nginxData struct {
	App, Kind  string
	File       string // where the fragment goes
	Ident      string // of the upstream and the map's variable
	Upstream   string
	ServerName string // quoted names
	WSPath     string // quoted; "" for none
	Metrics    string // quoted; "" for none
	TLS        bool
	Cert, Key  string // quoted
	Static     []nginxStatic
	// Root is the directory served at "/", quoted; "" for none: nginx
	// tries its files first, then the app.
	Root      string
	RootIndex bool
}

type nginxStatic struct {
	Prefix, Alias string // quoted
	Index         bool
}

// nginxView returns nginx.tmpl's data: a fragment of the http {} block.
func nginxView(f *Facts) (any, error) {
	if f.Listen == "" {
		return nil, badf("nginx: the app serves no HTTP (its listen address is \"\")")
	}
	d := &nginxData{App: f.App, Kind: "nginx", Ident: f.ident(), TLS: f.TLSCert != ""}
	d.File = "/etc/nginx/conf.d/" + f.slug() + ".conf"
	if f.Target == "alpine" {
		d.File = "/etc/nginx/http.d/" + f.slug() + ".conf"
	}
	var err error
	quote := func(what, s string) string {
		if err != nil {
			return ""
		}
		var q string
		q, err = nginxQuote(what, s)
		return q
	}
	d.Upstream = quote("listen address", f.upstream())
	if f.ServerName == "" {
		d.ServerName = "_"
	} else {
		var names []string
		for n := range strings.FieldsSeq(f.ServerName) {
			names = append(names, quote("server name", n))
		}
		d.ServerName = strings.Join(names, " ")
	}
	if f.WSPath != "" {
		d.WSPath = quote("WebSocket path", f.WSPath)
	}
	if f.MetricsPath != "" {
		d.Metrics = quote("metrics path", f.MetricsPath)
	}
	if d.TLS {
		d.Cert = quote("TLS certificate", f.TLSCert)
		d.Key = quote("TLS key", f.TLSKey)
	}
	for _, s := range f.Static {
		if s.Prefix == "/" {
			d.Root, d.RootIndex = quote("static dir", s.Dir), s.Index
			continue
		}
		d.Static = append(d.Static, nginxStatic{
			Prefix: quote("static prefix", s.Prefix),
			Alias:  quote("static dir", strings.TrimSuffix(s.Dir, "/")+"/"),
			Index:  s.Index,
		})
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// nginxQuote returns s as an nginx string in double quotes. nginx reads
// '$' as a variable even there, and has no escape for it: such a value
// is refused.
func nginxQuote(what, s string) (string, error) {
	if strings.Contains(s, "$") {
		return "", badf("nginx: %s %q: nginx cannot carry a '$'", what, s)
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

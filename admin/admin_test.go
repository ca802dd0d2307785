package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"golang.org/x/crypto/bcrypt"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

const testPassword = "correct horse battery"

// adminServer is a router and its admin behind a loopback HTTP server.
type adminServer struct {
	rt  *router.Router
	adm *Admin
	srv *httptest.Server
	url string
}

func newAdminServer(t *testing.T, cfg router.Config, src Sources) *adminServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	rt, err := router.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	adm, err := New(rt, Config{Users: []User{PasswordFileUser(pw)}, Logger: cfg.Logger}, src)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", adm.Handler())
	mux.Handle("/ws", rt)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Close()
		if err := adm.Close(ctx); err != nil {
			t.Errorf("admin Close: %v", err)
		}
		rt.Stop(ctx)
	})
	t.Logf("admin at %s/admin/", srv.URL)
	return &adminServer{rt: rt, adm: adm, srv: srv, url: srv.URL}
}

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so that the tests see them.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postLogin(t *testing.T, c *http.Client, base, user, password string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/admin/login", strings.NewReader(url.Values{"username": {user}, "password": {password}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestLogin(t *testing.T) {
	s := newAdminServer(t, router.Config{}, Sources{})
	c := browser(t)

	// Nothing answers without a login, assets and the login page aside.
	for path, want := range map[string]int{"/admin/": http.StatusSeeOther, "/admin/api/me": http.StatusUnauthorized,
		"/admin/ws": http.StatusUnauthorized, "/admin/anything": http.StatusUnauthorized,
		"/admin/login": http.StatusOK, "/admin/assets/admin.js": http.StatusOK} {
		if resp, _ := get(t, c, s.url+path); resp.StatusCode != want {
			t.Errorf("GET %s without a login: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, _ := get(t, c, s.url+"/admin/")
	if loc := resp.Header.Get("Location"); loc != "/admin/login" {
		t.Errorf("the index redirects to %q, want /admin/login", loc)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("security headers missing: %v", resp.Header)
	}

	// Wrong password, unknown user: 401 and the page says so.
	for _, tc := range []struct{ user, pw string }{{"admin", "wrong password"}, {"root", testPassword}, {"", ""}} {
		r := postLogin(t, c, s.url, tc.user, tc.pw, nil)
		if r.StatusCode != http.StatusUnauthorized || len(r.Cookies()) != 0 {
			t.Errorf("login %q/%q: %d with cookies %v, want 401 and none", tc.user, tc.pw, r.StatusCode, r.Cookies())
		}
	}

	// A login posted from another site is refused (CSRF).
	r := postLogin(t, c, s.url, "admin", testPassword, http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d, want 403", r.StatusCode)
	}

	r = postLogin(t, c, s.url, "admin", testPassword, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/" {
		t.Fatalf("login: %d to %q, want 303 to /admin/", r.StatusCode, r.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == cookieName {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/admin/" || cookie.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, path /admin/, not Secure over plain HTTP", cookie)
	}
	if resp, body := get(t, c, s.url+"/admin/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "admin.js") {
		t.Fatalf("index after login: %d %q", resp.StatusCode, body)
	}
	resp, body := get(t, c, s.url+"/admin/api/me")
	var me struct{ User, CSRF string }
	if err := json.Unmarshal([]byte(body), &me); err != nil || resp.StatusCode != 200 || me.User != "admin" || len(me.CSRF) < 40 {
		t.Fatalf("me: %d %q (%v)", resp.StatusCode, body, err)
	}

	// Behind a TLS proxy the cookie is Secure.
	r = postLogin(t, browser(t), s.url, "admin", testPassword, http.Header{"X-Forwarded-Proto": {"https"}})
	if len(r.Cookies()) != 1 || !r.Cookies()[0].Secure {
		t.Errorf("login behind https: cookies %v, want one Secure", r.Cookies())
	}

	// The WebSocket opens only with the login's CSRF token, from the
	// admin's own origin.
	wsURL := "ws" + strings.TrimPrefix(s.url, "http") + "/admin/ws"
	jar := c.Jar.Cookies(mustURL(t, s.url+"/admin/"))
	for _, tc := range []struct {
		name, query, origin string
		want                int
	}{
		{"no token", "", "", http.StatusForbidden},
		{"wrong token", "?csrf=nope", "", http.StatusForbidden},
		{"other origin", "?csrf=" + me.CSRF, "https://evil.example", http.StatusForbidden},
	} {
		_, err := dialAdmin(wsURL+tc.query, jar, tc.origin)
		var status ws.StatusError
		if !errors.As(err, &status) || int(status) != tc.want {
			t.Errorf("WebSocket with %s: %v, want status %d", tc.name, err, tc.want)
		}
	}
	conn, err := dialAdmin(wsURL+"?csrf="+me.CSRF, jar, s.url)
	if err != nil {
		t.Fatalf("WebSocket with the token: %v", err)
	}
	defer conn.Close()
	p := wampJSON{t: t, conn: conn}
	p.send(1, "junction.admin", map[string]any{"roles": map[string]any{"caller": map[string]any{}}})
	welcome := p.recv()
	if welcome[0] != float64(2) || welcome[2].(map[string]any)["authid"] != "admin" || welcome[2].(map[string]any)["authrole"] != "admin" {
		t.Fatalf("WELCOME %v: want authid and authrole admin", welcome)
	}
	p.send(48, 1, map[string]any{}, "admin.overview", []any{}, map[string]any{})
	res := p.recv()
	if res[0] != float64(50) {
		t.Fatalf("admin.overview: %v", res)
	}
	ov := res[3].([]any)[0].(map[string]any)
	if realms := ov["realms"].([]any); len(realms) != 1 || realms[0].(map[string]any)["realm"] != "realm1" {
		t.Fatalf("overview realms %v", ov["realms"])
	}

	// Logging out ends the login and closes the user's pages.
	req, _ := http.NewRequest("POST", s.url+"/admin/logout", nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if m := p.recv(); m[0] != float64(6) || m[2] != "wamp.close.logout" {
		t.Fatalf("after logout the page got %v, want GOODBYE wamp.close.logout", m)
	}
	for _, ck := range jar {
		req, _ := http.NewRequest("GET", s.url+"/admin/api/me", nil)
		req.AddCookie(ck)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("the cookie still works after logout: %d", resp.StatusCode)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func dialAdmin(u string, cookies []*http.Cookie, origin string) (net.Conn, error) {
	h := http.Header{}
	for _, c := range cookies {
		h.Add("Cookie", c.Name+"="+c.Value)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := ws.Dialer{Protocols: []string{"wamp.2.json"}, Header: ws.HandshakeHeaderHTTP(h), Timeout: 5 * time.Second}
	conn, _, _, err := d.Dial(context.Background(), u)
	return conn, err
}

// wampJSON speaks WAMP's JSON serialization, message by message.
type wampJSON struct {
	t    *testing.T
	conn net.Conn
}

func (p wampJSON) send(m ...any) {
	p.t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := wsutil.WriteClientText(p.conn, b); err != nil {
		p.t.Fatal(err)
	}
}

func (p wampJSON) recv() []any {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		b, err := wsutil.ReadServerText(p.conn)
		if err != nil {
			p.t.Fatalf("read: %v", err)
		}
		var m []any
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Fatal(err)
		}
		if m[0] == float64(36) { // EVENT: not what these tests wait for
			continue
		}
		return m
	}
}

// TestAdminRealmIsPrivate: no WAMP client of the administered router
// reaches the admin realm, whatever its role: it lives in a router of
// the admin's own, behind the login.
func TestAdminRealmIsPrivate(t *testing.T) {
	s := newAdminServer(t, router.Config{}, Sources{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := client.Dial(ctx, "ws"+strings.TrimPrefix(s.url, "http")+"/ws", client.Config{Realm: "junction.admin"})
	if !errors.Is(err, wamp.ErrNoSuchRealm) {
		t.Fatalf("joining junction.admin on the router: %v, want no_such_realm", err)
	}
	if slices.Contains(s.rt.Realms(), "junction.admin") {
		t.Fatalf("the router serves the admin realm: %v", s.rt.Realms())
	}
}

func TestLoginThrottled(t *testing.T) {
	s := newAdminServer(t, router.Config{}, Sources{})
	c := browser(t)
	// The router's throttle lets three failures through at once, then
	// makes each attempt wait: the fourth wrong password takes longer.
	for range 3 {
		if r := postLogin(t, c, s.url, "admin", "wrong", nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", r.StatusCode)
		}
	}
	start := time.Now()
	if r := postLogin(t, c, s.url, "admin", "wrong", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("the fourth failure answered in %v: not throttled", d)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "no user"},
		{Config{Users: []User{{Name: "a"}}}, "password_hash or password_file"},
		{Config{Users: []User{{Name: "a", PasswordHash: "plain"}}}, "not a bcrypt hash"},
		{Config{Users: []User{{Name: "a", PasswordFile: filepath.Join(dir, "missing")}}}, "no such file"},
		{Config{Users: []User{{Name: "a", PasswordFile: short}}}, "fewer than 8"},
		{Config{Users: []User{{Name: "a b", PasswordHash: string(hash)}}}, "without spaces"},
		{Config{Users: []User{{Name: "a", PasswordHash: string(hash)}, {Name: "a", PasswordHash: string(hash)}}}, "given twice"},
	} {
		_, err := tc.cfg.Load()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%+v) = %v, want an ErrConfig saying %q", tc.cfg, err, tc.want)
		}
	}
	cfg, err := Config{Users: []User{{Name: "ops", PasswordHash: string(hash)}}}.Load()
	if err != nil || cfg.SessionTTL != DefaultSessionTTL {
		t.Fatalf("Load: %+v, %v", cfg, err)
	}
}

package admin

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/junction-run/junction/router"
)

// Config configures the web admin.
type Config struct {
	// Users are the people who may log in. At least one.
	Users []User `json:"users" yaml:"users"`
	// SessionTTL is how long a login lasts without use. Default 12h.
	SessionTTL time.Duration `json:"session_ttl,omitempty" yaml:"session_ttl,omitempty"`
	// SecureCookie forces the Secure attribute on the session cookie.
	// Without it the cookie is Secure when the request came over TLS, or
	// through a proxy that says so (X-Forwarded-Proto: https).
	SecureCookie bool `json:"secure_cookie,omitempty" yaml:"secure_cookie,omitempty"`
	// Logger receives the admin's logs. Default slog.Default().
	Logger *slog.Logger `json:"-" yaml:"-"`
}

// User is one admin user. The password is given as a bcrypt hash
// (htpasswd -nbB, or junction's own hashing of PasswordFile) or as a
// file holding it, hashed when the configuration is loaded: it is never
// kept in the clear.
type User struct {
	Name         string `json:"name" yaml:"name"`
	PasswordHash string `json:"password_hash,omitempty" yaml:"password_hash,omitempty"`
	PasswordFile string `json:"password_file,omitempty" yaml:"password_file,omitempty"`
}

// DefaultSessionTTL is Config.SessionTTL's default.
const DefaultSessionTTL = 12 * time.Hour

// ErrConfig wraps every configuration error of the admin.
var ErrConfig = errors.New("web admin: invalid configuration")

// PasswordFileUser is the user that --admin-password-file FILE stands
// for: "admin", whose password FILE holds.
func PasswordFileUser(file string) User { return User{Name: "admin", PasswordFile: file} }

// GeneratedUser returns user name with a password made now (random, 20
// characters), given back in the clear to be shown once, and kept only
// as its bcrypt hash: what --admin without a password file logs in with.
func GeneratedUser(name string) (u User, password string, err error) {
	b := make([]byte, 15)
	rand.Read(b)
	password = base64.RawURLEncoding.EncodeToString(b)
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return User{}, "", err
	}
	return User{Name: name, PasswordHash: string(h)}, password, nil
}

// Load reads the password files, hashes what they hold, and fills in
// the defaults; errors name the setting at fault.
func (c Config) Load() (Config, error) {
	bad := func(format string, args ...any) (Config, error) {
		return c, fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	if len(c.Users) == 0 {
		return bad("no user: give one with --admin-password-file or the users list")
	}
	c.SessionTTL = cmp.Or(c.SessionTTL, DefaultSessionTTL)
	if c.SessionTTL < 0 {
		return bad("session_ttl must not be negative")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	users := make([]User, len(c.Users))
	seen := map[string]bool{}
	for i, u := range c.Users {
		switch {
		case u.Name == "" || strings.ContainsAny(u.Name, " \t\r\n"):
			return bad("users[%d]: a name without spaces is required", i)
		case seen[u.Name]:
			return bad("users[%d]: %q is given twice", i, u.Name)
		case (u.PasswordHash == "") == (u.PasswordFile == ""):
			return bad("users[%d] (%s): give password_hash or password_file, one of them", i, u.Name)
		}
		seen[u.Name] = true
		if u.PasswordFile != "" {
			b, err := os.ReadFile(u.PasswordFile)
			if err != nil {
				return bad("users[%d] (%s): %v", i, u.Name, err)
			}
			pw := strings.TrimRight(string(b), "\r\n")
			if len(pw) < 8 {
				return bad("users[%d] (%s): the password in %s has fewer than 8 characters", i, u.Name, u.PasswordFile)
			}
			if len(pw) > 72 {
				return bad("users[%d] (%s): the password in %s is over bcrypt's 72 bytes", i, u.Name, u.PasswordFile)
			}
			h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
			if err != nil {
				return bad("users[%d] (%s): %v", i, u.Name, err)
			}
			u.PasswordHash, u.PasswordFile = string(h), ""
		} else if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
			return bad("users[%d] (%s): password_hash is not a bcrypt hash: %v", i, u.Name, err)
		}
		users[i] = u
	}
	c.Users = users
	return c, nil
}

// cookieName is the session cookie's name.
const cookieName = "junction_admin"

// login is one logged-in browser.
type login struct {
	user    string
	csrf    string
	expires time.Time
}

// Admin is the web admin of a router: the pages under /admin/, the
// logins, and the admin realm that the pages reach over WebSocket
// (api.go).
type Admin struct {
	cfg   Config
	rt    *router.Router
	log   *slog.Logger
	src   Sources
	decoy []byte // a bcrypt hash compared for unknown users, for timing
	api   *api

	mu     sync.Mutex
	logins map[string]*login // by cookie value
}

// New returns the web admin of rt, showing what src gives besides the
// router. cfg is loaded (Load) first. Close releases it.
func New(rt *router.Router, cfg Config, src Sources) (*Admin, error) {
	cfg, err := cfg.Load()
	if err != nil {
		return nil, err
	}
	decoy, err := bcrypt.GenerateFromPassword([]byte(randomToken()), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	a := &Admin{cfg: cfg, rt: rt, log: cfg.Logger, src: src, decoy: decoy, logins: map[string]*login{}}
	if a.api, err = newAPI(a); err != nil {
		return nil, err
	}
	return a, nil
}

// Close ends the admin's pages' sessions and its own.
func (a *Admin) Close(ctx context.Context) error { return a.api.close(ctx) }

// Handler serves the admin under /admin/: mount it there.
//
// Everything but the login page and the static assets needs a login:
// pages redirect to the login page, the rest answers 401. State-changing
// requests (login, logout) are refused unless they come from the admin's
// own origin (http.CrossOriginProtection), and the WebSocket that every
// action goes through is opened only from the admin's origin with the
// login's CSRF token.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/login", a.loginPage)
	mux.HandleFunc("POST /admin/login", a.loginForm)
	mux.HandleFunc("POST /admin/logout", a.logout)
	mux.Handle("GET /admin/assets/", assets())
	mux.HandleFunc("GET /admin/{$}", a.authed(a.index, false))
	mux.HandleFunc("GET /admin/api/me", a.authed(a.me, true))
	mux.HandleFunc("GET /admin/ws", a.authed(a.websocket, true))
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		if a.current(r) == nil {
			http.Error(w, "log in first: /admin/login", http.StatusUnauthorized)
			return
		}
		http.NotFound(w, r)
	})
	cop := http.NewCrossOriginProtection()
	return cop.Handler(secureHeaders(mux))
}

// secureHeaders sets the headers every admin answer carries: no framing
// (clickjacking), no sniffing, no referrer leaks, and a content policy
// that runs the admin's own scripts only.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// authed wraps a handler that needs a login; api: answer 401 rather than
// redirect to the login page.
func (a *Admin) authed(h func(http.ResponseWriter, *http.Request, *login), api bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := a.current(r)
		if l == nil {
			if api {
				http.Error(w, "log in first: /admin/login", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
			return
		}
		h(w, r, l)
	}
}

// current returns the request's login, nil if it has none that is valid.
// A login in use lasts SessionTTL more.
func (a *Admin) current(r *http.Request) *login {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.logins[c.Value]
	if l == nil || now.After(l.expires) {
		delete(a.logins, c.Value)
		return nil
	}
	l.expires = now.Add(a.cfg.SessionTTL)
	return l
}

func (a *Admin) loginPage(w http.ResponseWriter, r *http.Request) {
	if a.current(r) != nil {
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
		return
	}
	servePage(w, http.StatusOK, "login.html", "")
}

// loginForm checks the form's username and password. Attempts are
// slowed down by the router's authentication throttle, shared with WAMP
// authentication; an unknown user costs the same bcrypt comparison as a
// wrong password.
func (a *Admin) loginForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	user, password := r.PostFormValue("username"), r.PostFormValue("password")
	throttle := a.rt.LoginThrottle()
	if !throttle.Wait(r.RemoteAddr, user, r.Context().Done()) {
		a.log.Warn("admin: login refused: too many failures", "user", user, "remote", r.RemoteAddr)
		servePage(w, http.StatusTooManyRequests, "login.html", "Too many failed logins: wait a minute.")
		return
	}
	hash := a.decoy
	for _, u := range a.cfg.Users {
		if subtle.ConstantTimeCompare([]byte(u.Name), []byte(user)) == 1 {
			hash = []byte(u.PasswordHash)
		}
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || user == "" {
		throttle.Failed(r.RemoteAddr, user)
		a.log.Warn("admin: login failed", "user", user, "remote", r.RemoteAddr)
		servePage(w, http.StatusUnauthorized, "login.html", "Wrong user name or password.")
		return
	}
	token := randomToken()
	now := time.Now()
	a.mu.Lock()
	for k, l := range a.logins {
		if now.After(l.expires) {
			delete(a.logins, k)
		}
	}
	a.logins[token] = &login{user: user, csrf: randomToken(), expires: now.Add(a.cfg.SessionTTL)}
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/admin/", HttpOnly: true,
		Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
	a.log.Info("admin: logged in", "user", user, "remote", r.RemoteAddr)
	http.Redirect(w, r, "/admin/", http.StatusSeeOther)
}

// logout ends the login and closes its user's admin pages.
func (a *Admin) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		a.mu.Lock()
		l := a.logins[c.Value]
		delete(a.logins, c.Value)
		a.mu.Unlock()
		if l != nil {
			a.api.logout(l.user)
			a.log.Info("admin: logged out", "user", l.user, "remote", r.RemoteAddr)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/admin/", MaxAge: -1, HttpOnly: true,
		Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

func (a *Admin) secure(r *http.Request) bool {
	return a.cfg.SecureCookie || r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

func (a *Admin) index(w http.ResponseWriter, _ *http.Request, _ *login) {
	servePage(w, http.StatusOK, "index.html", "")
}

// me tells the page who is logged in and the CSRF token that opens the
// WebSocket; another origin cannot read it.
func (a *Admin) me(w http.ResponseWriter, _ *http.Request, l *login) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"user": l.user, "csrf": l.csrf})
}

// websocket opens the page's WAMP session in the admin realm. The
// upgrade is a GET, which CrossOriginProtection lets through: a page of
// another origin could open it with the browser's cookie (cross-site
// WebSocket hijacking), so the Origin must be the admin's own and the
// login's CSRF token must be given.
func (a *Admin) websocket(w http.ResponseWriter, r *http.Request, l *login) {
	if !sameOrigin(r) {
		http.Error(w, "the admin's WebSocket opens only from the admin's own pages", http.StatusForbidden)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("csrf")), []byte(l.csrf)) != 1 {
		http.Error(w, "missing or wrong csrf token", http.StatusForbidden)
		return
	}
	a.api.serve(w, r, l.user)
}

// sameOrigin reports whether the request's Origin, if any, is the host it
// was sent to.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true // not a browser: the cookie and token are what count
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

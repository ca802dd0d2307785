package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// page logs in and opens the admin realm's WebSocket, as the page does.
func page(t *testing.T, s *adminServer) wampJSON {
	t.Helper()
	c := browser(t)
	if r := postLogin(t, c, s.url, "admin", testPassword, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	_, body := get(t, c, s.url+"/admin/api/me")
	var me struct{ CSRF string }
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		t.Fatal(err)
	}
	conn, err := dialAdmin("ws"+strings.TrimPrefix(s.url, "http")+"/admin/ws?csrf="+me.CSRF, c.Jar.Cookies(mustURL(t, s.url+"/admin/")), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := wampJSON{t: t, conn: conn}
	p.send(1, "junction.admin", map[string]any{"roles": map[string]any{"caller": map[string]any{}}})
	if m := p.recv(); m[0] != float64(2) {
		t.Fatalf("HELLO: %v", m)
	}
	return p
}

// call calls an admin procedure and returns its result, or the ERROR's
// URI.
func (p wampJSON) call(req int, proc string, kwargs map[string]any) (any, string) {
	p.t.Helper()
	p.send(48, req, map[string]any{}, proc, []any{}, kwargs)
	m := p.recv()
	switch m[0] {
	case float64(50):
		return m[3].([]any)[0], ""
	case float64(8):
		return nil, m[4].(string)
	}
	p.t.Fatalf("%s: %v", proc, m)
	return nil, ""
}

// TestSessionsPaged: a realm of thousands of sessions is sent a page at
// a time, filtered and sorted on the server.
func TestSessionsPaged(t *testing.T) {
	s := newAdminServer(t, router.Config{}, Sources{})
	const n = 3000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i := range n {
		peer, err := s.rt.LocalPeer()
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.Join(ctx, peer, client.Config{Realm: "realm1", AuthID: fmt.Sprintf("user-%04d", i), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
	}
	p := page(t, s)
	res, uri := p.call(1, "admin.sessions", map[string]any{"realm": "realm1", "limit": 50, "offset": 100, "sort": "authid", "desc": true})
	if uri != "" {
		t.Fatal(uri)
	}
	page := res.(map[string]any)
	rows := page["rows"].([]any)
	if page["total"] != float64(n) || len(rows) != 50 || rows[0].(map[string]any)["authid"] != fmt.Sprintf("user-%04d", n-1-100) {
		t.Fatalf("page: total %v, %d rows, first %v", page["total"], len(rows), rows[0])
	}
	res, _ = p.call(2, "admin.sessions", map[string]any{"realm": "realm1", "filter": "USER-12"})
	if page := res.(map[string]any); page["total"] != float64(100) { // user-1200 to user-1299
		t.Fatalf("filtered total %v, want 100", page["total"])
	}
	res, _ = p.call(3, "admin.sessions", map[string]any{"realm": "realm1", "offset": n + 10})
	if page := res.(map[string]any); len(page["rows"].([]any)) != 0 || page["total"] != float64(n) {
		t.Fatalf("past the end: %v", page)
	}
	for i, tc := range []struct {
		kwargs map[string]any
		uri    string
	}{
		{map[string]any{}, string(wamp.URIInvalidArgument)},
		{map[string]any{"realm": "nowhere"}, string(wamp.URINoSuchRealm)},
		{map[string]any{"realm": "realm1", "sort": "password"}, string(wamp.URIInvalidArgument)},
	} {
		if _, uri := p.call(10+i, "admin.sessions", tc.kwargs); uri != tc.uri {
			t.Errorf("admin.sessions %v: %q, want %q", tc.kwargs, uri, tc.uri)
		}
	}
	if _, uri := p.call(20, "admin.session.kill", map[string]any{"realm": "realm1", "id": 1}); uri != string(wamp.URINoSuchSession) {
		t.Errorf("kill of no session: %q", uri)
	}
	if _, uri := p.call(21, "admin.queue.requeue", map[string]any{"queue": "q", "id": "x"}); uri != "junction.admin.error.unavailable" {
		t.Errorf("requeue without queues: %q", uri)
	}
}

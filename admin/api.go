package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/router"
	"github.com/junction-run/junction/wamp"
)

// The admin realm: the pages are WAMP clients of a router of the
// admin's own, reachable only through /admin/ws with a login, in which
// the admin's backend session answers the procedures below and publishes
// the ticks and log lines the pages draw. It is a separate router so
// that no client of the administered one can reach it, whatever that
// router's realms allow.
//
// Procedures take their parameters as keyword arguments and answer one
// positional result.
const (
	adminRealm = "junction.admin"
	// topicTick carries, every second, the counters the pages chart and
	// the change number that tells them a view is stale.
	topicTick = "admin.tick"
	// topicLog carries the new log lines, in batches.
	topicLog = "admin.log"
	// authMethodCookie is the admin pages' WAMP authmethod.
	authMethodCookie = "cookie"
)

// tickEvery is how often admin.tick is published.
const tickEvery = time.Second

type api struct {
	a       *Admin
	prt     *router.Router // the admin realm's router
	backend *client.Session
	started time.Time
	// ticket admits the console's sessions to the administered router
	// through a trusted listener: made for this run, never shown.
	ticket string

	console *pool[[2]string] // by user and realm

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// handler answers a procedure of the admin realm.
type handler func(ctx context.Context, p params) (any, error)

// params are a call's keyword arguments.
type params wamp.Dict

func newAPI(a *Admin) (*api, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	prt, err := router.New(router.Config{Realms: []string{adminRealm}, Logger: quiet})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := &api{a: a, prt: prt, started: time.Now(), ticket: randomToken(), console: newPool[[2]string](a.rt), cancel: cancel}
	peer, err := prt.LocalPeer()
	if err == nil {
		x.backend, err = client.Join(ctx, peer, client.Config{Realm: adminRealm, AuthID: "junction-admin", Logger: quiet})
	}
	if err == nil {
		err = x.register(ctx)
	}
	if err != nil {
		cancel()
		prt.Stop(context.Background())
		return nil, fmt.Errorf("web admin: %w", err)
	}
	x.wg.Add(1)
	go x.ticks(ctx)
	if a.src.Logs != nil {
		x.wg.Add(1)
		go x.logs(ctx)
	}
	return x, nil
}

func (x *api) procedures() map[string]handler {
	m := map[string]handler{
		"admin.overview":        x.overview,
		"admin.sessions":        x.sessions,
		"admin.session.kill":    x.kill,
		"admin.subscriptions":   x.entries(x.a.rt.Subscriptions),
		"admin.registrations":   x.entries(x.a.rt.Registrations),
		"admin.console.publish": x.publish,
		"admin.console.call":    x.call,
		"admin.logs":            x.logLines,
		"admin.webhooks":        x.webhooks,
		"admin.queues":          x.queues,
		"admin.queue.dead":      x.queueDead,
		"admin.queue.task":      x.queueTask,
		"admin.queue.requeue":   x.queueRequeue,
		"admin.queue.delete":    x.queueDelete,
		"admin.queue.pause":     x.queuePause,
		"admin.cron":            x.cronJobs,
		"admin.cron.run":        x.named("cron jobs", x.hasCron, x.cronRun),
		"admin.cron.pause":      x.named("cron jobs", x.hasCron, x.cronPause),
		"admin.processes":       x.processes,
		"admin.process.restart": x.named("processes", x.hasProcesses, x.processRestart),
	}
	return m
}

func (x *api) register(ctx context.Context) error {
	for name, h := range x.procedures() {
		_, err := x.backend.Register(ctx, wamp.URI(name), func(ctx context.Context, inv *client.Invocation) (*client.Result, error) {
			p := params{}
			for k, v := range inv.Kwargs {
				p[k] = v
			}
			// The user is the page's authid, which the router gave it
			// from the login: never what the page says.
			p["_user"], _ = wamp.DictString(inv.Details, "caller_authid")
			v, err := h(ctx, p)
			if err != nil {
				var we *wamp.Error
				if !errors.As(err, &we) {
					err = wamp.NewError("junction.admin.error", err.Error())
				}
				return nil, err
			}
			res, err := plain(v)
			if err != nil {
				return nil, err
			}
			return &client.Result{Values: client.Values{Args: wamp.List{res}}}, nil
		}, &client.RegisterOptions{DiscloseCaller: true})
		if err != nil {
			return fmt.Errorf("register %s: %w", name, err)
		}
	}
	return nil
}

// plain turns a Go value into what a WAMP payload carries: lists, maps,
// strings, numbers, booleans, nil, through its JSON form (times as RFC
// 3339, durations in nanoseconds).
func plain(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// serve opens the WebSocket of a logged-in user's page into the admin
// realm, as WAMP role admin.
func (x *api) serve(w http.ResponseWriter, r *http.Request, user string) {
	l := router.Listener{Name: "web admin", Assigned: &router.AssignedAuth{AuthID: user, AuthRole: "admin", Method: authMethodCookie}}
	x.prt.Handler(l).ServeHTTP(w, r)
}

// logout closes the user's pages.
func (x *api) logout(user string) {
	sessions, err := x.prt.Sessions(adminRealm)
	if err != nil {
		return
	}
	for _, s := range sessions {
		if s.AuthID == user && s.AuthMethod == authMethodCookie {
			x.prt.Kill(adminRealm, s.ID, "wamp.close.logout", "logged out")
		}
	}
}

func (x *api) close(ctx context.Context) error {
	x.cancel()
	errs := []error{x.console.close(ctx), closeSession(ctx, x.backend), x.prt.Stop(ctx)}
	x.wg.Wait()
	return errors.Join(errs...)
}

// ticks publishes admin.tick every tickEvery while a page is open.
func (x *api) ticks(ctx context.Context) {
	defer x.wg.Done()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if x.prt.SessionCount() <= 1 {
				// No page open, the backend alone: nobody to tell, and
				// queue counts read every task's record.
				continue
			}
			tick := map[string]any{"time": now.UTC(), "changes": x.a.rt.Changes(), "realms": x.a.rt.Stats(), "nodes": x.a.rt.Nodes()}
			if q := x.a.src.Queues; q != nil {
				if qs, err := q.Queues(ctx); err == nil {
					tick["queues"] = qs
				}
			}
			v, err := plain(tick)
			if err != nil {
				continue
			}
			x.backend.Publish(ctx, topicTick, wamp.List{v}, nil, nil)
		}
	}
}

// logs publishes admin.log with the lines logged since the last batch,
// at most every 100ms.
func (x *api) logs(ctx context.Context) {
	defer x.wg.Done()
	_, notify := x.a.src.Logs.Since(^uint64(0))
	var seq uint64
	if lines, _ := x.a.src.Logs.Since(0); len(lines) > 0 {
		seq = lines[len(lines)-1].Seq
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-notify:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		var lines []LogLine
		lines, notify = x.a.src.Logs.Since(seq)
		if len(lines) == 0 {
			continue
		}
		seq = lines[len(lines)-1].Seq
		if v, err := plain(lines); err == nil {
			x.backend.Publish(ctx, topicLog, wamp.List{v}, nil, nil)
		}
	}
}

// Parameters.

func (p params) str(key string) string {
	s, _ := p[key].(string)
	return s
}

func (p params) need(key string) (string, error) {
	s := p.str(key)
	if s == "" {
		return "", wamp.NewError(wamp.URIInvalidArgument, key+" is required")
	}
	return s, nil
}

func (p params) int(key string, def int) int {
	if n, ok := wamp.AsInt64(p[key]); ok {
		return int(n)
	}
	return def
}

func (p params) flag(key string) bool {
	b, _ := p[key].(bool)
	return b
}

// Overview.

func (x *api) overview(context.Context, params) (any, error) {
	src := x.a.src
	return map[string]any{
		"started": x.started.UTC(), "go": runtime.Version(), "changes": x.a.rt.Changes(),
		"nodes": x.a.rt.Nodes(), "realms": x.a.rt.Stats(),
		"features": map[string]bool{"queues": src.Queues != nil, "cron": src.Cron != nil,
			"processes": src.Processes != nil, "webhooks": src.Webhooks != nil, "logs": src.Logs != nil},
	}, nil
}

// Sessions, paginated, filtered and sorted on the server: a realm of
// 10,000 sessions sends one page.

func (x *api) sessions(_ context.Context, p params) (any, error) {
	realm, err := p.need("realm")
	if err != nil {
		return nil, err
	}
	all, err := x.a.rt.Sessions(realm)
	if err != nil {
		return nil, wamp.NewError(wamp.URINoSuchRealm, err.Error())
	}
	if f := strings.ToLower(p.str("filter")); f != "" {
		all = slices.DeleteFunc(all, func(s router.SessionInfo) bool {
			return !strings.Contains(strings.ToLower(strings.Join([]string{strconv.FormatUint(uint64(s.ID), 10), s.AuthID,
				s.AuthRole, s.AuthMethod, s.Transport, s.Serializer, s.RemoteAddr, s.Node}, " ")), f)
		})
	}
	if key := p.str("sort"); key != "" {
		by := sessionOrder(key)
		if by == nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, "cannot sort sessions by "+key)
		}
		slices.SortStableFunc(all, by)
		if p.flag("desc") {
			slices.Reverse(all)
		}
	}
	total := len(all)
	offset, limit := max(p.int("offset", 0), 0), p.int("limit", 100)
	limit = min(max(limit, 1), 1000)
	offset = min(offset, total)
	return map[string]any{"total": total, "offset": offset, "rows": all[offset:min(offset+limit, total)]}, nil
}

// sessionOrder returns the order of sessions by a column, nil for none.
func sessionOrder(key string) func(a, b router.SessionInfo) int {
	text := func(f func(router.SessionInfo) string) func(a, b router.SessionInfo) int {
		return func(a, b router.SessionInfo) int { return cmp.Compare(f(a), f(b)) }
	}
	switch key {
	case "id":
		return func(a, b router.SessionInfo) int { return cmp.Compare(a.ID, b.ID) }
	case "authid":
		return text(func(s router.SessionInfo) string { return s.AuthID })
	case "authrole":
		return text(func(s router.SessionInfo) string { return s.AuthRole })
	case "authmethod":
		return text(func(s router.SessionInfo) string { return s.AuthMethod })
	case "transport":
		return text(func(s router.SessionInfo) string { return s.Transport + "/" + s.Serializer })
	case "remote_addr":
		return text(func(s router.SessionInfo) string { return s.RemoteAddr })
	case "node":
		return text(func(s router.SessionInfo) string { return s.Node })
	case "joined":
		return func(a, b router.SessionInfo) int { return a.Joined.Compare(b.Joined) }
	case "messages_in":
		return func(a, b router.SessionInfo) int { return cmp.Compare(a.MessagesIn, b.MessagesIn) }
	case "messages_out":
		return func(a, b router.SessionInfo) int { return cmp.Compare(a.MessagesOut, b.MessagesOut) }
	}
	return nil
}

func (x *api) kill(_ context.Context, p params) (any, error) {
	realm, err := p.need("realm")
	if err != nil {
		return nil, err
	}
	id, ok := wamp.AsInt64(p["id"])
	if !ok {
		return nil, wamp.NewError(wamp.URIInvalidArgument, "id must be a session ID")
	}
	if err := x.a.rt.Kill(realm, wamp.ID(id), "wamp.close.killed", "killed from the web admin"); err != nil {
		return nil, wamp.NewError(wamp.URINoSuchSession, err.Error())
	}
	x.a.log.Info("admin: session killed", "realm", realm, "session", id)
	return true, nil
}

// entries serves admin.subscriptions or admin.registrations, each with
// its members described (authid, authrole).
func (x *api) entries(list func(string) ([]router.EntryInfo, error)) handler {
	return func(_ context.Context, p params) (any, error) {
		realm, err := p.need("realm")
		if err != nil {
			return nil, err
		}
		entries, err := list(realm)
		if err != nil {
			return nil, wamp.NewError(wamp.URINoSuchRealm, err.Error())
		}
		sessions, _ := x.a.rt.Sessions(realm)
		byID := make(map[wamp.ID]router.SessionInfo, len(sessions))
		for _, s := range sessions {
			byID[s.ID] = s
		}
		type member struct {
			ID       wamp.ID `json:"id"`
			AuthID   string  `json:"authid"`
			AuthRole string  `json:"authrole"`
		}
		type row struct {
			router.EntryInfo
			Members []member `json:"members"`
		}
		rows := make([]row, len(entries))
		for i, e := range entries {
			rows[i] = row{EntryInfo: e, Members: make([]member, len(e.Members))}
			for j, id := range e.Members {
				s := byID[id]
				rows[i].Members[j] = member{ID: id, AuthID: s.AuthID, AuthRole: s.AuthRole}
			}
		}
		return rows, nil
	}
}

// Console: publications and calls in any realm of the administered
// router, made by a session of the logged-in user that is authorized for
// everything (the admin is its operator).

func (x *api) consoleSession(ctx context.Context, user, realm string) (*client.Session, error) {
	l := router.Listener{Name: "web admin console", Trusted: &router.TrustedAuth{Ticket: x.ticket, Role: "admin"}}
	return x.console.get(ctx, [2]string{user, realm}, l, client.Config{Realm: wamp.URI(realm), AuthID: user,
		Auth: []client.Authenticator{client.TicketAuth(x.ticket)}, Logger: x.a.log})
}

// consoleCall returns the console session of the call's user in the realm
// the call names, and the call's other required parameter (topic or
// procedure) and payload.
func (x *api) consoleCall(ctx context.Context, p params, target string) (*client.Session, wamp.URI, wamp.List, wamp.Dict, error) {
	realm, err := p.need("realm")
	if err != nil {
		return nil, "", nil, nil, err
	}
	uri, err := p.need(target)
	if err != nil {
		return nil, "", nil, nil, err
	}
	args, kwargs, err := payload(p)
	if err != nil {
		return nil, "", nil, nil, err
	}
	s, err := x.consoleSession(ctx, caller(p), realm)
	return s, wamp.URI(uri), args, kwargs, err
}

// caller returns the user who made the call: its session's authid.
func caller(p params) string { return p.str("_user") }

func (x *api) publish(ctx context.Context, p params) (any, error) {
	s, topic, args, kwargs, err := x.consoleCall(ctx, p, "topic")
	if err != nil {
		return nil, err
	}
	id, err := s.Publish(ctx, topic, args, kwargs, &client.PublishOptions{Acknowledge: true})
	if err != nil {
		return nil, err
	}
	return map[string]any{"publication": id}, nil
}

func (x *api) call(ctx context.Context, p params) (any, error) {
	s, proc, args, kwargs, err := x.consoleCall(ctx, p, "procedure")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := s.Call(ctx, proc, args, kwargs, nil)
	if err != nil {
		return nil, err
	}
	return map[string]any{"args": res.Args, "kwargs": res.Kwargs, "ms": float64(time.Since(start).Microseconds()) / 1000}, nil
}

func payload(p params) (wamp.List, wamp.Dict, error) {
	args, ok := p["args"].(wamp.List)
	if !ok && p["args"] != nil {
		return nil, nil, wamp.NewError(wamp.URIInvalidArgument, "args must be a list")
	}
	kwargs, ok := p["kwargs"].(wamp.Dict)
	if !ok && p["kwargs"] != nil {
		return nil, nil, wamp.NewError(wamp.URIInvalidArgument, "kwargs must be an object")
	}
	return args, kwargs, nil
}

// Logs, webhooks.

func (x *api) logLines(context.Context, params) (any, error) {
	if x.a.src.Logs == nil {
		return []LogLine{}, nil
	}
	lines, _ := x.a.src.Logs.Since(0)
	return nonNil(lines), nil
}

func (x *api) webhooks(context.Context, params) (any, error) {
	if x.a.src.Webhooks == nil {
		return []any{}, nil
	}
	return x.a.src.Webhooks(), nil
}

// Queues, cron, processes: each answers wamp.error.no_such_procedure's
// cousin when the program has none.

var errNone = func(what string) error {
	return wamp.NewError("junction.admin.error.unavailable", "this program has no "+what)
}

func (x *api) queues(ctx context.Context, _ params) (any, error) {
	if x.a.src.Queues == nil {
		return []QueueInfo{}, nil
	}
	return x.a.src.Queues.Queues(ctx)
}

func (x *api) queueArgs(p params, id bool) (Queues, string, string, error) {
	q := x.a.src.Queues
	if q == nil {
		return nil, "", "", errNone("task queues")
	}
	name, err := p.need("queue")
	if err != nil || !id {
		return q, name, "", err
	}
	task, err := p.need("id")
	return q, name, task, err
}

func (x *api) queueDead(ctx context.Context, p params) (any, error) {
	q, name, _, err := x.queueArgs(p, false)
	if err != nil {
		return nil, err
	}
	tasks, err := q.Dead(ctx, name)
	return nonNil(tasks), err
}

func (x *api) queueTask(ctx context.Context, p params) (any, error) {
	q, name, id, err := x.queueArgs(p, true)
	if err != nil {
		return nil, err
	}
	return q.Task(ctx, name, id)
}

func (x *api) queueRequeue(ctx context.Context, p params) (any, error) {
	q, name, id, err := x.queueArgs(p, true)
	if err != nil {
		return nil, err
	}
	x.a.log.Info("admin: dead task requeued", "queue", name, "task", id, "user", caller(p))
	return true, q.Requeue(ctx, name, id)
}

func (x *api) queueDelete(ctx context.Context, p params) (any, error) {
	q, name, id, err := x.queueArgs(p, true)
	if err != nil {
		return nil, err
	}
	x.a.log.Info("admin: dead task deleted", "queue", name, "task", id, "user", caller(p))
	return true, q.Delete(ctx, name, id)
}

func (x *api) queuePause(ctx context.Context, p params) (any, error) {
	q, name, _, err := x.queueArgs(p, false)
	if err != nil {
		return nil, err
	}
	x.a.log.Info("admin: "+pausedOrResumed("queue", p), "queue", name, "user", caller(p))
	return true, q.Pause(ctx, name, p.flag("paused"))
}

func (x *api) cronJobs(context.Context, params) (any, error) {
	if x.a.src.Cron == nil {
		return []JobInfo{}, nil
	}
	return nonNil(x.a.src.Cron.Jobs()), nil
}

func (x *api) processes(context.Context, params) (any, error) {
	if x.a.src.Processes == nil {
		return []ProcessInfo{}, nil
	}
	return nonNil(x.a.src.Processes.Processes()), nil
}

// named returns the handler of an operator's action on the job or
// process called by the "name" parameter: refused when the program has
// none (what), logged as done by the user.
func (x *api) named(what string, have func() bool, do func(name string, p params) (done string, err error)) handler {
	return func(_ context.Context, p params) (any, error) {
		if !have() {
			return nil, errNone(what)
		}
		name, err := p.need("name")
		if err != nil {
			return nil, err
		}
		done, err := do(name, p)
		if err != nil {
			return nil, err
		}
		x.a.log.Info("admin: "+done, "name", name, "user", caller(p))
		return true, nil
	}
}

func (x *api) hasCron() bool      { return x.a.src.Cron != nil }
func (x *api) hasProcesses() bool { return x.a.src.Processes != nil }

func (x *api) cronRun(name string, _ params) (string, error) {
	return "job run now", x.a.src.Cron.Run(name)
}

func (x *api) cronPause(name string, p params) (string, error) {
	return pausedOrResumed("job", p), x.a.src.Cron.Pause(name, p.flag("paused"))
}

func (x *api) processRestart(name string, _ params) (string, error) {
	return "process restarted", x.a.src.Processes.Restart(name)
}

func pausedOrResumed(what string, p params) string {
	if p.flag("paused") {
		return what + " paused"
	}
	return what + " resumed"
}

// nonNil returns s, or an empty list for nil: the page gets [] rather
// than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

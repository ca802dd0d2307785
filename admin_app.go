package junction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"

	"github.com/junction-run/junction/admin"
	"github.com/junction-run/junction/cron"
)

// The web admin and the HTTP bridge of an app (package admin), served by
// the app's HTTP server beside its routes: /admin/ with --admin or
// --admin-password-file, POST /publish and /call with
// --http-bridge-token-file. Both need the embedded router.

// adminState is what the app runs of package admin.
type adminState struct {
	logs   *admin.LogBuffer // the log tail, nil without the admin
	admin  *admin.Admin
	bridge *admin.Bridge
	mux    *http.ServeMux // /admin/, /publish, /call
}

// adminQueues adapts the app's queues for the admin. It is set by Queue,
// so that an app without queues does not link the queue engine through
// the admin.
var adminQueues func(app *Application) admin.Queues

// wantsAdmin reports whether the settings ask for the admin.
func (s *Settings) wantsAdmin() bool { return s.Admin || s.AdminPasswordFile != "" }

// withLogTail returns log, feeding the admin's log tail too when the
// admin is on.
func (app *Application) withLogTail(log *slog.Logger) *slog.Logger {
	if app.child != nil || !app.settings.wantsAdmin() {
		return log
	}
	app.adm.logs = admin.NewLogBuffer(log.Handler(), 1000)
	return slog.New(app.adm.logs)
}

// checkAdmin refuses, before anything starts, an admin or bridge asked
// for without the embedded router.
func (app *Application) checkAdmin() error {
	s := &app.settings
	if (s.wantsAdmin() || s.HTTPBridgeTokenFile != "") && s.Connect != "" {
		return errors.New("junction: --admin, --admin-password-file and --http-bridge-token-file serve the embedded router's: they exclude --connect")
	}
	return nil
}

// startAdmin starts the admin and the bridge the settings ask for, once
// everything they show runs.
func (app *Application) startAdmin(ln net.Listener) error {
	s := &app.settings
	if !s.wantsAdmin() && s.HTTPBridgeTokenFile == "" {
		return nil
	}
	app.mu.Lock()
	rt := app.rt
	app.mu.Unlock()
	mux := http.NewServeMux()
	if s.HTTPBridgeTokenFile != "" {
		b, err := admin.NewBridge(rt, admin.BridgeConfig{Realm: s.Realm, Logger: app.log,
			Tokens: []admin.BridgeToken{{TokenFile: s.HTTPBridgeTokenFile}}})
		if err != nil {
			return fmt.Errorf("junction: --http-bridge-token-file: %w", err)
		}
		app.adm.bridge = b
		b.Register(mux)
	}
	if s.wantsAdmin() {
		user := admin.PasswordFileUser(s.AdminPasswordFile)
		if s.AdminPasswordFile == "" {
			var password string
			var err error
			if user, password, err = admin.GeneratedUser("admin"); err != nil {
				return fmt.Errorf("junction: web admin: %w", err)
			}
			url := "(no HTTP: --listen is empty)"
			if ln != nil {
				url = "http://" + ln.Addr().String() + "/admin/"
			}
			app.log.Info("junction: web admin: log in as admin with the password made for this run (--admin-password-file sets one)",
				"url", url, "password", password)
		}
		src := admin.Sources{Logs: app.adm.logs}
		if len(app.jobs) > 0 {
			src.Cron = adminCron{app}
		}
		if app.hasProcesses() || app.hasServices() {
			src.Processes = adminProcesses{app}
		}
		if adminQueues != nil && len(app.queues) > 0 {
			src.Queues = adminQueues(app)
		}
		a, err := admin.New(rt, admin.Config{Users: []admin.User{user}, Logger: app.log}, src)
		if err != nil {
			return fmt.Errorf("junction: web admin: %w", err)
		}
		app.adm.admin = a
		mux.Handle("/admin/", a.Handler())
	}
	app.mu.Lock()
	app.adm.mux = mux
	app.mu.Unlock()
	return nil
}

// serveAdmin serves the requests for the admin and the bridge, and
// reports whether r was one.
func (app *Application) serveAdmin(w http.ResponseWriter, r *http.Request) bool {
	app.mu.Lock()
	mux := app.adm.mux
	app.mu.Unlock()
	if mux == nil {
		return false
	}
	if _, pattern := mux.Handler(r); pattern == "" {
		return false
	}
	mux.ServeHTTP(w, r)
	return true
}

// closeAdmin closes the admin's and the bridge's sessions.
func (app *Application) closeAdmin(ctx context.Context) error {
	var errs []error
	if b := app.adm.bridge; b != nil {
		errs = append(errs, b.Close(ctx))
	}
	if a := app.adm.admin; a != nil {
		errs = append(errs, a.Close(ctx))
	}
	return errors.Join(errs...)
}

// adminCron shows the app's cron jobs.
type adminCron struct{ app *Application }

func (c adminCron) Jobs() []admin.JobInfo {
	jobs := c.app.Jobs()
	out := make([]admin.JobInfo, len(jobs))
	for i, j := range jobs {
		out[i] = admin.JobInfo{Name: j.Name, Schedule: j.Schedule, Next: j.Next, LastRun: j.LastRun,
			LastDuration: j.LastDuration, LastResult: j.LastResult, Runs: j.Runs, Failures: j.Failures, Paused: j.Paused}
	}
	return out
}

func (c adminCron) Run(name string) error {
	s := c.app.runningScheduler()
	if s == nil {
		return errors.New("the app's scheduler is not running")
	}
	return s.RunNow(name)
}

func (c adminCron) Pause(name string, paused bool) error {
	s := c.app.runningScheduler()
	if s == nil {
		return errors.New("the app's scheduler is not running")
	}
	if paused {
		return s.Pause(name)
	}
	return s.Resume(name)
}

// adminProcesses shows the app's processes and services.
type adminProcesses struct{ app *Application }

func (p adminProcesses) Processes() []admin.ProcessInfo {
	list := p.app.ProcessList()
	out := make([]admin.ProcessInfo, len(list))
	for i, pi := range list {
		out[i] = admin.ProcessInfo{Name: pi.Name, Kind: pi.Kind, Status: pi.State, PID: pi.PID, Restarts: pi.Restarts,
			Started: pi.StartedAt, LastExit: pi.LastExit, Logs: slices.Clone(pi.Lines)}
	}
	return out
}

func (p adminProcesses) Restart(name string) error {
	ctx, cancel := context.WithTimeout(p.app.runCtx, p.app.settings.ShutdownTimeout)
	defer cancel()
	return p.app.RestartProcess(ctx, name)
}

// runningScheduler returns the app's cron scheduler, nil if it has none.
func (app *Application) runningScheduler() *cron.Scheduler {
	app = app.root()
	app.mu.Lock()
	defer app.mu.Unlock()
	return app.scheduler
}

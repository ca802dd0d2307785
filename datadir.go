package junction

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/junction-run/junction/internal/datadir"
)

// dataDir is the app's data directory while it runs.
type dataDir struct {
	dflt string       // the default, $XDG_STATE_HOME/APP; "" without a home
	dir  *datadir.Dir // locked by Start when something stores in it
	temp bool         // a test's temporary directory, removed at the end
}

// defaultListen is the Listen default, which a test binary replaces with
// a free port.
const defaultListen = "127.0.0.1:8080"

// testDefaults gives an app started by a test, rather than by Main, a
// free port and a temporary data dir where its settings kept the
// defaults: tests run side by side and must not share 8080 or a store.
func (app *Application) testDefaults() {
	if !testing.Testing() || app.viaMain {
		return
	}
	s := &app.settings
	if s.Listen == defaultListen {
		s.Listen = "127.0.0.1:0"
	}
	if s.DataDir == app.data.dflt {
		app.data.temp = true
	}
}

// needsDataDir reports whether the app stores anything in its data dir:
// today, the embedded NATS server that holds its queues (not started
// with --nats, nor for an app with neither queues nor --nats-listen).
func (app *Application) needsDataDir() bool {
	return app.settings.NATS == "" && app.needsEngine()
}

// openDataDir creates, checks and locks the data dir if the app needs
// one, before anything is started: an unusable directory or one held by
// another process fails the start at once, naming the directory.
func (app *Application) openDataDir() error {
	if !app.needsDataDir() {
		return nil
	}
	if _, err := app.embeddedOpener(); err != nil {
		return err // before the directory is made
	}
	path := app.settings.DataDir
	if app.data.temp {
		tmp, err := os.MkdirTemp("", app.name+"-data-")
		if err != nil {
			return fmt.Errorf("junction: temporary data dir: %w", err)
		}
		path = tmp
	}
	if path == "" {
		return errors.New("junction: no data dir: the home directory is unknown; set --data-dir")
	}
	d, err := datadir.Open(path)
	if err != nil {
		if app.data.temp {
			os.RemoveAll(path)
		}
		return fmt.Errorf("junction: %w", err)
	}
	app.mu.Lock()
	app.data.dir = d
	app.mu.Unlock()
	app.log.Info("junction: data dir", "dir", d.Path())
	return nil
}

// dataPath returns the locked data dir's path; "" if none is open.
func (app *Application) dataPath() string {
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.data.dir == nil {
		return ""
	}
	return app.data.dir.Path()
}

// closeDataDir releases the data dir, and removes a test's temporary one.
func (app *Application) closeDataDir() error {
	app.mu.Lock()
	d := app.data.dir
	app.data.dir = nil
	app.mu.Unlock()
	if d == nil {
		return nil
	}
	err := d.Close()
	if app.data.temp {
		err = errors.Join(err, os.RemoveAll(d.Path()))
	}
	if err != nil {
		return fmt.Errorf("junction: data dir: %w", err)
	}
	return nil
}

package junction

import (
	"log/slog"

	"github.com/junction-run/junction/router"
)

// Option tunes what it is given to: New, Subscribe, Register, Publish,
// Call, HTTP.Serve... Each option's documentation says where it applies;
// an option given where it does not apply is an error (reported by Start
// for declarations, returned for calls), never silently ignored.
type Option interface {
	optionName() string
}

// appOption is an Option of New.
type appOption interface {
	Option
	applyApp(*Application)
}

type appOpt struct {
	name  string
	apply func(*Application)
}

func (o appOpt) optionName() string        { return o.name }
func (o appOpt) applyApp(app *Application) { o.apply(app) }

// WithPrefix sets the prefix of the app's relative URIs, the app's name
// by default; "" makes every name absolute. Option of New.
func WithPrefix(prefix string) Option {
	return appOpt{"WithPrefix", func(app *Application) { app.prefix = prefix }}
}

// WithLogger makes the app log to l instead of the logger built from the
// --log-format and --log-level settings. Option of New.
func WithLogger(l *slog.Logger) Option {
	return appOpt{"WithLogger", func(app *Application) { app.logger = l }}
}

// WithRouterConfig tunes the embedded router (limits, event history...).
// Its Realms are replaced by the --realm setting and its Logger by the
// app's unless set. Option of New.
func WithRouterConfig(cfg router.Config) Option {
	return appOpt{"WithRouterConfig", func(app *Application) { app.routerConfig = cfg }}
}

// WithSettings changes the defaults of the built-in settings (listen
// address, realm...) before the command line, environment and settings
// file are applied on top. Option of New.
func WithSettings(f func(*Settings)) Option {
	return appOpt{"WithSettings", func(app *Application) { f(&app.settings) }}
}

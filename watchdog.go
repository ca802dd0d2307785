package junction

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/junction-run/junction/wamp"
)

// watch starts watching a handler in debug mode: if it still runs after
// the SlowHandler threshold, the watchdog logs its kind, name and current
// stack (where it is stuck, not where it started) and counts it. The
// returned func ends the watch; for a reported handler it logs how long
// it ran in the end. Outside debug mode watch costs nothing.
func (app *Application) watch(kind, name string) (done func()) {
	app = app.root()
	threshold := app.settings.SlowHandler
	if !app.settings.Debug || threshold <= 0 {
		return func() {}
	}
	gid := goroutineID()
	start := time.Now()
	t := time.AfterFunc(threshold, func() {
		app.metrics.slow.Inc()
		app.Logger().Warn("junction: slow handler: it blocks what waits on it; move long work to a goroutine or a queue",
			"kind", kind, "handler", name, "running", time.Since(start).Round(time.Millisecond),
			"threshold", threshold, "stack", goroutineStack(gid))
	})
	return func() {
		if !t.Stop() {
			app.Logger().Warn("junction: slow handler finished", "kind", kind, "handler", name,
				"took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// goroutineID returns the calling goroutine's ID, from its stack header
// ("goroutine 42 [running]:"). Only the watchdog uses it.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}

// goroutineStack returns the current stack of goroutine id, or "" if it
// has ended.
func goroutineStack(id uint64) string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	header := []byte("goroutine " + strconv.FormatUint(id, 10) + " ")
	for block := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.HasPrefix(block, header) {
			return string(block)
		}
	}
	return ""
}

// recovered handles a handler's panic value r: it logs it with the stack,
// counts it, and returns the error the handler's caller gets.
func (app *Application) recovered(kind, name string, r any) error {
	app = app.root()
	// Logged before counted: whoever sees the count can find the line.
	app.Logger().Error("junction: handler panicked", "kind", kind, "handler", name,
		"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	app.metrics.panics.WithLabelValues(kind).Inc()
	return wamp.NewError(uriRuntimeError, fmt.Sprintf("%s: handler panicked: %v", name, r))
}

const uriRuntimeError wamp.URI = "wamp.error.runtime_error"

// Package signals turns SIGINT and SIGTERM into a graceful stop, and a
// repeated signal into an exit now, with one rule for every Junction
// program.
//
// The rule: the first signal asks for a graceful stop; another one at
// least Repeat later means "exit now". Signals closer together are one
// request delivered twice: timeout(1) passes a signal both to the process
// and to its group, and a process manager may do the same, while a human
// pressing Ctrl-C again takes longer than Repeat.
package signals

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Repeat is how long after the first signal another one means "exit
// now".
const Repeat = 500 * time.Millisecond

// Notify starts catching SIGINT and SIGTERM. The context it returns is
// cancelled by the first one; force is called by a later one that comes
// Repeat or more after it (force usually exits the process). stop stops
// catching and cancels the context.
func Notify(force func()) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 8)
	done := make(chan struct{})
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		first := time.Now()
		cancel()
		for {
			select {
			case <-sig:
				if time.Since(first) >= Repeat {
					force()
					return
				}
			case <-done:
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(sig); close(done); cancel() }
}

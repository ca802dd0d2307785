package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// demoFlags are the flags of junction demo.
type demoFlags struct {
	listen string
	once   bool
	logs   logFlags
}

func (f *demoFlags) register(fs *flagSet) {
	fs.String(&f.listen, "listen", "127.0.0.1:8080", "serve the demo app, its HTTP routes and WAMP at /ws, on this `HOST:PORT`", checkListen)
	fs.Bool(&f.once, "once", "exit after the demo instead of serving until interrupted")
	// The demo tells its story on stdout; the app's info logs on stderr
	// would bury it.
	f.logs.register(fs, "warn")
}

func setupDemo(fs *flagSet) work {
	f := new(demoFlags)
	f.register(fs)
	return func(_ []string, stdout, stderr io.Writer) error { return runDemo(f, stdout, stderr) }
}

// runDemo runs a Junction app, "demo", that embeds the router and serves
// HTTP routes, procedures, a task queue and a cron job; then two outside
// WAMP clients, alice and bob, show pub/sub, RPC and the queue, printing
// each step. The app keeps serving until a signal (or exits at once with
// --once).
func runDemo(f *demoFlags, stdout, stderr io.Writer) error {
	log, err := f.logs.logger(stderr)
	if err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "junction-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)

	wait := notifySignals()
	app, password, err := demoApp(log, f.listen, data)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	}()
	base := "http://" + app.Addr().String()
	url := "ws://" + app.Addr().String() + "/ws"
	fmt.Fprintf(stdout, "app:   serving %s/ (HTTP) and %s (WAMP, realm realm1)\n", base, url)
	fmt.Fprintf(stdout, "admin: %s/admin/ (user admin, password %s)\n", base, password)
	if err := demo(url, stdout); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if f.once {
		return nil
	}
	fmt.Fprintf(stdout, "demo done; the app keeps serving, try:\n"+
		"  curl '%[1]s/api/add?a=2&b=3'\n"+
		"  curl -X POST '%[1]s/api/square?n=12'   then   curl %[1]s/api/tasks/ID\n"+
		"  any WAMP client on %[2]s (demo.add, demo.news, demo.time every 5s)\n"+
		"Ctrl-C to stop\n", base, url)
	wait()
	return nil
}

// demoApp is the demo's application: the framework's main pieces in a
// few lines each, and the web admin, whose password it makes and
// returns.
func demoApp(log *slog.Logger, listen, data string) (*junction.Application, string, error) {
	password := rand.Text()[:16]
	pwFile := filepath.Join(data, "admin-password")
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		return nil, "", err
	}
	app := junction.New("demo", junction.WithLogger(log), junction.WithSettings(func(s *junction.Settings) {
		s.Listen, s.DataDir, s.AdminPasswordFile = listen, data, pwFile
	}))
	app.Register("add", func(a, b int) int { return a + b }) // demo.add
	squares := app.Queue("squares", junction.Workers(2))
	squares.Task("square", func(n int) int { return n * n })
	app.Every(5*time.Second, func(ctx context.Context) error {
		tick, _ := junction.Tick(ctx)
		return app.Publish(ctx, ".time", tick.UTC().Format(time.RFC3339)) // demo.time
	}, junction.JobName("clock"))

	app.HTTP.Get("/", func(w http.ResponseWriter, r *http.Request) {
		junction.Text(w, http.StatusOK, "Junction demo app\n\n"+
			"GET  /api/add?a=2&b=3   calls demo.add over WAMP\n"+
			"POST /api/square?n=12   enqueues a task; GET /api/tasks/ID waits for its result\n"+
			"WAMP at /ws, realm realm1: demo.add, demo.news, demo.time (every 5s),\n"+
			"     junction.queue.squares.*, junction.cron.list, wamp.session.*\n"+
			"GET  /metrics           Prometheus metrics\n"+
			"GET  /admin/            the web admin (user admin; the demo printed the password)\n")
	})
	app.HTTP.Get("/api/add", junction.Handle(func(w http.ResponseWriter, r *http.Request) error {
		a, errA := strconv.Atoi(junction.Query(r, "a"))
		b, errB := strconv.Atoi(junction.Query(r, "b"))
		if errA != nil || errB != nil {
			return junction.NewHTTPError(http.StatusBadRequest, "want integers a and b: /api/add?a=2&b=3")
		}
		res, err := app.Call(r.Context(), "add", a, b)
		if err != nil {
			return err
		}
		return junction.JSON(w, http.StatusOK, junction.M{"sum": res.Arg(0)})
	}))
	app.HTTP.Post("/api/square", junction.Handle(func(w http.ResponseWriter, r *http.Request) error {
		n, err := strconv.Atoi(junction.Query(r, "n"))
		if err != nil {
			return junction.NewHTTPError(http.StatusBadRequest, "want an integer n: /api/square?n=12")
		}
		id, err := squares.Enqueue(r.Context(), "square", n)
		if err != nil {
			return err
		}
		return junction.JSON(w, http.StatusAccepted, junction.M{"task": id})
	}))
	app.HTTP.Get("/api/tasks/:id", junction.Handle(func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		res, err := squares.Result(ctx, junction.Param(r, "id"))
		if err != nil {
			return err
		}
		return junction.JSON(w, http.StatusOK, res)
	}))
	return app, password, nil
}

// demo plays one publisher/subscriber and one caller over real WebSocket
// sessions, the way any WAMP client would, against the demo app.
func demo(url string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	quiet := client.Config{Logger: slog.New(slog.DiscardHandler)}
	alice, err := client.Dial(ctx, url, quiet)
	if err != nil {
		return err
	}
	defer alice.Close(ctx)
	bob, err := client.Dial(ctx, url, quiet)
	if err != nil {
		return err
	}
	defer bob.Close(ctx)
	fmt.Fprintf(out, "alice: joined as session %d\nbob:   joined as session %d\n", alice.ID(), bob.ID())

	got := make(chan *client.Event, 3)
	if _, err := bob.Subscribe(ctx, "demo.news", func(_ context.Context, e *client.Event) { got <- e }, nil); err != nil {
		return err
	}
	fmt.Fprintln(out, "bob:   subscribed to demo.news")
	for i, headline := range []string{"router up", "pub/sub works", "rpc next"} {
		id, err := alice.Publish(ctx, "demo.news", wamp.List{headline}, wamp.Dict{"n": i + 1}, &client.PublishOptions{Acknowledge: true})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "alice: published %q (publication %d)\n", headline, id)
		select {
		case e := <-got:
			fmt.Fprintf(out, "bob:   received %q, n=%v\n", e.Arg(0), e.Kwarg("n"))
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	res, err := alice.Call(ctx, "demo.add", wamp.List{2, 3}, nil, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "alice: demo.add(2, 3) = %v   (a typed Go function of the app)\n", res.Arg(0))
	_, err = alice.Call(ctx, "demo.add", wamp.List{"two", 3}, nil, nil)
	var werr *wamp.Error
	if !errors.As(err, &werr) {
		return fmt.Errorf("demo.add with a bad argument: got %v, want a WAMP error", err)
	}
	fmt.Fprintf(out, "alice: demo.add(\"two\", 3) failed: %v\n", werr)
	_, err = alice.Call(ctx, "demo.nothing", nil, nil, nil)
	if !errors.Is(err, wamp.ErrNoSuchProcedure) {
		return fmt.Errorf("calling nothing: got %v, want %v", err, wamp.ErrNoSuchProcedure)
	}
	fmt.Fprintf(out, "alice: demo.nothing() failed: %v\n", err)

	res, err = alice.Call(ctx, "junction.queue.squares.enqueue", wamp.List{"square", 7}, nil, nil)
	if err != nil {
		return err
	}
	id, _ := res.ArgString(0)
	fmt.Fprintf(out, "alice: enqueued square(7) as task %s\n", id)
	res, err = alice.Call(ctx, "junction.queue.squares.result", wamp.List{id}, nil, nil)
	if err != nil {
		return err
	}
	r, _ := res.Arg(0).(wamp.Dict)
	fmt.Fprintf(out, "alice: task %s is %v: %v\n", id, r["state"], r["value"])
	return nil
}

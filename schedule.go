package junction

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/junction-run/junction/cron"
	"github.com/junction-run/junction/queue"
)

// Job is scheduled work: Every, Cron and At run it with a context that
// ends when the app stops or the run's Timeout expires. Its error (or
// panic) is logged and counted; the schedule goes on. Jobs are declared
// before Run, or from a Starting hook when their schedule comes from the
// app's settings (resolved by the command line before Starting).
type Job func(ctx context.Context) error

// jobDecl is a job declared before Start.
type jobDecl struct {
	kind  string // "every", "cron" or "at"
	name  string
	named bool // by JobName
	every time.Duration
	spec  string
	at    time.Time
	job   Job
	opts  cron.Options
	// proc and declaredIn: as component's.
	proc, declaredIn string
	// owner is the app that declared it, whose context the job gets
	// (an embedded app's job runs in the app that embeds it).
	owner *Application
}

// jobOption is an Option of Every, Cron and At.
type jobOption interface {
	Option
	applyJob(*jobDecl)
}

type jobOpt struct {
	name  string
	apply func(*jobDecl)
}

func (o jobOpt) optionName() string  { return o.name }
func (o jobOpt) applyJob(j *jobDecl) { o.apply(j) }

// NoOverlap skips a run, rather than starting it, while the job's
// previous run is still going; the skip is logged and counted. Option of
// Every, Cron and At.
func NoOverlap() Option {
	return jobOpt{"NoOverlap", func(j *jobDecl) { j.opts.NoOverlap = true }}
}

// Jitter delays each run by a random duration below d, so that many
// processes or jobs do not all fire at the same instant. Option of Every,
// Cron and At.
func Jitter(d time.Duration) Option {
	return jobOpt{"Jitter", func(j *jobDecl) { j.opts.Jitter = d }}
}

// JobName names a job in logs, metrics, junction.cron.list and the lock
// that makes it run once per tick across processes. Default: the name of
// the job's function ("pollFeeds"), or for a function literal its
// schedule ("every 5m0s", "cron 0 9 * * *", "at 2027-01-01T09:00:00Z"),
// followed by " #2", " #3"... when an earlier job has the same default:
// the same in every process of the app. Option of Every, Cron and At.
func JobName(name string) Option {
	return jobOpt{"JobName", func(j *jobDecl) { j.name, j.named = name, true }}
}

// Every runs job every d, on the multiples of d since the zero time (UTC),
// so that every process of the app ticks together: every 5 minutes at
// :00, :05, :10...; the first run is at the first multiple after the app
// starts.
func (app *Application) Every(d time.Duration, job Job, opts ...Option) {
	app.addJob(&jobDecl{kind: "every", every: d, job: job}, opts)
}

// Cron runs job on a cron schedule: five fields ("30 7 * * 1"), six with
// seconds first ("0 */5 * * * *"), a descriptor ("@hourly", "@every
// 1h30m"), optionally in a time zone ("CRON_TZ=Europe/Paris 0 9 * * *").
// Without a zone the app's local time applies.
func (app *Application) Cron(spec string, job Job, opts ...Option) {
	app.addJob(&jobDecl{kind: "cron", spec: spec, job: job}, opts)
}

// At runs job once at t.
func (app *Application) At(t time.Time, job Job, opts ...Option) {
	app.addJob(&jobDecl{kind: "at", at: t, job: job}, opts)
}

func (app *Application) addJob(j *jobDecl, opts []Option) {
	if j.job == nil {
		app.setupError(fmt.Errorf("junction: %s: nil job", j.kind))
		return
	}
	j.name = baseJobName(j)
	j.owner = app
	for _, o := range opts {
		jo, ok := o.(jobOption)
		if !ok {
			app.setupError(fmt.Errorf("junction: %s job %s: option %s does not apply to jobs", j.kind, j.name, o.optionName()))
			return
		}
		jo.applyJob(j)
	}
	if j.kind == "cron" {
		if _, err := cron.Parse(j.spec); err != nil {
			app.setupError(fmt.Errorf("junction: cron job %s: %w", j.name, err))
			return
		}
	}
	app.mu.Lock()
	if !j.named {
		j.name = app.uniqueJobName(j.name)
	}
	// Processes of the app may share cron locks through this one's
	// embedded NATS server (--nats-listen).
	app.openEmbedded, app.startCluster = queue.Open, startClusterNode
	running, sched := app.state == stateRunning, app.scheduler
	app.jobs = append(app.jobs, j)
	app.mu.Unlock()
	if running && app.runsHere(j.proc) {
		if err := app.schedule(sched, j); err != nil {
			app.setupError(err)
		}
	}
}

// baseJobName names a job declared without JobName (see JobName), before
// uniqueJobName tells it apart from the app's other jobs.
func baseJobName(j *jobDecl) string {
	name := funcName(j.job)
	if !strings.Contains(name, ".func") { // a named function
		return name
	}
	switch j.kind {
	case "every":
		return "every " + j.every.String()
	case "cron":
		return "cron " + j.spec
	}
	return "at " + j.at.UTC().Format(time.RFC3339)
}

// uniqueJobName is name, or name followed by " #2", " #3"... if an
// earlier job has it. app.mu must be held.
func (app *Application) uniqueJobName(name string) string {
	taken := func(n string) bool {
		return slices.ContainsFunc(app.jobs, func(o *jobDecl) bool { return o.name == n })
	}
	unique := name
	for i := 2; taken(unique); i++ {
		unique = name + " #" + strconv.Itoa(i)
	}
	return unique
}

// funcName is the short name of a function: "pollFeeds" for
// main.pollFeeds, "main.func1" for a closure in main.
func funcName(f any) string {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	if fn == nil {
		return "job"
	}
	name := fn.Name()
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	if _, rest, ok := strings.Cut(name, "."); ok && !strings.Contains(rest, ".func") {
		return rest
	}
	return name
}

// schedule hands j to the scheduler, wrapped as the app runs every
// handler.
func (app *Application) schedule(s *cron.Scheduler, j *jobDecl) error {
	job := app.wrapJob(j)
	var err error
	switch j.kind {
	case "every":
		err = s.Every(j.name, j.every, job, j.opts)
	case "cron":
		err = s.Cron(j.name, j.spec, job, j.opts)
	case "at":
		err = s.At(j.name, j.at, job, j.opts)
	}
	if err != nil {
		return fmt.Errorf("junction: %s job %s: %w", j.kind, j.name, err)
	}
	return nil
}

// wrapJob gives a job the app in its context, the watchdog, and the
// app's counting of errors and panics.
func (app *Application) wrapJob(j *jobDecl) cron.Job {
	return func(ctx context.Context) (err error) {
		defer app.watch("job", j.name)()
		defer func() {
			if r := recover(); r != nil {
				err = app.recovered("job", j.name, r)
			}
		}()
		if err = j.job(withApp(ctx, cmp.Or(j.owner, app))); err != nil {
			app.metrics.errors.WithLabelValues("job").Inc()
		}
		return err
	}
}

// startScheduler starts the cron scheduler when the app has jobs; the
// queue engine, when there is one, makes each tick run once across the
// processes that share it.
func (app *Application) startScheduler(ctx context.Context) error {
	app.mu.Lock()
	jobs := append([]*jobDecl(nil), app.jobs...)
	app.mu.Unlock()
	cfg := cron.Config{Logger: app.log, Namespace: app.name, Registerer: app.metrics.reg}
	if app.engine != nil {
		cfg.Locker = app.engine
	}
	s := cron.New(cfg)
	for _, j := range jobs {
		if !app.runsHere(j.proc) {
			continue
		}
		if err := app.schedule(s, j); err != nil {
			return err
		}
	}
	if err := s.Start(ctx); err != nil {
		return fmt.Errorf("junction: cron: %w", err)
	}
	app.mu.Lock()
	app.scheduler = s
	app.mu.Unlock()
	return nil
}

// Tick returns the scheduled time of the tick a job runs for, the same
// in every process whatever the run's delay or jitter: the key for work
// that must happen once per tick (a deduplication ID, a report's
// period). ok is false outside a job.
func Tick(ctx context.Context) (t time.Time, ok bool) { return cron.Tick(ctx) }

// Jobs lists the app's scheduled jobs with their last and next runs, as
// junction.cron.list gives them.
func (app *Application) Jobs() []cron.JobInfo {
	app = app.root()
	app.mu.Lock()
	s := app.scheduler
	app.mu.Unlock()
	if s == nil {
		return []cron.JobInfo{} // an empty list, not null, in JSON
	}
	return s.Jobs()
}

package junction

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/junction-run/junction/internal/supervise"
)

// Service is an external program the app depends on (a cache, a
// search engine, a helper written in another language), supervised by
// the app as crossbar.io's guest workers and supervisord's programs
// are: started before the app is ready, in dependency order, its output
// logged line by line, restarted by its policy, stopped after the app's
// own components on shutdown, and shown and restarted over WAMP
// (junction.process.list, junction.process.restart) like the app's
// processes.
type Service struct {
	app  *Application
	name string
	spec supervise.Spec
	deps []string

	mu sync.Mutex
	sp *supervise.Process // nil until started
}

// ServiceOption is an option of Application.Service.
type ServiceOption interface {
	applyService(*Service) error
}

type serviceOpt func(*Service) error

func (o serviceOpt) applyService(s *Service) error { return o(s) }

// Service declares the external program argv (its path, then its
// arguments) as the app's service called name (lower-case letters,
// digits, '-' and '_'):
//
//	app.Service("cache", []string{"/usr/bin/redis-server", "--port", "6390"},
//		junction.ReadyWhen(junction.TCP("127.0.0.1:6390")))
//
// What can be checked before anything starts is checked by Start: the
// program exists and is executable, the user and group exist and the
// app may switch to them, the dependencies are declared services
// without a cycle. A service that does not become ready fails Start
// with a message saying which and why. Services run in the main
// process.
func (app *Application) Service(name string, argv []string, opts ...ServiceOption) *Service {
	s := &Service{app: app, name: name, spec: supervise.Spec{Name: name, Kind: "service"}}
	err := func() error {
		if !processNameRE.MatchString(name) {
			return errors.New("a service name is lower-case letters, digits, '-' and '_', starting with a letter")
		}
		if len(argv) == 0 || argv[0] == "" {
			return errors.New("no program: argv is empty")
		}
		s.spec.Path, s.spec.Args = argv[0], slices.Clone(argv[1:])
		for _, o := range opts {
			if o == nil {
				return errors.New("nil option")
			}
			if err := o.applyService(s); err != nil {
				return err
			}
		}
		return nil
	}()
	app.mu.Lock()
	for _, o := range app.services {
		if o.name == name && err == nil {
			err = errors.New("declared twice")
		}
	}
	app.services = append(app.services, s)
	app.mu.Unlock()
	if err != nil {
		app.setupError(fmt.Errorf("junction: Service(%q): %w", name, err))
	}
	return s
}

// Name returns the service's name.
func (s *Service) Name() string { return s.name }

// User runs the service as this user (a name or a numeric id). The app
// must run as root to switch; otherwise Start fails and says so.
func User(name string) ServiceOption {
	return serviceOpt(func(s *Service) error { s.spec.User = name; return nil })
}

// Group runs the service with this group (a name or a numeric id); by
// default the user's primary group when User is given.
func Group(name string) ServiceOption {
	return serviceOpt(func(s *Service) error { s.spec.Group = name; return nil })
}

// Dir runs the service in this working directory.
func Dir(dir string) ServiceOption {
	return serviceOpt(func(s *Service) error { s.spec.Dir = dir; return nil })
}

// Env adds environment variables, "KEY=value", to the app's environment
// that the service inherits.
func Env(kv ...string) ServiceOption {
	return serviceOpt(func(s *Service) error {
		for _, e := range kv {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				return fmt.Errorf("Env(%q): want KEY=value", e)
			}
		}
		if s.spec.Env == nil {
			s.spec.Env = os.Environ()
		}
		s.spec.Env = append(s.spec.Env, kv...)
		return nil
	})
}

// Restart sets the service's restart policy (default: always, backoff
// from 100ms to 30s, given up after 5 restarts in a minute).
func Restart(policy RestartPolicy) ServiceOption {
	return serviceOpt(func(s *Service) error {
		if err := policy.validate(); err != nil {
			return err
		}
		s.spec.Restart = policy.supervised()
		return nil
	})
}

// ReadyCheck tells when a service is ready: TCP, HTTPGet or LogLine.
type ReadyCheck struct{ c supervise.Check }

// TCP is ready when a TCP connection to addr (host:port) succeeds.
func TCP(addr string) ReadyCheck { return ReadyCheck{supervise.TCP(addr)} }

// HTTPGet is ready when a GET of url answers 2xx or 3xx.
func HTTPGet(url string) ReadyCheck { return ReadyCheck{supervise.HTTP(url)} }

// LogLine is ready when a line the service writes (stdout or stderr)
// matches the regular expression re; a bad expression is reported by
// Start.
func LogLine(re string) ReadyCheck {
	r, err := regexp.Compile(re)
	if err != nil {
		return ReadyCheck{badCheck{fmt.Errorf("LogLine(%q): %w", re, err)}}
	}
	return ReadyCheck{supervise.LogLine(r)}
}

// badCheck carries a ReadyCheck's construction error to Service.
type badCheck struct{ err error }

func (b badCheck) Check(context.Context) error { return b.err }
func (b badCheck) String() string              { return b.err.Error() }

// ReadyWhen makes Start wait until c says the service is ready, at most
// ReadyTimeout (default 30s); without it, a service is ready as soon as
// it started.
func ReadyWhen(c ReadyCheck) ServiceOption {
	return serviceOpt(func(s *Service) error {
		if b, ok := c.c.(badCheck); ok {
			return b.err
		}
		if c.c == nil {
			return errors.New("ReadyWhen: empty check")
		}
		s.spec.Ready = c.c
		return nil
	})
}

// ReadyTimeout bounds how long Start waits for the service to be ready.
func ReadyTimeout(d time.Duration) ServiceOption {
	return serviceOpt(func(s *Service) error {
		if d <= 0 {
			return fmt.Errorf("ReadyTimeout(%s): want a positive duration", d)
		}
		s.spec.ReadyTimeout = d
		return nil
	})
}

// StopSignal is the signal that asks the service to stop (default
// SIGTERM).
func StopSignal(sig syscall.Signal) ServiceOption {
	return serviceOpt(func(s *Service) error { s.spec.StopSignal = sig; return nil })
}

// StopTimeout is how long the service gets to exit after StopSignal
// before it is killed (default 10s).
func StopTimeout(d time.Duration) ServiceOption {
	return serviceOpt(func(s *Service) error {
		if d <= 0 {
			return fmt.Errorf("StopTimeout(%s): want a positive duration", d)
		}
		s.spec.StopTimeout = d
		return nil
	})
}

// DependsOn starts the service after the named services are ready, and
// stops it before them.
func DependsOn(services ...string) ServiceOption {
	return serviceOpt(func(s *Service) error { s.deps = append(s.deps, services...); return nil })
}

// stopSignal is the signal that stops the app's children.
const stopSignal = syscall.SIGTERM

func (s *Service) started() *supervise.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sp
}

func (app *Application) hasServices() bool {
	app.mu.Lock()
	defer app.mu.Unlock()
	return len(app.services) > 0
}

// serviceOrder returns the services in dependency order, or an error
// naming an unknown dependency or a cycle.
func (app *Application) serviceOrder() ([]*Service, error) {
	app.mu.Lock()
	svcs := slices.Clone(app.services)
	app.mu.Unlock()
	byName := make(map[string]*Service, len(svcs))
	for _, s := range svcs {
		byName[s.name] = s
	}
	var order []*Service
	state := make(map[*Service]int) // 1 visiting, 2 done
	var visit func(s *Service, path []string) error
	visit = func(s *Service, path []string) error {
		switch state[s] {
		case 1:
			return fmt.Errorf("junction: services depend on each other in a cycle: %s", strings.Join(append(path, s.name), " → "))
		case 2:
			return nil
		}
		state[s] = 1
		for _, d := range s.deps {
			dep, ok := byName[d]
			if !ok {
				return fmt.Errorf("junction: service %s depends on %q, which is not a service of the app", s.name, d)
			}
			if err := visit(dep, append(path, s.name)); err != nil {
				return err
			}
		}
		state[s] = 2
		order = append(order, s)
		return nil
	}
	for _, s := range svcs {
		if err := visit(s, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// validateServices checks every service before anything starts.
func (app *Application) validateServices() error {
	order, err := app.serviceOrder()
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range order {
		if err := supervise.Validate(s.spec); err != nil {
			errs = append(errs, fmt.Errorf("junction: %w", err))
		}
	}
	return errors.Join(errs...)
}

// startServices starts the services in dependency order, each once the
// ones it depends on are ready.
func (app *Application) startServices(ctx context.Context) error {
	order, err := app.serviceOrder()
	if err != nil {
		return err
	}
	for _, s := range order {
		spec := s.spec
		spec.Logger = app.log.With("service", s.name)
		spec.OnStart = func(pid int) {
			app.processEvent("on_start", startDict(s.name, s.name, "service", pid))
		}
		spec.OnExit = func(e supervise.Exit) {
			app.processEvent("on_exit", exitDict(s.name, s.name, "service", e))
		}
		sp, err := supervise.Start(ctx, spec)
		if err != nil {
			return fmt.Errorf("junction: %w", err)
		}
		s.mu.Lock()
		s.sp = sp
		s.mu.Unlock()
		app.log.Info("junction: service ready", "service", s.name, "pid", sp.Status().PID)
	}
	return nil
}

// stopServices stops the services, dependents first.
func (app *Application) stopServices(ctx context.Context) error {
	order, err := app.serviceOrder()
	if err != nil {
		return nil // nothing was started
	}
	var errs []error
	for _, s := range slices.Backward(order) {
		if sp := s.started(); sp != nil {
			if err := sp.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("junction: stopping service %s: %w", s.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

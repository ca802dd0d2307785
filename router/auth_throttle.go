package router

import (
	"cmp"
	"net/netip"
	"sync"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

// throttle slows down the authentication attempts of a host that keeps
// failing: once a host has failed throttleThreshold times, each with less
// than throttleWindow since the one before, its attempts wait before
// their CHALLENGE, throttleBase for the first and twice as long for each
// failure since, up to throttleMax. Attempts in parallel queue up: a host
// gets one attempt per delay, and an attempt that would wait longer than
// throttleQueue is refused at once. A host is forgotten after
// throttleWindow without failures; at most throttleHosts are remembered.
//
// In-process sessions are never throttled. A host is an IPv4 address or
// an IPv6 /64; other transports (Unix sockets) share one entry per
// listening address.
//
// The zero value uses the defaults; tests set the fields.
type throttle struct {
	threshold int
	window    time.Duration
	base, max time.Duration
	queue     time.Duration
	hosts     int
	// now and sleep stand for time.Now and a wait cut short when done is
	// closed (false then).
	now   func() time.Time
	sleep func(d time.Duration, done <-chan struct{}) bool

	mu     sync.Mutex
	record map[string]*hostRecord
}

// Throttle defaults.
const (
	throttleThreshold = 3
	throttleWindow    = time.Minute
	throttleBase      = 500 * time.Millisecond
	throttleMax       = 5 * time.Second
	throttleQueue     = 4 * throttleMax
	throttleHosts     = 10000
	// sprayThreshold is the failures a host may have, whatever the
	// authids, before it is slowed down.
	sprayThreshold = 10 * throttleThreshold
)

// hostRecord is what the throttle knows of a host.
type hostRecord struct {
	failures int       // in the current run
	last     time.Time // the latest failure
	next     time.Time // when the host's next attempt may go on
}

// throttleKey names the host a connection comes from, "" for none to
// throttle.
func throttleKey(info transport.Info) string {
	if info.Transport == "local" || info.RemoteAddr == "" {
		return ""
	}
	ap, err := netip.ParseAddrPort(info.RemoteAddr)
	if err != nil {
		return info.RemoteAddr
	}
	addr := ap.Addr()
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// wait delays an attempt from host as its failures require. It returns an
// error (for the ABORT) if the attempt is refused, or if done is closed
// first (the connection ended: no ABORT).
func (t *throttle) wait(host string, done <-chan struct{}) *authError {
	if host == "" {
		return nil
	}
	d, ok := t.delay(host)
	if !ok {
		// The same words as any other failure: a refusal must not tell
		// an attacker which of its guesses are being counted.
		return &authError{reason: wamp.URIAuthenticationFailed, message: authFailedMessage,
			log: "throttled: too many attempts queued from " + host}
	}
	if d <= 0 {
		return nil
	}
	sleep := t.sleep
	if sleep == nil {
		sleep = sleepUnless
	}
	if !sleep(d, done) {
		return &authError{log: "the connection ended while throttled"}
	}
	return nil
}

// delay returns how long an attempt from host must wait now, reserving
// its slot, or false if it would wait longer than the queue allows.
func (t *throttle) delay(host string) (time.Duration, bool) {
	now := t.clock()
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.record[host]
	threshold := cmp.Or(t.threshold, throttleThreshold)
	if h == nil || h.failures < threshold || now.Sub(h.last) > cmp.Or(t.window, throttleWindow) {
		return 0, true
	}
	d, maxD := cmp.Or(t.base, throttleBase), cmp.Or(t.max, throttleMax)
	for i := threshold; i < h.failures && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	start := now
	if h.next.After(now) {
		start = h.next
	}
	wait := start.Sub(now) + d
	if wait > cmp.Or(t.queue, throttleQueue) {
		return 0, false
	}
	h.next = now.Add(wait)
	return wait, true
}

// failed counts a failure of host.
func (t *throttle) failed(host string) {
	if host == "" {
		return
	}
	now := t.clock()
	window := cmp.Or(t.window, throttleWindow)
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.record[host]
	if h == nil {
		if t.record == nil {
			t.record = make(map[string]*hostRecord)
		}
		if len(t.record) >= cmp.Or(t.hosts, throttleHosts) {
			t.sweep(now, window)
		}
		h = &hostRecord{}
		t.record[host] = h
	}
	if now.Sub(h.last) > window {
		h.failures = 0
	}
	h.failures++
	h.last = now
}

// sweep forgets the hosts whose failures are over; if that is not enough
// room, it forgets some others too (map order: arbitrary ones). t.mu must
// be held.
func (t *throttle) sweep(now time.Time, window time.Duration) {
	for host, h := range t.record {
		if now.Sub(h.last) > window && !h.next.After(now) {
			delete(t.record, host)
		}
	}
	limit := cmp.Or(t.hosts, throttleHosts)
	for host := range t.record {
		if len(t.record) < limit {
			break
		}
		delete(t.record, host)
	}
}

func (t *throttle) clock() time.Time {
	if t.now != nil {
		return t.now()
	}
	return time.Now()
}

// sleepUnless waits d, or less if done is closed first, which it reports
// with false.
func sleepUnless(d time.Duration, done <-chan struct{}) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-done:
		return false
	}
}

// LoginThrottle slows down the logins of another front door of the
// program (the web admin's form) exactly as the router slows down WAMP
// authentication, sharing its record: a host guessing passwords is held
// back on every door. Wait before checking a password; Failed after a
// wrong one.
type LoginThrottle struct{ r *Router }

// LoginThrottle returns the router's login throttle.
func (r *Router) LoginThrottle() LoginThrottle { return LoginThrottle{r} }

// Wait delays a login of user from remoteAddr ("host:port") as the
// failures of that user and of that host require. It reports false if
// the attempt is refused (too many queued) or done is closed first.
func (t LoginThrottle) Wait(remoteAddr, user string, done <-chan struct{}) bool {
	host := throttleKey(transport.Info{RemoteAddr: remoteAddr})
	if host == "" {
		return true
	}
	a := &t.r.auth
	return a.throttle.wait(host+" "+user, done) == nil && a.spray.wait(host, done) == nil
}

// Failed counts a failed login of user from remoteAddr.
func (t LoginThrottle) Failed(remoteAddr, user string) {
	host := throttleKey(transport.Info{RemoteAddr: remoteAddr})
	if host == "" {
		return
	}
	t.r.auth.throttle.failed(host + " " + user)
	t.r.auth.spray.failed(host)
}

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
)

// roles announced in HELLO: every session may take every role, the router
// does not care which a benchmark uses.
var roles = wamp.Dict{"roles": wamp.Dict{
	"publisher": wamp.Dict{}, "subscriber": wamp.Dict{},
	"caller": wamp.Dict{}, "callee": wamp.Dict{},
}, "agent": "junction-bench-load"}

// open dials the router at url, joins o.Realm and, if setup is not nil, sends it
// (a SUBSCRIBE or REGISTER) and waits for its acknowledgement, all within
// o.DialTimeout. The returned peer has no reader yet: the caller starts
// one.
func open(ctx context.Context, o *options, url string, setup wamp.Message) (transport.Peer, error) {
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	p, err := transport.Dial(ctx, url, transport.Config{
		Serializers: []codec.Codec{o.codec},
		// The router pings; pinging back would only add traffic.
		PingInterval: -1,
	})
	if err != nil {
		return nil, err
	}
	// Read takes no context: closing the peer releases it on timeout.
	release := context.AfterFunc(ctx, func() { p.Close() })
	defer release()
	fail := func(err error) (transport.Peer, error) {
		p.Close()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		return nil, err
	}
	if err := p.Send(&wamp.Hello{Realm: wamp.URI(o.Realm), Details: roles}); err != nil {
		return fail(fmt.Errorf("send HELLO: %w", err))
	}
	m, err := p.Read()
	if err != nil {
		return fail(fmt.Errorf("read WELCOME: %w", err))
	}
	if _, ok := m.(*wamp.Welcome); !ok {
		return fail(fmt.Errorf("join %s: got %s, want WELCOME%s", o.Realm, m.Type(), describeRefusal(m)))
	}
	if setup == nil {
		return p, nil
	}
	if err := p.Send(setup); err != nil {
		return fail(fmt.Errorf("send %s: %w", setup.Type(), err))
	}
	m, err = p.Read()
	if err != nil {
		return fail(fmt.Errorf("read reply to %s: %w", setup.Type(), err))
	}
	switch m.(type) {
	case *wamp.Subscribed, *wamp.Registered:
		return p, nil
	}
	return fail(fmt.Errorf("%s: got %s%s", setup.Type(), m.Type(), describeRefusal(m)))
}

func describeRefusal(m wamp.Message) string {
	switch m := m.(type) {
	case *wamp.Abort:
		return " " + string(m.Reason)
	case *wamp.ErrorMessage:
		return " " + string(m.Error)
	}
	return ""
}

// openAll opens n sessions, at most o.DialConcurrency at a time; setup(i)
// gives the i-th session's SUBSCRIBE or REGISTER (or nil). If any fails,
// the others are closed and the first error is returned with the count of
// failures. Session i dials the i-th of the -spread URLs, round robin.
func openAll(ctx context.Context, o *options, urls []string, n int, setup func(i int) wamp.Message) ([]transport.Peer, error) {
	peers := make([]transport.Peer, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, o.DialConcurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var m wamp.Message
				if setup != nil {
					m = setup(i)
				}
				peers[i], errs[i] = open(ctx, o, urls[i%len(urls)], m)
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		next <- i
	}
	close(next)
	wg.Wait()
	var first error
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if failed > 0 {
		closeAll(peers)
		return nil, fmt.Errorf("open sessions: %d of %d failed, first: %w", failed, n, first)
	}
	return peers, nil
}

// closeAll closes every non-nil peer, a few at a time: Close waits for the
// peer's writer to flush.
func closeAll(peers []transport.Peer) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, p := range peers {
		if p == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			p.Close()
			<-sem
		}()
	}
	wg.Wait()
}

// waitGroup waits for wg, or gives up after d and reports false.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// errEnded marks a connection that ended before the run did.
var errEnded = errors.New("load: connection ended early")

// stampArgs returns the arguments the tool puts in every EVENT and CALL:
// a sequence number (a CALL's request ID, a publication's number counted
// across the run's publishers) and the send time in Unix nanoseconds.
func stampArgs(seq int64, now time.Time) wamp.List {
	return wamp.List{seq, now.UnixNano()}
}

// stampOf reads the sequence number and send time back from a payload.
// JSON payloads, the common case, are parsed in place without allocating.
func stampOf(p *wamp.Payload) (seq, sent int64, ok bool) {
	if r := p.Raw; r != nil && r.Serializer == "json" {
		if seq, sent, ok = parseJSONPair(r.Args); ok {
			return seq, sent, true
		}
	}
	args, _, err := codec.Values(p)
	if err != nil || len(args) < 2 {
		return 0, 0, false
	}
	seq, ok1 := wamp.AsInt64(args[0])
	sent, ok2 := wamp.AsInt64(args[1])
	return seq, sent, ok1 && ok2
}

// parseJSONPair parses "[a,b]" where a and b are non-negative integers,
// with optional blanks.
func parseJSONPair(b []byte) (a, c int64, ok bool) {
	i := skipBlank(b, 0)
	if i >= len(b) || b[i] != '[' {
		return 0, 0, false
	}
	if a, i, ok = parseUint(b, skipBlank(b, i+1)); !ok {
		return 0, 0, false
	}
	i = skipBlank(b, i)
	if i >= len(b) || b[i] != ',' {
		return 0, 0, false
	}
	if c, i, ok = parseUint(b, skipBlank(b, i+1)); !ok {
		return 0, 0, false
	}
	i = skipBlank(b, i)
	return a, c, i < len(b) && b[i] == ']'
}

func skipBlank(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func parseUint(b []byte, i int) (int64, int, bool) {
	start := i
	var n int64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := int64(b[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, 0, false // too large for the fast path
		}
		n = n*10 + d
	}
	return n, i, i > start
}

package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/junction-run/junction/transport"
	"github.com/junction-run/junction/wamp"
)

func TestJoinAndClose(t *testing.T) {
	peer, r := newRouter(t, nil)
	s, err := Join(testContext(t), peer, Config{HelloDetails: wamp.Dict{"authid": "alice"}})
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	if s.ID() == 0 {
		t.Error("ID() = 0")
	}
	if _, ok := wamp.DictDict(s.Details(), "roles"); !ok {
		t.Errorf("Details() = %v, want roles", s.Details())
	}
	hello := r.received(wamp.TypeHello)[0].(*wamp.Hello)
	if hello.Realm != DefaultRealm || hello.Details["authid"] != "alice" {
		t.Errorf("HELLO = %+v", hello)
	}
	roles, _ := wamp.DictDict(hello.Details, "roles")
	for _, role := range []string{"publisher", "subscriber", "caller", "callee"} {
		if _, ok := roles[role]; !ok {
			t.Errorf("HELLO roles lack %s", role)
		}
	}

	closeSession(t, s)
	closeSession(t, s) // safe twice
	bye := r.received(wamp.TypeGoodbye)
	if len(bye) != 1 || bye[0].(*wamp.Goodbye).Reason != wamp.URICloseNormal {
		t.Errorf("router got GOODBYE %v, want one wamp.close.normal", bye)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if !errors.Is(s.Err(), ErrSessionClosed) {
		t.Errorf("Err() = %v, want ErrSessionClosed", s.Err())
	}
	if _, err := s.Call(testContext(t), "x.y", nil, nil, nil); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("Call after Close: %v, want ErrSessionClosed", err)
	}
}

func TestJoinAbort(t *testing.T) {
	peer, _ := newRouter(t, nil)
	_, err := Join(testContext(t), peer, Config{Realm: "nope"})
	if !errors.Is(err, wamp.ErrNoSuchRealm) {
		t.Fatalf("Join: %v, want wamp.ErrNoSuchRealm", err)
	}
}

func TestJoinTimeout(t *testing.T) {
	client, server := transport.Pipe(transport.Config{})
	defer server.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := Join(ctx, client, Config{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Join: %v, want context.DeadlineExceeded", err)
	}
}

func TestJoinInvalidRealm(t *testing.T) {
	client, server := transport.Pipe(transport.Config{})
	defer server.Close()
	defer client.Close()
	if _, err := Join(testContext(t), client, Config{Realm: "bad realm"}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Join: %v, want ErrInvalidConfig", err)
	}
}

func TestPendingFailWhenPeerDies(t *testing.T) {
	s, r := join(t, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Call(testContext(t), "test.hang", nil, nil, nil)
		errc <- err
	}()
	eventually(t, "CALL", func() bool { return len(r.received(wamp.TypeCall)) == 1 })
	r.drop()
	if err := <-errc; !errors.Is(err, ErrSessionClosed) || !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Call: %v, want ErrSessionClosed and ErrConnectionLost", err)
	}
	<-s.Done()
	if !errors.Is(s.Err(), ErrConnectionLost) {
		t.Errorf("Err() = %v, want ErrConnectionLost", s.Err())
	}
}

func TestRouterGoodbye(t *testing.T) {
	var disconnected error
	peer, r := newRouter(t, nil)
	s, err := Join(testContext(t), peer, Config{OnDisconnect: func(_ *Session, err error) { disconnected = err }})
	if err != nil {
		t.Fatal(err)
	}
	r.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.URICloseSystemShutdown})
	<-s.Done()
	if !errors.Is(s.Err(), wamp.ErrSystemShutdown) || !errors.Is(disconnected, wamp.ErrSystemShutdown) {
		t.Errorf("Err() = %v, OnDisconnect got %v; want wamp.close.system_shutdown", s.Err(), disconnected)
	}
	eventually(t, "GOODBYE reply", func() bool {
		bye := r.received(wamp.TypeGoodbye)
		return len(bye) == 1 && bye[0].(*wamp.Goodbye).Reason == wamp.URICloseGoodbyeAndOut
	})
	closeSession(t, s)
}

func TestCloseCancelsHandlers(t *testing.T) {
	s, r := join(t, nil)
	ctx := testContext(t)
	started := make(chan struct{})
	if _, err := s.Register(ctx, "test.block", func(ctx context.Context, _ *Invocation) (*Result, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}, nil); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = s.Call(context.Background(), "test.block", nil, nil, nil) }()
	<-started
	closeSession(t, s)
	_ = r
}

func TestValues(t *testing.T) {
	v := Values{
		Args:   wamp.List{"s", int64(3), 1.5, true, 4.0},
		Kwargs: wamp.Dict{"s": "x", "n": uint64(9), "f": int64(2), "b": false},
	}
	if s, err := v.ArgString(0); err != nil || s != "s" {
		t.Errorf("ArgString(0) = %q, %v", s, err)
	}
	if n, err := v.ArgInt(4); err != nil || n != 4 {
		t.Errorf("ArgInt(4) = %d, %v", n, err)
	}
	if _, err := v.ArgInt(2); !errors.Is(err, ErrArgumentType) {
		t.Errorf("ArgInt(2) error = %v, want ErrArgumentType", err)
	}
	if _, err := v.ArgString(9); !errors.Is(err, ErrMissingArgument) {
		t.Errorf("ArgString(9) error = %v, want ErrMissingArgument", err)
	}
	if b, err := v.ArgBool(3); err != nil || !b {
		t.Errorf("ArgBool(3) = %v, %v", b, err)
	}
	if f, err := v.KwargFloat("f"); err != nil || f != 2 {
		t.Errorf("KwargFloat = %v, %v", f, err)
	}
	if n, err := v.KwargInt("n"); err != nil || n != 9 {
		t.Errorf("KwargInt = %v, %v", n, err)
	}
	if s, err := v.KwargString("s"); err != nil || s != "x" {
		t.Errorf("KwargString = %v, %v", s, err)
	}
	if b, err := v.KwargBool("b"); err != nil || b {
		t.Errorf("KwargBool = %v, %v", b, err)
	}
	if _, err := v.KwargBool("missing"); !errors.Is(err, ErrMissingArgument) {
		t.Errorf("KwargBool(missing) error = %v", err)
	}
	if v.Arg(-1) != nil || v.Kwarg("missing") != nil || v.Kwarg("s") != "x" {
		t.Error("Arg/Kwarg lookups wrong")
	}
}

package client

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/junction-run/junction/wamp"
)

func TestEventsInOrder(t *testing.T) {
	s, r := join(t, nil)
	ctx := testContext(t)
	const n = 1000
	var mu sync.Mutex
	var got []int64
	sub, err := s.Subscribe(ctx, "test.topic", func(_ context.Context, e *Event) {
		i, err := e.ArgInt(0)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, i)
		mu.Unlock()
	}, nil)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if sub.ID() == 0 {
		t.Error("Subscription.ID() = 0")
	}
	for i := range n {
		if _, err := s.Publish(ctx, "test.topic", wamp.List{int64(i)}, nil, nil); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	eventually(t, "all events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	for i, v := range got {
		if v != int64(i) {
			t.Fatalf("event %d carries %d: out of order", i, v)
		}
	}

	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	if len(r.received(wamp.TypeUnsubscribe)) != 1 {
		t.Error("router did not get exactly one UNSUBSCRIBE")
	}
}

func TestSharedSubscription(t *testing.T) {
	s, r := join(t, nil)
	ctx := testContext(t)
	var mu sync.Mutex
	count := map[string]int{}
	handler := func(name string) EventHandler {
		return func(context.Context, *Event) {
			mu.Lock()
			count[name]++
			mu.Unlock()
		}
	}
	a, err := s.Subscribe(ctx, "test.shared", handler("a"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Subscribe(ctx, "test.shared", handler("b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(ctx, "test.shared", nil, nil, &PublishOptions{Acknowledge: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both handlers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return count["a"] == 1 && count["b"] == 1
	})
	if err := a.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r.received(wamp.TypeUnsubscribe)); n != 0 {
		t.Errorf("router got %d UNSUBSCRIBE while b still subscribed", n)
	}
	if err := b.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(r.received(wamp.TypeUnsubscribe)); n != 1 {
		t.Errorf("router got %d UNSUBSCRIBE, want 1", n)
	}
}

func TestPublishAcknowledged(t *testing.T) {
	s, r := join(t, nil)
	ctx := testContext(t)
	no := false
	id, err := s.Publish(ctx, "test.topic", wamp.List{"x"}, wamp.Dict{"k": 1}, &PublishOptions{Acknowledge: true, ExcludeMe: &no})
	if err != nil || id == 0 {
		t.Fatalf("Publish = %d, %v; want an ID", id, err)
	}
	pub := r.received(wamp.TypePublish)[0].(*wamp.Publish)
	if pub.Options["acknowledge"] != true || pub.Options["exclude_me"] != false {
		t.Errorf("PUBLISH options = %v", pub.Options)
	}
	_, err = s.Publish(ctx, "test.denied", nil, nil, &PublishOptions{Acknowledge: true})
	if !errors.Is(err, wamp.ErrNotAuthorized) {
		t.Fatalf("Publish to denied topic: %v, want wamp.ErrNotAuthorized", err)
	}
}

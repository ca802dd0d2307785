package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
)

// Example connects to a router, subscribes to a topic, registers a
// procedure and calls it. It needs a router on localhost:8080, so it has
// no checked output.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := client.Dial(ctx, "ws://localhost:8080/ws", client.Config{
		Realm:     "realm1",
		Reconnect: &client.ReconnectConfig{}, // defaults: 100ms to 10s, forever
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(context.Background())

	_, err = s.Subscribe(ctx, "com.example.news", func(_ context.Context, e *client.Event) {
		headline, _ := e.ArgString(0)
		fmt.Println("news:", headline)
	}, nil)
	if err != nil {
		log.Fatal(err)
	}

	_, err = s.Register(ctx, "com.example.add", func(_ context.Context, inv *client.Invocation) (*client.Result, error) {
		a, err := inv.ArgInt(0)
		if err != nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, err.Error())
		}
		b, err := inv.ArgInt(1)
		if err != nil {
			return nil, wamp.NewError(wamp.URIInvalidArgument, err.Error())
		}
		return &client.Result{Values: client.Values{Args: wamp.List{a + b}}}, nil
	}, nil)
	if err != nil {
		log.Fatal(err)
	}

	res, err := s.Call(ctx, "com.example.add", wamp.List{2, 3}, nil, &client.CallOptions{Timeout: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	sum, _ := res.ArgInt(0)
	fmt.Println("2 + 3 =", sum)

	if _, err := s.Publish(ctx, "com.example.news", wamp.List{"hello"}, nil, &client.PublishOptions{Acknowledge: true}); err != nil {
		log.Fatal(err)
	}
}

// ExampleValues shows the typed accessors shared by Event, Invocation and
// Result.
func ExampleValues() {
	v := client.Values{Args: wamp.List{"alice", int64(30)}, Kwargs: wamp.Dict{"admin": true}}
	name, _ := v.ArgString(0)
	age, _ := v.ArgInt(1)
	admin, _ := v.KwargBool("admin")
	_, err := v.ArgString(5)
	fmt.Println(name, age, admin)
	fmt.Println(err)
	// Output:
	// alice 30 true
	// client: missing argument: argument 5
}

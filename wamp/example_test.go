package wamp_test

import (
	"errors"
	"fmt"

	"github.com/junction-run/junction/wamp"
)

func ExampleError() {
	// An ERROR received from a callee, wrapped on its way up.
	err := fmt.Errorf("add: %w", wamp.NewError(wamp.URIInvalidArgument, "want numbers"))
	fmt.Println(errors.Is(err, wamp.ErrInvalidArgument))
	fmt.Println(err)
	// Output:
	// true
	// add: wamp.error.invalid_argument: want numbers
}

func ExampleURI_Valid() {
	fmt.Println(wamp.URI("com.example.add").Valid(true))
	fmt.Println(wamp.URI("com.Example.add").Valid(true), wamp.URI("com.Example.add").Valid(false))
	fmt.Println(wamp.URI("com..add").Valid(false), wamp.URI("com..add").ValidPattern(false, wamp.MatchWildcard))
	// Output:
	// true
	// false true
	// false true
}

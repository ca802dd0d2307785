package webhook_test

import (
	"errors"
	"fmt"

	"github.com/junction-run/junction/webhook"
)

// A configuration is checked before anything runs; its errors name the
// setting at fault.
func ExampleConfig_Load() {
	cfg := webhook.Config{Hooks: []webhook.Hook{
		{Name: "orders", Topic: "com.shop.order.", Match: "prefix", URL: "https://hooks.example.com/orders"},
		{Topic: "com.shop.user.created", URL: "hooks.example.com/users"},
	}}
	_, err := cfg.Load()
	fmt.Println(errors.Is(err, webhook.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// webhook: invalid configuration: hooks[1].url: "hooks.example.com/users": want an http:// or https:// URL with a host
}

// A receiver checks X-Junction-Signature by computing it again.
func ExampleSignature() {
	body := []byte(`{"hook":"orders","topic":"com.shop.order.created"}`)
	fmt.Println(webhook.Signature("s3cret", body)[:7])
	// Output: sha256=
}

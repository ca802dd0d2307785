package link_test

import (
	"fmt"

	"github.com/junction-run/junction/link"
)

// New checks a config before anything starts, and names the key at
// fault.
func ExampleNew() {
	_, err := link.New(link.Config{
		Name: "eu", Peer: "us",
		Router:       "ws://127.0.0.1:8080/ws",
		DataDir:      "/var/lib/junction/link",
		Remote:       "nats-leaf://us.example.com:7422",
		ExportTopics: []string{"shop.order.placed", "prefix:shop..stock"},
	})
	fmt.Println(err)
	// Output:
	// link: invalid config: export_topics[1]: "shop..stock" is not a valid URI pattern (want URI, prefix:URI or wildcard:URI)
}

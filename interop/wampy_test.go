package interop

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWampy runs wampy (npm wampy 8, with msgpackr and cbor-x) through
// pub/sub, RPC, errors and progressive results on every serializer. On
// MessagePack and CBOR it sends the options it was not given as
// JavaScript undefined, which the router reads as absent.
func TestWampy(t *testing.T) {
	requireNode(t)
	if _, err := os.Stat(filepath.Join("node_modules", "wampy", "package.json")); err != nil {
		msg := "interop/node_modules/wampy is missing: run npm install in interop/"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			got := runScript(t, "wampy", startRouter(t), ser)
			check(t, "what wampy saw", got, want(t, `{
				"subscribed": true,
				"published": true,
				"event": {"args": [1, "two", {"three": 3}], "kwargs": {"k": "v", "n": null}},
				"call": {"args": [5], "kwargs": {"by": "wampy"}},
				"fail": {"error": "com.example.wampy.error", "args": ["bad", 42], "kwargs": {}},
				"nobody": "wamp.error.no_such_procedure",
				"stream": {"chunks": [], "final": ["final"]},
				"left": true
			}`))
		})
	}
}

package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzNodeConfig feeds arbitrary files to the configuration loader: each
// is accepted or refused with an error naming the file, never a panic.
// Seeds are in testdata/fuzz/FuzzNodeConfig.
func FuzzNodeConfig(f *testing.F) {
	f.Add([]byte("listeners:\n  - {type: websocket, address: \"127.0.0.1:0\"}\nopen_realms: [realm1]\n"))
	f.Add([]byte(`{"listeners": [{"type": "rawsocket", "address": "unix:/tmp/j.sock"}], "realms": [{"name": "r", "anonymous": {}}]}`))
	f.Add([]byte("realms:\n  - name: r\n    roles:\n      - name: a\n        permissions: [{uri: a., match: prefix, call: true}]\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	dir := f.TempDir()
	path := filepath.Join(dir, "node.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		cf, err := parseConfig(path, data)
		if err == nil {
			_, err = cf.validate()
		}
		if err != nil && !strings.HasPrefix(err.Error(), path) {
			t.Fatalf("error %q does not name the file", err)
		}
	})
}

package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// junctionBuild is the junction command, built once for all the tests
// of the package that run the real binary.
var junctionBuild struct {
	once      sync.Once
	dir, path string
	err       error
}

// junctionBinary returns the path of the junction command built from
// this tree, building it on the first call.
func junctionBinary(t *testing.T) string {
	t.Helper()
	junctionBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "junction-cli-test")
		if err != nil {
			junctionBuild.err = err
			return
		}
		junctionBuild.dir = dir
		bin := filepath.Join(dir, "junction")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/junction-run/junction/cmd/junction").CombinedOutput()
		if err != nil {
			junctionBuild.err = fmt.Errorf("go build ./cmd/junction: %v\n%s", err, out)
			return
		}
		junctionBuild.path = bin
	})
	if junctionBuild.err != nil {
		t.Fatal(junctionBuild.err)
	}
	return junctionBuild.path
}

// TestMain removes the built command when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if junctionBuild.dir != "" {
		os.RemoveAll(junctionBuild.dir)
	}
	os.Exit(code)
}

package junction

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmbeddedNATSIsLinkedOnlyWhenUsed builds two small apps and looks
// for the NATS server's code in their binaries: an app without queues or
// cron jobs must not carry it (it is 40% of such a binary). Only the
// package's init functions remain, since the queue package imports it.
func TestEmbeddedNATSIsLinkedOnlyWhenUsed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		pkg  string
		want bool
	}{{"plain", false}, {"queue", true}} {
		bin := filepath.Join(dir, c.pkg)
		cmd := exec.Command("go", "build", "-o", bin, "./testdata/footprint/"+c.pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", c.pkg, err, out)
		}
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		syms, err := f.Symbols()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		n, server := 0, false
		for _, s := range syms {
			if strings.Contains(s.Name, "nats-io/nats-server") {
				n++
			}
			switch s.Name {
			case "github.com/nats-io/nats-server/v2/server.NewServer", "github.com/nats-io/nats-server/v2/server.(*Server).Start":
				server = true
			}
		}
		if server != c.want {
			t.Errorf("%s: the NATS server linked in: %v, want %v (%d symbols)", c.pkg, server, c.want, n)
		}
		st, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.1f MB, %d NATS server symbols", c.pkg, float64(st.Size())/1e6, n)
	}
}

func TestNATSListenWithoutQueuesOrJobsIsRefused(t *testing.T) {
	state := t.TempDir()
	app, _ := newTestApp(t, "web", WithSettings(func(s *Settings) { s.NATSListen = "127.0.0.1:0"; s.DataDir = filepath.Join(state, "d") }))
	err := app.Start(context.Background())
	if err == nil {
		app.Shutdown(context.Background())
		t.Fatal("--nats-listen started without anything to serve")
	}
	if !strings.Contains(err.Error(), "--nats-listen") {
		t.Errorf("error %q", err)
	}
	if _, err := os.Stat(filepath.Join(state, "d")); !os.IsNotExist(err) {
		t.Errorf("the data dir was made anyway: %v", err)
	}
}

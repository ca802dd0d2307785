package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/junction-run/junction/internal/testcert"
)

// needTool returns the path of the program name; without it the test
// fails under CI, which installs it (.ci/run), and is skipped elsewhere.
func needTool(t *testing.T, name string, dirs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing: .ci/run installs it", name)
	}
	t.Skipf("%s is missing", name)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// nastyDir makes a directory under t's named name, by default one that
// needs quoting in every syntax.
func nastyDir(t *testing.T, name ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), `it's a "dir" {x}; y #z %n \w`)
	if len(name) > 0 {
		dir = filepath.Join(t.TempDir(), name[0])
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hello is the examples/hello app, built once for the package's tests.
var hello struct {
	once sync.Once
	path string
	err  error
}

// helloBinary returns the path of examples/hello, built into a directory
// whose name needs quoting, removed by TestMain.
func helloBinary(t *testing.T) string {
	t.Helper()
	hello.once.Do(func() {
		dir, err := os.MkdirTemp("", "deploy-test-")
		if err != nil {
			hello.err = err
			return
		}
		dir = filepath.Join(dir, `it's a "bin" %n $x`)
		hello.path = filepath.Join(dir, "hello")
		out, err := exec.Command("go", "build", "-o", hello.path, "../../examples/hello").CombinedOutput()
		if err != nil {
			hello.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if hello.err != nil {
		t.Fatal(hello.err)
	}
	return hello.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if hello.path != "" {
		os.RemoveAll(filepath.Dir(filepath.Dir(hello.path)))
	}
	os.Exit(code)
}

// nginxCheck runs nginx -t on a configuration that includes fragments,
// with every path nginx writes in dir.
func nginxCheck(t *testing.T, nginx, dir string, fragments ...string) {
	t.Helper()
	var conf strings.Builder
	fmt.Fprintf(&conf, "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n    access_log off;\n", dir, dir)
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&conf, "    %s_temp_path %s/%s;\n", p, dir, p)
	}
	for i, frag := range fragments {
		name := filepath.Join(dir, fmt.Sprintf("app%d.conf", i))
		writeFile(t, name, frag)
		fmt.Fprintf(&conf, "    include %s;\n", name)
	}
	conf.WriteString("}\n")
	confPath := filepath.Join(dir, "nginx.conf")
	writeFile(t, confPath, conf.String())
	out, err := exec.Command(nginx, "-t", "-c", confPath, "-p", dir, "-e", filepath.Join(dir, "error.log")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, strings.Join(fragments, "\n"))
	}
	if strings.Contains(string(out), "[warn]") {
		t.Errorf("nginx -t warns:\n%s", out)
	}
}

func TestDeployNginxCheck(t *testing.T) {
	nginx := needTool(t, "nginx", "/usr/sbin")
	static := nastyDir(t)

	plain := facts()
	plain.ServerName = "plain.example"
	plain.Static = []Static{{Prefix: "/static/", Dir: static, Index: true}, {Prefix: "/", Dir: static}}

	ca, err := testcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := ca.Leaf(2, "tls.example")
	if err != nil {
		t.Fatal(err)
	}
	tls := facts()
	tls.App = `other "app"`
	tls.ServerName = "tls.example www.tls.example"
	tls.TLSCert, tls.TLSKey = filepath.Join(static, "cert.pem"), filepath.Join(static, "key.pem")
	writeFile(t, tls.TLSCert, string(cert))
	writeFile(t, tls.TLSKey, string(key))

	router := facts()
	router.App = "remote"
	router.ServerName = "remote.example"
	router.WSPath, router.MetricsPath, router.Static = "", "", nil

	// Each on its own, and side by side in one http {} block.
	var frags []string
	for _, f := range []Facts{plain, tls, router} {
		t.Run(f.App, func(t *testing.T) {
			frag := render(t, "nginx", f)
			nginxCheck(t, nginx, t.TempDir(), frag)
			frags = append(frags, frag)
		})
	}
	if len(frags) == 3 {
		nginxCheck(t, nginx, t.TempDir(), frags...)
	}
}

func TestDeploySystemdVerify(t *testing.T) {
	analyze := needTool(t, "systemd-analyze", "/usr/bin")
	bin := helloBinary(t)
	tests := []struct {
		name string
		edit func(f *Facts)
	}{
		{"default data dir", func(f *Facts) {}},
		{"own data dir", func(f *Facts) {
			f.DataDir, f.User, f.Group = "/var/lib/shop data", "shop", "shop"
			f.Env = []string{`QUOTED=it's "so" \ 100%`}
			f.Args = []string{"--realm=" + nasty, "--debug=true"}
			f.Listen = "0.0.0.0:80"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := facts()
			f.App = `shop "the" app`
			// systemd refuses quotes and backslashes in an executable's path.
			f.Binary = filepath.Join(nastyDir(t, "shop bin {x}; #y %n $z"), "shop")
			if err := os.Symlink(bin, f.Binary); err != nil {
				t.Fatal(err)
			}
			f.WorkingDir = nastyDir(t, `it's a "dir" {x}; y #z %n $w`) // systemd refuses backslashes
			tt.edit(&f)
			unit := filepath.Join(t.TempDir(), "shop.service")
			writeFile(t, unit, render(t, "systemd", f))
			cmd := exec.Command(analyze, "verify", unit)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			err := cmd.Run()
			// Other units of the machine may have their say: only the
			// lines about this one count.
			var about []string
			for l := range strings.SplitSeq(stderr.String(), "\n") {
				if strings.Contains(l, "shop.service") {
					about = append(about, l)
				}
			}
			if err != nil || len(about) > 0 {
				data, _ := os.ReadFile(unit)
				t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, strings.Join(about, "\n"), data)
			}
		})
	}
}

// freeAddr returns an address on 127.0.0.58, a loopback address other
// tests leave alone, whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.58:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDeploySupervisordRuns runs a real app under supervisord with its
// generated program section, from a directory whose name needs quoting,
// checks the command line and environment the app got, then stops
// supervisord and checks that the app is gone too.
func TestDeploySupervisordRuns(t *testing.T) {
	supervisord := needTool(t, "supervisord", "/usr/bin")
	bin := helloBinary(t)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	work := nastyDir(t, `it's a "dir" {x};y#z %n $w \v`) // a blank before ';' or '#' starts a comment
	f := Facts{
		App:        "hello",
		Binary:     bin,
		Listen:     freeAddr(t),
		DataDir:    filepath.Join(work, "data"),
		WorkingDir: work,
		User:       me.Username,
		Args:       []string{`--metrics=/it's a "metrics" $x %n`, "--log-format=json"},
		Env:        []string{"HELLO_NOTE=50% of it's", "PLAIN=x"},
	}
	program := render(t, "supervisord", f)
	writeFile(t, filepath.Join(dir, "hello.conf"), program)
	conf := filepath.Join(dir, "supervisord.conf")
	writeFile(t, conf, fmt.Sprintf(`[supervisord]
nodaemon=true
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s

[include]
files = %[1]s/hello.conf
`, dir))

	cmd := exec.Command(supervisord, "-c", conf, "-n")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "supervisord.log"))
			t.Logf("program:\n%s\nsupervisord's output:\n%s\nsupervisord.log:\n%s", program, out.String(), log)
		}
	})

	// The app answers once it serves.
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := client.Get("http://" + f.Listen + "/static/hello.txt")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("GET /static/hello.txt: %s", res.Status)
			}
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("supervisord exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app does not answer at %s: %v", f.Listen, err)
		}
		time.Sleep(50 * time.Millisecond) // a poll, bounded by the deadline
	}

	pid := findProcess(t, bin)
	if pid == 0 {
		t.Fatal("the app answers, but no process runs its binary")
	}
	wantArgs := []string{bin, "run", "--listen=" + f.Listen, "--data-dir=" + f.DataDir, f.Args[0], f.Args[1]}
	if got := procStrings(t, pid, "cmdline"); !reflect.DeepEqual(got, wantArgs) {
		t.Errorf("the app's command line is\n%q\nwant\n%q", got, wantArgs)
	}
	env := procStrings(t, pid, "environ")
	for _, e := range f.Env {
		if !contains(env, e) {
			t.Errorf("the app's environment lacks %q", e)
		}
	}
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil || cwd != work {
		t.Errorf("the app's working dir is %q (%v), want %q", cwd, err, work)
	}

	// supervisord stops its programs when it stops.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		stopped = true
	case <-time.After(60 * time.Second):
		t.Fatal("supervisord does not stop on SIGTERM")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the app (pid %d) still runs after supervisord stopped: %v", pid, err)
	}
	if !strings.Contains(out.String(), "app stopped") {
		t.Errorf("the app did not log its graceful stop to supervisord's output:\n%s", out.String())
	}
}

// findProcess returns the pid of the process running bin, 0 if none.
func findProcess(t *testing.T, bin string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == bin {
			return pid
		}
	}
	return 0
}

// procStrings returns the NUL-separated strings of /proc/PID/name.
func procStrings(t *testing.T, pid int, name string) []string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// syncBuffer is a bytes.Buffer that a process writes while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

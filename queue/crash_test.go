package queue

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test runs workers in a child process, this test binary run
// again with crashChildEnv set (see TestMain), which it kills.
const (
	crashChildEnv = "JUNCTION_QUEUE_CRASH_CHILD" // the NATS URL
	crashFileEnv  = "JUNCTION_QUEUE_CRASH_FILE"  // where the child logs the tasks it ran
)

// crashConfig is the queue's config in the test and in its children.
var crashConfig = QueueConfig{Workers: 64, Lease: time.Second, Backoff: 10 * time.Millisecond}

// crashChild runs the crash test's workers until it is killed, logging
// the id of each task it runs, one line per task, to the file.
func crashChild() int {
	f, err := os.OpenFile(os.Getenv(crashFileEnv), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	e, err := Open(ctx, Config{URL: os.Getenv(crashChildEnv), Logger: testLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	q, err := e.Queue("crash", crashConfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	q.Handle("record", func(ctx context.Context, t *Task) ([]byte, error) {
		// One write per line: O_APPEND keeps lines whole.
		_, err := f.Write([]byte(t.ID + "\n"))
		return nil, err
	})
	if err := q.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.Close(sctx)
	return 0
}

// TestCrash enqueues 10,000 tasks, runs them in a worker process that it
// kills (SIGKILL) midway, then in a second one, and checks that every
// task ran; it reports how many ran twice.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const n = 10_000
	deadline := time.Now().Add(60 * time.Second)
	e := testEngine(t, Config{Listen: "127.0.0.1:0"})
	q := testQueue(t, e, "crash", crashConfig)
	ran := t.TempDir() + "/ran"

	began := time.Now()
	want := make(map[string]bool, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				id, err := q.Enqueue(context.Background(), "record", nil, nil)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				want[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	t.Logf("enqueued %d tasks in %s", n, time.Since(began).Round(time.Millisecond))

	// lines reads the ids the children logged.
	lines := func() []string {
		b, err := os.ReadFile(ran)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		// A line being written is not a line yet.
		b = b[:bytes.LastIndexByte(b, '\n')+1]
		var ids []string
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			ids = append(ids, sc.Text())
		}
		return ids
	}
	child := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+e.ClientURL(), crashFileEnv+"="+ran)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		return cmd, &out
	}

	began = time.Now()
	first, out1 := child()
	for len(lines()) < n/3 {
		if time.Now().After(deadline) {
			t.Fatalf("the first worker ran %d tasks before the deadline; its output:\n%s", len(lines()), out1)
		}
		time.Sleep(time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killedAt := len(lines())
	t.Logf("killed the first worker after %d tasks (%s)", killedAt, time.Since(began).Round(time.Millisecond))

	second, out2 := child()
	var ids []string
	seen := make(map[string]int, n)
	for {
		ids = lines()
		clear(seen)
		for _, id := range ids {
			seen[id]++
		}
		if len(seen) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tasks of %d ran before the deadline; second worker's output:\n%s", len(seen), n, out2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("all %d tasks ran in %s", n, time.Since(began).Round(time.Millisecond))

	// NATS hears of every end, including those of the tasks the first
	// worker ran but did not ack, which it hands to the second after
	// their lease: the stream empties, every task is done.
	waitFor(t, 10*time.Second, "an empty stream", func() bool {
		info, err := e.js.Stream(context.Background(), q.streamName)
		if err != nil {
			t.Fatal(err)
		}
		return info.CachedInfo().State.Msgs == 0
	})
	waitFor(t, 10*time.Second, "every task done", func() bool {
		st, err := q.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Done == n
	})
	t.Logf("NATS saw every task end in %s", time.Since(began).Round(time.Millisecond))
	_ = second.Process.Signal(syscall.SIGTERM)
	_ = second.Wait()
	ids = lines()
	clear(seen)
	for _, id := range ids {
		seen[id]++
	}

	var lost, stray []string
	for id := range want {
		if seen[id] == 0 {
			lost = append(lost, id)
		}
	}
	for id := range seen {
		if !want[id] {
			stray = append(stray, id)
		}
	}
	if len(lost) > 0 || len(stray) > 0 {
		t.Fatalf("lost %d tasks (%.5s...), ran %d never enqueued (%.5s...)", len(lost), lost, len(stray), stray)
	}
	dups := len(ids) - len(seen)
	t.Logf("duplicates: %d tasks ran twice or more (at-least-once; %d runs for %d tasks)", dups, len(ids), n)
	if dups > crashConfig.Workers*2 {
		t.Errorf("%d duplicates: more than the tasks in flight when the worker was killed", dups)
	}

	if s := out2.String(); strings.Contains(s, "panic") {
		t.Errorf("second worker's output:\n%s", s)
	}
}

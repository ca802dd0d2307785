package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/junction-run/junction/examples/internal/proctest"
)

// TestReplicate builds the example and runs two instances, a and b, as
// OS processes with their own data dirs, realms and ports, b's link
// dialing a's: a paste made on a is readable on b within a second;
// with b killed (SIGKILL), pastes made on a reach b once it runs again,
// each once; a paste made on b reaches a.
func TestReplicate(t *testing.T) {
	dir := t.TempDir()
	proctest.Build(t, dir, ".")
	bin := filepath.Join(dir, "replicate")
	dataA, dataB := filepath.Join(dir, "a"), filepath.Join(dir, "b")

	a := proctest.Start(t, bin, "run", "--name", "a", "--peer", "b", "--realm", "a",
		"--listen", "127.0.0.1:0", "--data-dir", dataA, "--link-listen", "127.0.0.1:0", "--link-token", "s3cret")
	urlA := a.URL(t)
	leaf := linkAddr(t, a)
	startB := func() (*proctest.Process, string) {
		b := proctest.Start(t, bin, "run", "--name", "b", "--peer", "a", "--realm", "b",
			"--listen", "127.0.0.1:0", "--data-dir", dataB, "--link-remote", "nats-leaf://"+leaf, "--link-token", "s3cret")
		u := b.URL(t)
		linkAddr(t, b) // serving pastes
		return b, u
	}
	b, urlB := startB()

	// The first paste waits for the link to come up.
	first := paste(t, urlA, "first")
	readable(t, urlB, first, "first", 15*time.Second)
	for i := range 3 {
		text := fmt.Sprint("paste ", i)
		start := time.Now()
		id := paste(t, urlA, text)
		readable(t, urlB, id, text, time.Second)
		t.Logf("paste %d: POST on a to readable on b in %v", i, time.Since(start).Round(10*time.Microsecond))
	}

	b.Kill(t)
	var ids []string
	for i := range 5 {
		ids = append(ids, paste(t, urlA, fmt.Sprint("while b is down ", i)))
	}
	start := time.Now()
	b, urlB = startB()
	for i, id := range ids {
		readable(t, urlB, id, fmt.Sprint("while b is down ", i), 15*time.Second)
	}
	t.Logf("b restarted: the 5 pastes made while it was down readable on b %v after its start", time.Since(start).Round(time.Millisecond))
	if st := stats(t, urlB); st.Replicated != 5 || st.Duplicates != 0 {
		t.Errorf("b after its restart: %+v, want 5 replicated and no duplicate", st)
	}

	id := paste(t, urlB, "from b")
	readable(t, urlA, id, "from b", 15*time.Second)
	if st := stats(t, urlA); st.Created != 9 || st.Replicated != 1 || st.Duplicates != 0 {
		t.Errorf("a: %+v, want 9 created, 1 replicated, no duplicate", st)
	}

	b.Terminate(t)
	a.Terminate(t)
}

// linkAddrLine is what the example logs once it serves pastes, with its
// link's leaf node listener, if it has one.
var linkAddrLine = regexp.MustCompile(`msg="replicate: serving pastes".* link_listen=(\S*)`)

// linkAddr waits for p to serve pastes and returns the address of its
// link's leaf node listener ("" for none).
func linkAddr(t *testing.T, p *proctest.Process) string {
	t.Helper()
	deadline := time.Now().Add(proctest.ReadyTimeout)
	for {
		if m := linkAddrLine.FindStringSubmatch(p.Output()); m != nil {
			if m[1] == `""` {
				return ""
			}
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instance does not serve pastes after %v:\n%s", proctest.ReadyTimeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// paste makes a paste and returns its id.
func paste(t *testing.T, base, text string) string {
	t.Helper()
	res, body := proctest.Do(t, "POST", base+"pastes", "text/plain", text)
	proctest.Expect(t, res, body, 201, "application/json", "")
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(body), &v); err != nil || v.ID == "" {
		t.Fatalf("POST /pastes answered %s: %v", body, err)
	}
	return v.ID
}

// readable waits until the paste id reads text on base, at most within.
func readable(t *testing.T, base, id, text string, within time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		res, body := proctest.Do(t, "GET", base+"pastes/"+id, "", "")
		if res.StatusCode == 200 {
			if body != text {
				t.Fatalf("paste %s on %s reads %q, want %q", id, base, body, text)
			}
			return
		}
		if res.StatusCode != 404 {
			t.Fatalf("GET %spastes/%s: %d %s", base, id, res.StatusCode, body)
		}
		if time.Since(start) > within {
			t.Fatalf("paste %s (%q) not readable on %s within %v", id, text, base, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type counts struct{ Created, Replicated, Duplicates int }

func stats(t *testing.T, base string) counts {
	t.Helper()
	res, body := proctest.Do(t, "GET", base+"stats", "", "")
	proctest.Expect(t, res, body, 200, "application/json", "")
	var c counts
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatalf("GET /stats: %s: %v", body, err)
	}
	return c
}

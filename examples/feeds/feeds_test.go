package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/examples/internal/proctest"
	"github.com/junction-run/junction/wamp"
)

// TestFeeds builds the example and runs it as a process polling, every
// second, three feeds of a local server whose content the test changes:
// an RSS feed, an Atom feed, and a feed that answers 500 for a while.
// A WAMP client subscribed to feeds.article must get each article once,
// however many polls see it.
func TestFeeds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proctest.Build(t, dir, ".")
	bin := filepath.Join(dir, "feeds")

	srv := newFeedServer()
	defer srv.Close()
	rss, atom, flaky := srv.add("/a.rss", "Feed A", false), srv.add("/b.atom", "Feed B", true), srv.add("/flaky.rss", "Flaky", false)

	p := proctest.Start(t, bin, "run", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--every", "1s", "--feeds", strings.Join([]string{rss, atom, flaky}, ","))
	base := p.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, events := subscribe(ctx, t, base)

	// The feeds were empty until now, so that the subscriber misses
	// nothing; the flaky one fails from the start.
	srv.set(flaky, func(f *testFeed) { f.down = true; f.post("f1"); f.requests, f.served = 0, 0 })
	srv.set(rss, func(f *testFeed) { f.post("a1"); f.post("a2") })
	srv.set(atom, func(f *testFeed) { f.post("b1"); f.post("b2") })

	t.Run("articles", func(t *testing.T) {
		events.waitFor(t, "a1", "a2", "b1", "b2")
		a1 := events.get("a1")
		want := map[string]any{"title": "Article a1", "link": srv.URL + "/a1", "feed": rss, "feed_title": "Feed A", "published": published("a1")}
		for k, v := range want {
			if a1[k] != v {
				t.Errorf("feeds.article a1: %s = %v, want %v", k, a1[k], v)
			}
		}
		if got := events.order(); slices.Index(got, "a1") > slices.Index(got, "a2") {
			t.Errorf("events in order %v: want a1, the older, before a2", got)
		}
	})

	t.Run("a failing feed is retried and does not stop the others", func(t *testing.T) {
		waitUntil(t, "a fetch of the failing feed", func() bool { n, _ := srv.stats(flaky); return n > 0 })
		// The articles of the other feeds came while it failed.
		if _, ok := srv.stats(flaky); ok != 0 {
			t.Fatalf("flaky feed: %d requests answered 200, want none yet", ok)
		}
		tasks := pollNow(ctx, t, base)
		id := tasks[flaky]
		waitUntil(t, "a retry of the fetch of the failing feed", func() bool {
			return taskStatus(ctx, t, sess, id, false).Attempts >= 2
		})
		srv.set(flaky, func(f *testFeed) { f.down = false })
		r := taskStatus(ctx, t, sess, id, true)
		if r.State != "done" || r.Attempts < 2 {
			t.Errorf("fetch of the failing feed once back: %+v, want done after 2 attempts or more", r)
		}
		events.waitFor(t, "f1")
		n, ok := srv.stats(flaky)
		t.Logf("failing feed: %d requests, %d answered 200; task %s: %d attempts", n, ok, id, r.Attempts)
	})

	t.Run("an article added later", func(t *testing.T) {
		srv.set(rss, func(f *testFeed) { f.post("a3") })
		events.waitFor(t, "a3")
	})

	t.Run("page scripts", func(t *testing.T) {
		page := runPage(ctx, t, base)
		// The backlog, then an article published while the page is open.
		page.waitFor(t, "live", srv.posted()...)
		srv.set(rss, func(f *testFeed) { f.post("a4") })
		page.waitFor(t, "live", "a4")
		a1 := page.get("a1")
		if a1.Href != srv.URL+"/a1" || a1.Meta != " Feed A · "+published("a1") {
			t.Errorf("page shows a1 as %+v, want a link to %s/a1 and its feed's title and date", a1, srv.URL)
		}
		events.waitFor(t, "a4")
	})

	t.Run("each article once", func(t *testing.T) {
		// A few more ticks fetch every feed, then a poll of our own
		// whose tasks end after their publications.
		var before []int
		for _, f := range []string{rss, atom, flaky} {
			n, _ := srv.stats(f)
			before = append(before, n)
		}
		waitUntil(t, "three more fetches of every feed", func() bool {
			for i, f := range []string{rss, atom, flaky} {
				if n, _ := srv.stats(f); n < before[i]+3 {
					return false
				}
			}
			return true
		})
		for _, id := range pollNow(ctx, t, base) {
			if r := taskStatus(ctx, t, sess, id, true); r.State != "done" {
				t.Errorf("task %s: %+v, want done", id, r)
			}
		}
		got := events.order()
		slices.Sort(got)
		if want := srv.posted(); !slices.Equal(got, want) {
			t.Errorf("feeds.article events: %v, want each of %v once", got, want)
		}
	})

	t.Run("recent", func(t *testing.T) {
		res, err := sess.Call(ctx, "feeds.recent", nil, nil, nil)
		if err != nil {
			t.Fatalf("call feeds.recent: %v", err)
		}
		list, err := junction.Arg[[]map[string]any](&res.Values, 0)
		if err != nil {
			t.Fatalf("feeds.recent: %v", err)
		}
		var got []string
		for _, a := range list {
			got = append(got, strings.TrimPrefix(a["title"].(string), "Article "))
		}
		// Fetches of different feeds publish concurrently: only the
		// order within a feed is sure.
		for _, pair := range [][2]string{{"a1", "a2"}, {"a2", "a3"}, {"b1", "b2"}} {
			if slices.Index(got, pair[0]) > slices.Index(got, pair[1]) {
				t.Errorf("feeds.recent: %v, want %s, the older, before %s", got, pair[0], pair[1])
			}
		}
		slices.Sort(got)
		if want := srv.posted(); !slices.Equal(got, want) {
			t.Errorf("feeds.recent: %v, want %v", got, want)
		}
	})

	t.Run("cron job", func(t *testing.T) {
		res, err := sess.Call(ctx, "junction.cron.list", nil, nil, nil)
		if err != nil {
			t.Fatalf("call junction.cron.list: %v", err)
		}
		jobs, err := junction.Arg[[]struct {
			Name     string `json:"name"`
			Schedule string `json:"schedule"`
			Runs     int    `json:"runs"`
		}](&res.Values, 0)
		if err != nil || len(jobs) != 1 || jobs[0].Name != "poll" || jobs[0].Schedule != "@every 1s" || jobs[0].Runs < 3 {
			t.Errorf("junction.cron.list: %+v, %v; want one job, poll, @every 1s, run 3 times or more", jobs, err)
		}
	})

	t.Run("page", func(t *testing.T) {
		res, body := proctest.Do(t, "GET", base, "", "")
		proctest.Expect(t, res, body, 200, "text/html", "")
		for _, s := range []string{`<script src="wamp.js"></script>`, `<script src="feeds.js"></script>`, `id="articles"`} {
			if !strings.Contains(body, s) {
				t.Errorf("GET / lacks %s:\n%s", s, body)
			}
		}
		for file, s := range map[string]string{"wamp.js": "'wamp.2.json'", "feeds.js": "'feeds.recent'"} {
			res, body := proctest.Do(t, "GET", base+file, "", "")
			proctest.Expect(t, res, body, 200, "text/javascript", "")
			if !strings.Contains(body, s) {
				t.Errorf("GET /%s lacks %s", file, s)
			}
		}
	})

	sess.Close(ctx)
	p.Terminate(t)
}

// TestPollNow runs the example with a tick a year away: only POST
// /api/poll fetches the feed.
func TestPollNow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proctest.Build(t, dir, ".")
	srv := newFeedServer()
	defer srv.Close()
	feed := srv.add("/c.rss", "Feed C", false)
	srv.set(feed, func(f *testFeed) { f.post("c1") })

	p := proctest.Start(t, filepath.Join(dir, "feeds"), "run", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--every", "8760h", "--feeds", feed)
	base := p.URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, events := subscribe(ctx, t, base)

	if n, _ := srv.stats(feed); n != 0 {
		t.Fatalf("%d fetches before POST /api/poll, want none", n)
	}
	for i, want := range []int{1, 0} { // the second poll finds nothing new
		id := pollNow(ctx, t, base)[feed]
		if r := taskStatus(ctx, t, sess, id, true); r.State != "done" || r.Value != want {
			t.Errorf("poll %d: task %+v, want done with %d new", i+1, r, want)
		}
	}
	events.waitFor(t, "c1")
	if n, _ := srv.stats(feed); n != 2 {
		t.Errorf("%d fetches after two POST /api/poll, want 2", n)
	}

	res, err := sess.Call(ctx, "feeds.recent", nil, nil, nil)
	if err != nil {
		t.Fatalf("call feeds.recent: %v", err)
	}
	if list, _ := junction.Arg[[]map[string]any](&res.Values, 0); len(list) != 1 || list[0]["title"] != "Article c1" {
		t.Errorf("feeds.recent: %v, want c1", res.Args)
	}

	sess.Close(ctx)
	if got := events.order(); !slices.Equal(got, []string{"c1"}) {
		t.Errorf("feeds.article events: %v, want c1 once", got)
	}
	p.Terminate(t)
}

// subscribe joins the app's router and collects the feeds.article
// events.
func subscribe(ctx context.Context, t *testing.T, base string) (*client.Session, *articles) {
	t.Helper()
	ws := "ws" + strings.TrimPrefix(base, "http") + "ws"
	sess, err := client.Dial(ctx, ws, client.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("dial %s: %v", ws, err)
	}
	t.Cleanup(func() { sess.Close(context.Background()) })
	a := &articles{byName: make(map[string]wamp.Dict)}
	if _, err := sess.Subscribe(ctx, "feeds.article", a.add, nil); err != nil {
		t.Fatalf("subscribe to feeds.article: %v", err)
	}
	return sess, a
}

// pollNow posts to /api/poll and returns the task ids by feed.
func pollNow(ctx context.Context, t *testing.T, base string) map[string]string {
	t.Helper()
	res, body := proctest.Do(t, "POST", base+"api/poll", "", "")
	proctest.Expect(t, res, body, http.StatusAccepted, "application/json", "")
	var out struct {
		Tasks []struct{ Feed, ID string }
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("POST /api/poll: %v in %s", err, body)
	}
	ids := make(map[string]string)
	for _, task := range out.Tasks {
		ids[task.Feed] = task.ID
	}
	return ids
}

// taskResult is what junction.queue.fetch.result answers.
type taskResult struct {
	State    string `json:"state"`
	Value    int    `json:"value"`
	Error    string `json:"error"`
	Attempts int    `json:"attempts"`
}

// taskStatus reads the state of a fetch task, waiting for its end if
// wait is true.
func taskStatus(ctx context.Context, t *testing.T, sess *client.Session, id string, wait bool) taskResult {
	t.Helper()
	res, err := sess.Call(ctx, "junction.queue.fetch.result", wamp.List{id}, wamp.Dict{"wait": wait}, nil)
	if err != nil {
		t.Fatalf("junction.queue.fetch.result(%s): %v", id, err)
	}
	r, err := junction.Arg[taskResult](&res.Values, 0)
	if err != nil {
		t.Fatalf("junction.queue.fetch.result(%s): %v", id, err)
	}
	return r
}

// waitTimeout bounds each wait for the app: several ticks, retries
// included.
const waitTimeout = 15 * time.Second

// waitUntil polls cond until it holds, or fails the test.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", waitTimeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// articles are the feeds.article events received, by name ("a1": the
// article titled "Article a1").
type articles struct {
	mu     sync.Mutex
	byName map[string]wamp.Dict // the latest event of each
	names  []string             // in the order received, repeats included
}

func (a *articles) add(_ context.Context, e *client.Event) {
	title, _ := e.Kwargs["title"].(string)
	name := strings.TrimPrefix(title, "Article ")
	a.mu.Lock()
	defer a.mu.Unlock()
	a.byName[name] = e.Kwargs
	a.names = append(a.names, name)
}

func (a *articles) get(name string) wamp.Dict {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byName[name]
}

// order returns the names of the events received, in order.
func (a *articles) order() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.names)
}

// waitFor waits until an event of each name has come.
func (a *articles) waitFor(t *testing.T, names ...string) {
	t.Helper()
	waitUntil(t, "feeds.article for "+strings.Join(names, ", "), func() bool {
		for _, n := range names {
			if a.get(n) == nil {
				return false
			}
		}
		return true
	})
}

// page is the page's scripts run by Node (testdata/page.js).
type page struct {
	mu     sync.Mutex
	status string
	shown  map[string]shown // by article name
	stderr strings.Builder
}

// shown is an article as the page shows it.
type shown struct {
	Title, Href, Meta string
}

// runPage runs the page's scripts in Node against the app, or skips the
// test if no Node with a WebSocket (Node 22, or 20.10 and later) is at
// hand.
func runPage(ctx context.Context, t *testing.T, base string) *page {
	t.Helper()
	node := nodeCommand(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, node[0], append(node[1:], filepath.Join("testdata", "page.js"), "public", u.Host)...)
	p := &page{shown: make(map[string]shown)}
	cmd.Stderr = &p.stderr // written by exec's goroutine, read after Wait
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct {
				Status *string
				Shown  *shown
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			p.mu.Lock()
			if line.Status != nil {
				p.status = *line.Status
			}
			if line.Shown != nil {
				p.shown[strings.TrimPrefix(line.Shown.Title, "Article ")] = *line.Shown
			}
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		stdin.Close() // the script's end
		<-read
		if err := cmd.Wait(); err != nil || t.Failed() {
			t.Logf("node %s: %v\n%s", filepath.Join("testdata", "page.js"), err, p.stderr.String())
		}
	})
	return p
}

// nodeCommand returns the command that runs the page's scripts, as the
// README says, or skips the test. The scripts need a WebSocket: Node 22
// has one; from Node 20.10 it is behind --experimental-websocket, which
// page.js turns on by running itself again, and which this runs through.
func nodeCommand(t *testing.T) []string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node on the PATH to run the page's scripts")
	}
	probe := "process.exit(typeof WebSocket === 'function' || process.allowedNodeEnvironmentFlags.has('--experimental-websocket') ? 0 : 1)"
	if exec.Command(node, "-e", probe).Run() != nil {
		t.Skip("this node has no WebSocket: the page's scripts need Node 22, or Node 20.10 or later")
	}
	return []string{node}
}

func (p *page) get(name string) shown {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shown[name]
}

// waitFor waits until the page's status is status and it shows the
// articles names.
func (p *page) waitFor(t *testing.T, status string, names ...string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("the page to be %s and show %v", status, names), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, n := range names {
			if _, ok := p.shown[n]; !ok {
				return false
			}
		}
		return p.status == status
	})
}

// feedServer serves feeds whose articles and health the test sets, and
// counts the requests for each.
type feedServer struct {
	*httptest.Server
	mu    sync.Mutex
	feeds map[string]*testFeed // by URL
}

type testFeed struct {
	title    string
	atom     bool
	posts    []string // article names, newest first as feeds list them
	down     bool     // answer 500
	requests int
	served   int // requests answered 200
}

func (f *testFeed) post(name string) { f.posts = slices.Insert(f.posts, 0, name) }

func newFeedServer() *feedServer {
	s := &feedServer{feeds: make(map[string]*testFeed)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// add adds an empty feed at path and returns its URL.
func (s *feedServer) add(path, title string, atom bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feeds[s.URL+path] = &testFeed{title: title, atom: atom}
	return s.URL + path
}

// set changes the feed at url.
func (s *feedServer) set(url string, change func(*testFeed)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	change(s.feeds[url])
}

// posted returns the names of the articles of every feed, sorted.
func (s *feedServer) posted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, f := range s.feeds {
		names = append(names, f.posts...)
	}
	slices.Sort(names)
	return names
}

// stats returns the requests for the feed at url, and those answered
// 200.
func (s *feedServer) stats(url string) (requests, served int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.feeds[url]
	return f.requests, f.served
}

func (s *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.feeds[s.URL+r.URL.Path]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	f.requests++
	if f.down {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	}
	f.served++
	var b strings.Builder
	if f.atom {
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>%s</title><id>%s</id><updated>2026-01-01T00:00:00Z</updated>
`, html.EscapeString(f.title), s.URL+r.URL.Path)
		for _, p := range f.posts {
			fmt.Fprintf(&b, `<entry><title>Article %s</title><link href="%s/%s"/><id>urn:test:%s</id><published>%s</published><updated>%s</updated></entry>
`, p, s.URL, p, p, published(p), published(p))
		}
		b.WriteString("</feed>\n")
	} else {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>%s</title><link>%s</link><description>test</description>
`, html.EscapeString(f.title), s.URL)
		for _, p := range f.posts {
			pub, _ := time.Parse(time.RFC3339, published(p))
			fmt.Fprintf(&b, `<item><title>Article %s</title><link>%s/%s</link><guid>urn:test:%s</guid><pubDate>%s</pubDate></item>
`, p, s.URL, p, p, pub.Format(time.RFC1123Z))
		}
		b.WriteString("</channel></rss>\n")
	}
	w.Write([]byte(b.String()))
}

// published is the publication date of an article: its number is the
// day, so that a1 is older than a2.
func published(name string) string {
	return fmt.Sprintf("2026-01-%02dT09:00:00Z", int(name[len(name)-1]-'0'))
}

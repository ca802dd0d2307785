// Command feeds is the seed's RSS poller done with Junction: a cron job
// enqueues one task per feed into a durable queue, four workers fetch and
// parse the feeds (retrying failures), each article not seen before is
// published on the WAMP topic feeds.article, and a web page at / shows
// them live.
//
//	go run ./examples/feeds run --listen 127.0.0.1:8080 --every 1m \
//	    --feeds https://go.dev/blog/feed.atom,https://xkcd.com/rss.xml
package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/junction-run/junction"
	"github.com/junction-run/junction/queue"
)

//go:embed public
var files embed.FS

// maxFeedSize bounds the body of one feed: a server sending more fails
// the fetch rather than filling the memory.
const maxFeedSize = 10 << 20

// config holds the app's own settings, read with the built-in ones from
// flags, FEEDS_* environment variables and the settings file.
type config struct {
	Feeds        []string      "help:\"comma-separated `URLs` of the RSS or Atom feeds to poll\""
	Every        time.Duration `help:"how often to poll every feed (at least 1s)"`
	FetchTimeout time.Duration `help:"how long one fetch of a feed may take"`
}

// Validate checks the settings once they are read (Main calls it: a bad
// value exits with code 2, as a bad flag does), and drops feeds given
// twice.
func (c *config) Validate() error {
	if len(c.Feeds) == 0 {
		return errors.New("no feed to poll: give --feeds URL[,URL...]")
	}
	var feeds []string
	for _, f := range c.Feeds {
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--feeds: %q is not an http:// or https:// URL", f)
		}
		if !slices.Contains(feeds, f) {
			feeds = append(feeds, f)
		}
	}
	c.Feeds = feeds
	if c.Every < time.Second {
		return fmt.Errorf("--every %s: want at least 1s", c.Every)
	}
	if c.FetchTimeout <= 0 {
		return fmt.Errorf("--fetch-timeout %s: want a positive duration", c.FetchTimeout)
	}
	return nil
}

func main() {
	cfg := &config{Every: 5 * time.Minute, FetchTimeout: 10 * time.Second}
	app := junction.New("feeds")
	app.AddSettings(cfg)

	p := &poller{
		app:    app,
		cfg:    cfg,
		queue:  app.Queue("fetch", junction.Workers(4), junction.MaxRetries(3), junction.DeadTTL(24*time.Hour)),
		http:   &http.Client{}, // each fetch's context bounds it
		seen:   newSeenSet(maxSeenPerFeed),
		recent: newRecent(maxRecent),
	}
	p.queue.Task("fetch", p.fetch)
	app.Register("recent", p.recentArticles) // "feeds.recent"
	app.HTTP.Post("/api/poll", junction.Handle(p.pollNow))
	app.HTTP.ServeFS("/", sub("public"))

	app.On(junction.Starting, func(ctx context.Context, _ ...any) error {
		// The period is a setting, known only now; a job declared while
		// the app starts is scheduled with those declared before Run.
		app.Every(cfg.Every, p.poll, junction.NoOverlap(), junction.JobName("poll"))
		return nil
	})
	app.Run()
}

// poller polls the feeds: its cron job and HTTP handler enqueue fetch
// tasks, which its workers run.
type poller struct {
	app    *junction.Application
	cfg    *config
	queue  *junction.Queue
	http   *http.Client
	seen   *seenSet
	recent *recent
}

// queued is one enqueued fetch, as POST /api/poll answers it.
type queued struct {
	Feed string `json:"feed"`
	ID   string `json:"id"`
}

// poll is the cron job: one fetch task per feed. The dedup ID names the
// tick (its scheduled time, the same in every process whatever the
// run's delay), so that a tick run twice (two processes whose lock
// failed, say) enqueues each feed once.
func (p *poller) poll(ctx context.Context) error {
	tick, _ := junction.Tick(ctx)
	_, err := p.enqueueAll(ctx, "@"+tick.UTC().Format(time.RFC3339Nano))
	return err
}

// pollNow is POST /api/poll: it enqueues a fetch of every feed now and
// answers 202 with the tasks, {"tasks": [{"feed": URL, "id": ID}...]}.
// Their results are at junction.queue.fetch.result(ID).
func (p *poller) pollNow(w http.ResponseWriter, r *http.Request) error {
	tasks, err := p.enqueueAll(r.Context(), "")
	if err != nil {
		return err
	}
	return junction.JSON(w, http.StatusAccepted, junction.M{"tasks": tasks})
}

// enqueueAll enqueues a fetch of each feed, deduplicated by the feed's
// URL and tick unless tick is "". A feed that cannot be enqueued does
// not stop the others; the errors are returned together.
func (p *poller) enqueueAll(ctx context.Context, tick string) ([]queued, error) {
	tasks := make([]queued, 0, len(p.cfg.Feeds))
	var errs []error
	for _, feed := range p.cfg.Feeds {
		var opts []junction.Option
		if tick != "" {
			opts = append(opts, junction.DedupID(feed+tick))
		}
		id, err := p.queue.Enqueue(ctx, "fetch", feed, opts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("enqueue a fetch of %s: %w", feed, err))
			continue
		}
		tasks = append(tasks, queued{Feed: feed, ID: id})
	}
	return tasks, errors.Join(errs...)
}

// fetch is the task: it fetches and parses feedURL, publishes each
// article not seen before on feeds.article, and returns how many it
// published. An error is retried by the queue (MaxRetries) except a
// permanent one (a 404, a document that is not a feed); either way the
// next tick polls the feed again.
func (p *poller) fetch(ctx context.Context, feedURL string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.FetchTimeout)
	defer cancel()
	fp := gofeed.NewParser()
	fp.Client = p.http
	fp.UserAgent = "junction-feeds/1.0"
	fp.MaxByteSize = maxFeedSize
	feed, err := fp.ParseURLWithContext(feedURL, ctx)
	if err != nil {
		return 0, fetchError(feedURL, err)
	}

	var items []article
	// Feeds list the newest first: publish the oldest first.
	for _, it := range slices.Backward(feed.Items) {
		items = append(items, newArticle(feedURL, feed.Title, it))
	}
	fresh := p.seen.claim(feedURL, items)
	for i, a := range fresh {
		// Acknowledge: a refused publication is an error, hence a retry.
		if err := p.app.Publish(ctx, "article", a.kwargs(), junction.Acknowledge()); err != nil {
			// Not published: forget them so that the retry does.
			p.seen.forget(feedURL, fresh[i:])
			return i, fmt.Errorf("publish an article of %s: %w", feedURL, err)
		}
		p.recent.add(a)
	}
	if len(fresh) > 0 {
		p.app.Logger().Info("feeds: new articles", "feed", feedURL, "new", len(fresh))
	}
	return len(fresh), nil
}

// fetchError names the feed in err, and marks as permanent the failures
// that the same request will meet again at once: a 4xx other than 408 and
// 429, a document that is not a feed.
func fetchError(feedURL string, err error) error {
	err = fmt.Errorf("fetch %s: %w", feedURL, err)
	var he gofeed.HTTPError
	switch {
	case errors.As(err, &he):
		if he.StatusCode >= 400 && he.StatusCode < 500 &&
			he.StatusCode != http.StatusRequestTimeout && he.StatusCode != http.StatusTooManyRequests {
			return queue.Permanent(err)
		}
	case errors.Is(err, gofeed.ErrFeedTypeNotDetected), errors.Is(err, gofeed.ErrResponseTooLarge):
		return queue.Permanent(err)
	}
	return err
}

// recentArticles is the procedure feeds.recent: the latest articles,
// oldest first, for a page that opens after they were published.
func (p *poller) recentArticles() []article {
	return p.recent.list()
}

// article is what feeds.article carries, as keyword arguments, and
// feeds.recent returns.
type article struct {
	Title     string `json:"title"`
	Link      string `json:"link"`
	Feed      string `json:"feed"`       // the feed's URL
	FeedTitle string `json:"feed_title"` // the feed's title, "" if it has none
	Published string `json:"published"`  // RFC 3339, UTC; "" if the feed gives no date
	key       string // identifies the article within its feed
}

func newArticle(feedURL, feedTitle string, it *gofeed.Item) article {
	a := article{Title: it.Title, Link: it.Link, Feed: feedURL, FeedTitle: feedTitle}
	switch {
	case it.PublishedParsed != nil:
		a.Published = it.PublishedParsed.UTC().Format(time.RFC3339)
	case it.UpdatedParsed != nil:
		a.Published = it.UpdatedParsed.UTC().Format(time.RFC3339)
	}
	if a.Title == "" {
		a.Title = a.Link
	}
	// The GUID (RSS) or id (Atom) is meant for this; not every feed
	// has one.
	a.key = it.GUID
	if a.key == "" {
		a.key = it.Link
	}
	if a.key == "" {
		a.key = it.Title + "\x00" + it.Published
	}
	return a
}

func (a article) kwargs() junction.Kwargs {
	return junction.Kwargs{
		"title":      a.Title,
		"link":       a.Link,
		"feed":       a.Feed,
		"feed_title": a.FeedTitle,
		"published":  a.Published,
	}
}

// sub returns the directory dir of the embedded files.
func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // only for a malformed name
	}
	return f
}

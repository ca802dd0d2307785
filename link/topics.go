package link

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/junction-run/junction/client"
	"github.com/junction-run/junction/wamp"
	"github.com/junction-run/junction/wamp/codec"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Topics. An exported event is stored in the exporting side's stream as
// a WAMP PUBLISH encoded in CBOR (topic, args, kwargs: binary values
// survive), with a unique Nats-Msg-Id, so that a store retried after a
// lost reply keeps one copy. The importing side reads the stream across
// the leaf node connection (JetStream domain of the exporting side),
// see runImport.

// publishTimeout bounds the storing of one exported event (a failed
// store is tried again until exportPatience has passed), and the local
// publication of an imported one.
const (
	publishTimeout = 5 * time.Second
	exportPatience = 30 * time.Second
)

// Import tuning: events fetched per pull request, how long one waits,
// and the heartbeat that detects a lost leaf connection during the wait.
const (
	fetchBatch     = 256
	fetchWait      = 5 * time.Second
	fetchHeartbeat = time.Second
)

// startExports creates the stream of the exported events and the NATS
// subscriptions that serve the exported procedures.
func (l *Link) startExports(ctx context.Context) error {
	if len(l.lists.exportTopics) > 0 {
		_, err := l.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:        streamName(l.cfg.Name, l.cfg.Peer),
			Description: fmt.Sprintf("events exported by %s to %s (junction link)", l.cfg.Name, l.cfg.Peer),
			Subjects:    []string{eventSubjects(l.cfg.Name, l.cfg.Peer) + ".>"},
			Storage:     jetstream.FileStorage,
			MaxAge:      l.cfg.Retention,
			Duplicates:  2 * time.Minute,
		})
		if err != nil {
			return fmt.Errorf("link: create stream %s: %w", streamName(l.cfg.Name, l.cfg.Peer), err)
		}
	}
	return l.serveExportedProcedures()
}

// exportEvent stores an event of an exported topic in the stream. It
// runs on the session's event goroutine, so events are stored in the
// order the router delivered them.
func (l *Link) exportEvent(ctx context.Context, sess *client.Session, e *client.Event) {
	topic := e.Topic()
	if !anyMatches(l.lists.exportTopics, topic) {
		return // a WAMP prefix match that is not one by components
	}
	if p := e.Publisher(); p != 0 && p == sess.ID() {
		return // imported by this link: never sent back
	}
	data, err := codec.Encode(codec.CBOR, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: topic,
		Payload: wamp.Payload{Args: e.Args, Kwargs: e.Kwargs}})
	if err != nil {
		l.log.Error("link: event not exported: cannot encode it", "topic", topic, "err", err)
		return
	}
	msg := &nats.Msg{Subject: eventSubjects(l.cfg.Name, l.cfg.Peer) + "." + subject(topic), Data: data}
	id := nuid.Next()
	ctx = context.WithoutCancel(ctx)
	for attempt, deadline := 0, time.Now().Add(exportPatience); ; attempt++ {
		pctx, cancel := context.WithTimeout(ctx, publishTimeout)
		// The same id on every attempt: the stream keeps one copy.
		_, err = l.js.PublishMsg(pctx, msg, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			l.log.Debug("link: event exported", "topic", topic, "id", id)
			return
		}
		if time.Now().After(deadline) || l.isStopping() {
			l.log.Error("link: event not exported: cannot store it", "topic", topic, "err", err)
			return
		}
		time.Sleep(backoff(attempt))
	}
}

func (l *Link) isStopping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopping
}

// runImport reads the peer's stream of exported events and publishes
// them locally, until ctx ends. It waits for the peer (and its stream)
// as long as need be.
//
// It reads through an ephemeral consumer without acknowledgements,
// made to start after the last event it published, whose stream
// sequence it records locally after each one: a message lost in transit
// (the leaf connection broke while it was on its way) shows as a gap in
// the consumer's sequence, and the consumer is made again from the last
// event published, so events arrive in order, none is skipped, and none
// is published twice, whatever the link's outages and restarts. Only a
// crash between publishing an event and recording it repeats it.
func (l *Link) runImport(ctx context.Context) {
	var filters []string
	for _, p := range l.lists.importTopics {
		filters = append(filters, p.subjects(eventSubjects(l.cfg.Peer, l.cfg.Name))...)
	}
	cursor, err := l.openCursor(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Error("link: cannot import events", "err", err)
		}
		return
	}
	remote, err := jetstream.NewWithDomain(l.nc, l.cfg.Peer)
	if err != nil {
		l.log.Error("link: cannot import events", "err", err)
		return
	}
	stream := streamName(l.cfg.Peer, l.cfg.Name)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 && !l.sleepImport(ctx, backoff(attempt-1)) {
			return
		}
		st, err := remote.Stream(ctx, stream)
		if err != nil {
			if ctx.Err() == nil && (attempt == 0 || attempt%20 == 19) {
				l.log.Info("link: waiting for the peer's stream of events", "stream", stream, "err", err)
			}
			continue
		}
		if err := cursor.sameStream(ctx, st.CachedInfo().Created); err != nil {
			l.log.Warn("link: cannot record the peer's stream", "err", err)
			continue
		}
		cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{
			Description:       "junction link " + l.cfg.Name + " imports these events",
			FilterSubjects:    filters,
			AckPolicy:         jetstream.AckNonePolicy,
			DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:       cursor.seq + 1,
			InactiveThreshold: time.Minute,
			MemoryStorage:     true,
		})
		if err != nil {
			l.log.Debug("link: create a consumer of the peer's stream", "err", err)
			continue
		}
		l.log.Debug("link: reading the peer's events", "stream", stream, "from", cursor.seq+1, "filters", filters)
		if err := l.consume(ctx, cons, cursor); err != nil && ctx.Err() == nil {
			l.log.Debug("link: reading the peer's events again", "reason", err)
		}
		name := cons.CachedInfo().Name
		go func() {
			// Best effort: the server removes it after InactiveThreshold.
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			st.DeleteConsumer(dctx, name)
		}()
		attempt = 0
	}
}

// sleepImport waits d, or less if the leaf connection comes up, and
// reports whether ctx is alive.
func (l *Link) sleepImport(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-l.leafBack:
	}
	return true
}

// consume publishes the events cons delivers until it misses one or
// fails; it returns why.
func (l *Link) consume(ctx context.Context, cons jetstream.Consumer, cursor *cursor) error {
	var delivered uint64 // the consumer's sequence of the last message
	for {
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(fetchBatch, jetstream.FetchContext(fctx), jetstream.FetchHeartbeat(fetchHeartbeat))
		if err != nil {
			cancel()
			return err
		}
		for msg := range batch.Messages() {
			if err := l.importMsg(ctx, msg, &delivered, cursor); err != nil {
				cancel()
				return err
			}
		}
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		// Messages sent while the leaf connection broke are lost
		// without a trace here: the consumer's count tells.
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.Delivered.Consumer != delivered {
			return fmt.Errorf("missed events: the consumer sent %d, %d arrived", info.Delivered.Consumer, delivered)
		}
	}
}

// importMsg publishes the event in msg unless it was already, and
// records it. delivered is the consumer's sequence of the last message
// before msg.
func (l *Link) importMsg(ctx context.Context, msg jetstream.Msg, delivered *uint64, cursor *cursor) error {
	md, err := msg.Metadata()
	if err != nil {
		return err
	}
	if md.Sequence.Consumer != *delivered+1 {
		return fmt.Errorf("missed events: consumer sequence %d after %d", md.Sequence.Consumer, *delivered)
	}
	*delivered++
	if md.Sequence.Stream <= cursor.seq {
		return nil // published already
	}
	if !l.importEvent(ctx, msg) {
		return ctx.Err()
	}
	cursor.advance(ctx, md.Sequence.Stream)
	return nil
}

// importEvent publishes one of the peer's events locally. It reports
// false when ctx ended first.
func (l *Link) importEvent(ctx context.Context, msg jetstream.Msg) bool {
	m, err := codec.DecodeResolved(codec.CBOR, msg.Data())
	pub, ok := m.(*wamp.Publish)
	if err != nil || !ok || !anyMatches(l.lists.importTopics, pub.Topic) {
		l.log.Error("link: malformed or unexpected event from the peer dropped", "subject", msg.Subject(), "err", err)
		return true
	}
	for attempt := 0; ; attempt++ {
		sess, err := l.waitSession(ctx)
		if err != nil {
			return false
		}
		// The publication in flight is seen through even when the link
		// stops meanwhile: cut short, it may be published and not
		// recorded, and so published again after a restart.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		_, err = sess.Publish(pctx, pub.Topic, pub.Args, pub.Kwargs, &client.PublishOptions{Acknowledge: true})
		cancel()
		var we *wamp.Error
		switch {
		case err == nil:
			l.log.Debug("link: event imported", "topic", pub.Topic)
			return true
		case errors.As(err, &we):
			// The router refuses it (not authorized...): trying again
			// will not help.
			l.log.Error("link: imported event refused by the local router; dropped", "topic", pub.Topic, "err", err)
			return true
		case !sleep(ctx, backoff(attempt)):
			return false
		}
	}
}

// cursor is where the import stands: the stream sequence of the last
// event published, kept in a local bucket with the creation time of the
// peer's stream (a stream made anew starts its sequence again).
type cursor struct {
	l       *Link
	kv      jetstream.KeyValue
	created time.Time
	seq     uint64
}

// cursorKey is the key of the cursor in its bucket.
const cursorKey = "cursor"

// openCursor opens the bucket of the cursor and reads it.
func (l *Link) openCursor(ctx context.Context) (*cursor, error) {
	var kv jetstream.KeyValue
	var err error
	for attempt := 0; ; attempt++ {
		kv, err = l.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      stateBucket(l.cfg.Name, l.cfg.Peer),
			Description: "where junction link " + l.cfg.Name + " stands in the events of " + l.cfg.Peer,
			Storage:     jetstream.FileStorage,
		})
		if err == nil {
			break
		}
		if attempt == 4 || !sleep(ctx, backoff(attempt)) {
			return nil, fmt.Errorf("open bucket %s: %w", stateBucket(l.cfg.Name, l.cfg.Peer), err)
		}
	}
	c := &cursor{l: l, kv: kv}
	e, err := kv.Get(ctx, cursorKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the cursor: %w", err)
	}
	var v struct {
		Created time.Time `json:"created"`
		Seq     uint64    `json:"seq"`
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		l.log.Warn("link: malformed cursor ignored; the peer's events may be published again", "err", err)
		return c, nil
	}
	c.created, c.seq = v.Created, v.Seq
	return c, nil
}

// sameStream starts again from the beginning if the peer's stream is
// not the one the cursor was in.
func (c *cursor) sameStream(ctx context.Context, created time.Time) error {
	if c.created.Equal(created) {
		return nil
	}
	if !c.created.IsZero() {
		c.l.log.Warn("link: the peer's stream was made anew; reading it from the start", "was", c.created, "now", created)
	}
	c.created, c.seq = created, 0
	return c.save(ctx)
}

// advance records that the event at seq was published.
func (c *cursor) advance(ctx context.Context, seq uint64) {
	c.seq = seq
	if err := c.save(ctx); err != nil {
		c.l.log.Warn("link: cannot record where the import stands; events may be published again after a restart", "err", err)
	}
}

func (c *cursor) save(ctx context.Context) error {
	b, err := json.Marshal(struct {
		Created time.Time `json:"created"`
		Seq     uint64    `json:"seq"`
	}{c.created, c.seq})
	if err != nil {
		return err
	}
	_, err = c.kv.Put(context.WithoutCancel(ctx), cursorKey, b)
	return err
}

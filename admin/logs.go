package admin

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// LogBuffer is a slog.Handler that keeps the latest records for the
// admin's log tail and hands each to the handler it wraps. Put it in
// front of the program's handler: slog.New(admin.NewLogBuffer(h, 1000)).
type LogBuffer struct {
	next   slog.Handler
	attrs  string // the handler's own attributes (WithAttrs), formatted
	group  string
	shared *logRing
}

// LogLine is one record of the tail.
type LogLine struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
	// Attrs are the record's attributes, "key=value ..." as the text
	// handler writes them.
	Attrs string `json:"attrs,omitempty"`
}

type logRing struct {
	mu    sync.Mutex
	lines []LogLine // a ring of cap(lines)
	next  int
	seq   uint64
	// notify is closed and replaced at each record: waiters wake up.
	notify chan struct{}
}

// NewLogBuffer returns a LogBuffer keeping the last n records (default
// 1000) and passing each to next.
func NewLogBuffer(next slog.Handler, n int) *LogBuffer {
	if n <= 0 {
		n = 1000
	}
	return &LogBuffer{next: next, shared: &logRing{lines: make([]LogLine, 0, n), notify: make(chan struct{})}}
}

// Enabled implements slog.Handler: the wrapped handler's levels apply.
func (b *LogBuffer) Enabled(ctx context.Context, l slog.Level) bool { return b.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (b *LogBuffer) Handle(ctx context.Context, r slog.Record) error {
	line := LogLine{Time: r.Time, Level: r.Level.String(), Message: r.Message, Attrs: b.attrs}
	r.Attrs(func(a slog.Attr) bool {
		line.Attrs = appendAttr(line.Attrs, b.group, a)
		return true
	})
	b.shared.add(line)
	return b.next.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (b *LogBuffer) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *b
	c.next = b.next.WithAttrs(attrs)
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, b.group, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (b *LogBuffer) WithGroup(name string) slog.Handler {
	c := *b
	c.next = b.next.WithGroup(name)
	c.group = b.group + name + "."
	return &c
}

func appendAttr(s, group string, a slog.Attr) string {
	if a.Equal(slog.Attr{}) {
		return s
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			s = appendAttr(s, group+a.Key+".", g)
		}
		return s
	}
	if s != "" {
		s += " "
	}
	return s + fmt.Sprintf("%s%s=%q", group, a.Key, v.String())
}

func (r *logRing) add(l LogLine) {
	r.mu.Lock()
	r.seq++
	l.Seq = r.seq
	if len(r.lines) < cap(r.lines) {
		r.lines = append(r.lines, l)
	} else {
		r.lines[r.next] = l
		r.next = (r.next + 1) % cap(r.lines)
	}
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()
}

// Since returns the records kept after sequence number seq, oldest
// first, and a channel closed when another comes.
func (b *LogBuffer) Since(seq uint64) ([]LogLine, <-chan struct{}) {
	r := b.shared
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LogLine
	n := len(r.lines)
	for i := range n {
		l := r.lines[(r.next+i)%n]
		if l.Seq > seq {
			out = append(out, l)
		}
	}
	return out, r.notify
}

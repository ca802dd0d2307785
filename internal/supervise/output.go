package supervise

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

const (
	// keepLines is how many output lines Status keeps.
	keepLines = 50
	// maxLine bounds a line; a longer one is split.
	maxLine = 64 << 10
	// errLines is how many of a run's last lines go into an error.
	errLines = 10
)

// outLine is one line of output, with the run that wrote it.
type outLine struct {
	run  int
	text string
}

// ring keeps the last keepLines lines. It is not safe for concurrent use:
// Process.mu guards it.
type ring struct {
	lines [keepLines]outLine
	n     int // lines ever added
}

func (r *ring) add(l outLine) {
	r.lines[r.n%keepLines] = l
	r.n++
}

// last returns up to max of the kept lines, oldest first; with run > 0,
// only that run's.
func (r *ring) last(max, run int) []string {
	var out []string
	for i := r.n - 1; i >= 0 && i >= r.n-keepLines && len(out) < max; i-- {
		l := r.lines[i%keepLines]
		if run > 0 && l.run != run {
			continue
		}
		out = append(out, l.text)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// readLines calls line with each line read from rd, without its line
// ending; a line longer than maxLine comes in pieces. It returns at EOF
// or on the first read error.
func readLines(rd io.Reader, line func(string)) {
	br := bufio.NewReaderSize(rd, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			b = bytes.TrimSuffix(b, []byte("\n"))
			b = bytes.TrimSuffix(b, []byte("\r"))
			line(string(b))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

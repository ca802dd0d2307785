package netproto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzFramings reads arbitrary streams with each framing: no panic, no
// frame over the limit, and every frame read writes back to bytes that
// read as the same frame.
func FuzzFramings(f *testing.F) {
	f.Add([]byte("hello\r\nworld\n"), uint8(16))
	f.Add([]byte("\x00\x03abc\x00\x01"), uint8(4))
	f.Add([]byte("\xff\xff\xff\xff"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, max uint8) {
		for _, fr := range []Framing{Lines, LengthPrefixed(1), LengthPrefixed(2), LengthPrefixed(4)} {
			r := bufio.NewReaderSize(bytes.NewReader(data), 16)
			for {
				frame, err := fr.ReadFrame(r, int(max))
				if err != nil {
					if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrFrameTooLarge) {
						t.Fatalf("%T: unexpected error %v", fr, err)
					}
					break
				}
				if len(frame) > int(max) {
					t.Fatalf("%T: a frame of %d bytes, over %d", fr, len(frame), max)
				}
				out, err := fr.AppendFrame(nil, frame)
				if err != nil {
					t.Fatalf("%T: frame %q does not write back: %v", fr, frame, err)
				}
				again, err := fr.ReadFrame(bufio.NewReader(bytes.NewReader(out)), int(max))
				if err != nil || !bytes.Equal(again, bytes.TrimSuffix(frame, []byte("\r"))) && !bytes.Equal(again, frame) {
					t.Fatalf("%T: %q read back as %q, %v", fr, frame, again, err)
				}
			}
		}
	})
}

func TestFramingsRoundTrip(t *testing.T) {
	for _, fr := range []Framing{Lines, LengthPrefixed(1), LengthPrefixed(2), LengthPrefixed(4)} {
		var stream []byte
		for _, p := range []string{"", "a", "hello world"} {
			var err error
			if stream, err = fr.AppendFrame(stream, []byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		r := bufio.NewReader(bytes.NewReader(stream))
		for _, want := range []string{"", "a", "hello world"} {
			got, err := fr.ReadFrame(r, 64)
			if err != nil || string(got) != want {
				t.Errorf("%T: got %q, %v; want %q", fr, got, err, want)
			}
		}
		if _, err := fr.ReadFrame(r, 64); err != io.EOF {
			t.Errorf("%T: at the end: %v, want io.EOF", fr, err)
		}
	}
	if _, err := Lines.AppendFrame(nil, []byte("a\nb")); !errors.Is(err, ErrMalformedFrame) {
		t.Errorf("a line with a newline: %v", err)
	}
	if _, err := LengthPrefixed(1).AppendFrame(nil, make([]byte, 256)); !errors.Is(err, ErrMalformedFrame) {
		t.Errorf("256 bytes after a 1-byte length: %v", err)
	}
}

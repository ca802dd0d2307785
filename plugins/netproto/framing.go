package netproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Framing cuts a byte stream into frames and back.
type Framing interface {
	// ReadFrame reads the payload of the next frame from r, which it
	// returns in a new slice. A frame over max bytes is
	// ErrFrameTooLarge; one the framing refuses is ErrMalformedFrame;
	// a stream that ends between frames is io.EOF, inside one
	// io.ErrUnexpectedEOF.
	ReadFrame(r *bufio.Reader, max int) ([]byte, error)
	// AppendFrame appends payload, framed, to dst.
	AppendFrame(dst, payload []byte) ([]byte, error)
}

// Lines frames text lines: a frame ends at "\n", and a "\r" before it
// is dropped too. A payload holding a newline cannot be written.
var Lines Framing = lines{}

type lines struct{}

func (lines) ReadFrame(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+2 { // room for "\r\n"
			return nil, fmt.Errorf("%w: a line of more than %d bytes", ErrFrameTooLarge, max)
		}
		line = append(line, chunk...)
		switch {
		case err == nil:
			line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
			if len(line) > max {
				return nil, fmt.Errorf("%w: a line of %d bytes, over %d", ErrFrameTooLarge, len(line), max)
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

func (lines) AppendFrame(dst, payload []byte) ([]byte, error) {
	if bytes.IndexByte(payload, '\n') >= 0 {
		return dst, fmt.Errorf("%w: a line holds a newline", ErrMalformedFrame)
	}
	return append(append(dst, payload...), '\n'), nil
}

// LengthPrefixed frames messages each after its length in size bytes
// (1, 2 or 4), big-endian. Another size panics.
func LengthPrefixed(size int) Framing {
	switch size {
	case 1, 2, 4:
		return lengthPrefixed(size)
	}
	panic(fmt.Sprintf("netproto: LengthPrefixed(%d): want 1, 2 or 4", size))
}

type lengthPrefixed int

func (l lengthPrefixed) ReadFrame(r *bufio.Reader, max int) ([]byte, error) {
	var hdr [4]byte
	h := hdr[:l]
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, err
	}
	var n uint64
	for _, b := range h {
		n = n<<8 | uint64(b)
	}
	if n > uint64(max) {
		return nil, fmt.Errorf("%w: a frame of %d bytes, over %d", ErrFrameTooLarge, n, max)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return p, nil
}

func (l lengthPrefixed) AppendFrame(dst, payload []byte) ([]byte, error) {
	if uint64(len(payload)) > 1<<(8*uint(l))-1 {
		return dst, fmt.Errorf("%w: %d bytes do not fit a %d-byte length", ErrMalformedFrame, len(payload), l)
	}
	switch l {
	case 1:
		dst = append(dst, byte(len(payload)))
	case 2:
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	default:
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	}
	return append(dst, payload...), nil
}

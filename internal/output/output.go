// Package output writes events: NDJSON (one object per line, the schema
// of docs/events.md) or aligned text for a terminal. Writers buffer and
// are flushed by their caller when the event stream runs dry; a writer
// never writes a partial line.
package output

import (
	"bufio"
	"fmt"
	"io"

	"github.com/vigil-sec/vigil/internal/event"
)

// Format names an output format.
type Format string

// The output formats. FormatNone writes nothing.
const (
	FormatJSON Format = "json"
	FormatText Format = "text"
	FormatNone Format = "none"
)

// New returns a writer of format f on w.
func New(f Format, w io.Writer) (event.Sink, error) {
	switch f {
	case FormatJSON:
		return NewJSON(w), nil
	case FormatText:
		return NewText(w), nil
	case FormatNone:
		return Discard{}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want json or text)", f)
}

// Discard is a writer that drops every event, for FormatNone.
type Discard struct{}

// Emit does nothing.
func (Discard) Emit(*event.Event) error { return nil }

// Flush does nothing.
func (Discard) Flush() error { return nil }

// JSON writes one JSON object per line.
type JSON struct {
	w   *bufio.Writer
	buf []byte
}

// NewJSON returns an NDJSON writer on w.
func NewJSON(w io.Writer) *JSON {
	return &JSON{w: bufio.NewWriterSize(w, 64<<10), buf: make([]byte, 0, 4096)}
}

// Emit writes ev as one line.
func (j *JSON) Emit(ev *event.Event) error {
	j.buf = ev.AppendJSON(j.buf[:0])
	j.buf = append(j.buf, '\n')
	if _, err := j.w.Write(j.buf); err != nil {
		return fmt.Errorf("writing event: %w", err)
	}
	return nil
}

// Flush writes out buffered lines.
func (j *JSON) Flush() error {
	if err := j.w.Flush(); err != nil {
		return fmt.Errorf("flushing events: %w", err)
	}
	return nil
}

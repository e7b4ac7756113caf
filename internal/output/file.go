package output

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/vigil-sec/vigil/internal/event"
)

// FileConfig configures an NDJSON file output.
type FileConfig struct {
	Path string
	// MaxBytes is the size past which the file is rotated; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// Keep is how many rotated files are kept (Path.1 newest ...
	// Path.Keep oldest); 0 keeps none.
	Keep int
}

// Defaults of FileConfig.
const (
	DefaultMaxBytes = 100 << 20
	DefaultKeep     = 5
)

// fileBufBytes is how much File gathers before writing: whole lines only.
const fileBufBytes = 64 << 10

// File writes events as NDJSON to a file and rotates it by size, the
// scheme of logrotate without copytruncate that Vector, Fluent Bit and
// Filebeat follow: vigil.ndjson is renamed vigil.ndjson.1, .1 becomes .2
// and so on, the oldest beyond Keep is removed, and a new vigil.ndjson
// is created. Only whole lines are written, each write(2) ends at a line
// end, and a file is fsynced before it is renamed, so a reader never sees
// a partial line and a crash loses at most the unsynced tail.
//
// A File is used from one goroutine (the event reader), except Reopen.
type File struct {
	cfg    FileConfig
	f      *os.File
	size   int64 // bytes in f, all whole lines
	buf    []byte
	line   []byte
	reopen atomic.Bool

	rotations atomic.Uint64
}

// OpenFile opens (appending) or creates cfg.Path and its directory. A
// tail left by a crash in the middle of a line is cut off, so the next
// line starts clean.
func OpenFile(cfg FileConfig) (*File, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Keep < 0 {
		return nil, fmt.Errorf("opening %s: keep %d is negative", cfg.Path, cfg.Keep)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("creating output directory: %w", err)
	}
	w := &File{cfg: cfg, buf: make([]byte, 0, fileBufBytes+4096), line: make([]byte, 0, 4096)}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *File) open() error {
	f, err := os.OpenFile(w.cfg.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("opening output file: %w", err)
	}
	size, err := wholeLines(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("opening output file %s: %w", w.cfg.Path, err)
	}
	w.f, w.size = f, size
	return nil
}

// wholeLines cuts f after its last newline and returns its new size.
func wholeLines(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size == 0 {
		return 0, nil
	}
	r, err := os.Open(f.Name())
	if err != nil {
		return 0, err
	}
	defer r.Close()
	tail := make([]byte, min(size, 1<<20))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return 0, err
	}
	if tail[len(tail)-1] == '\n' {
		return size, nil
	}
	keep := size - int64(len(tail)) + int64(bytes.LastIndexByte(tail, '\n')+1)
	if err := f.Truncate(keep); err != nil {
		return 0, fmt.Errorf("cutting partial last line: %w", err)
	}
	return keep, nil
}

// Emit adds ev as one line, writing out and rotating as needed.
func (w *File) Emit(ev *event.Event) error {
	w.line = ev.AppendJSON(w.line[:0])
	w.line = append(w.line, '\n')
	return w.WriteLine(w.line)
}

// WriteLine adds one line (which must end in a newline) to the file.
func (w *File) WriteLine(line []byte) error {
	if w.size+int64(len(w.buf))+int64(len(line)) > w.cfg.MaxBytes && w.size+int64(len(w.buf)) > 0 {
		if err := w.write(); err != nil {
			return err
		}
		if err := w.rotate(); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, line...)
	if len(w.buf) >= fileBufBytes {
		return w.write()
	}
	return nil
}

// Flush writes out the lines gathered so far, and reopens the file if
// Reopen asked for it.
func (w *File) Flush() error {
	if err := w.write(); err != nil {
		return err
	}
	if w.reopen.Swap(false) {
		if err := w.f.Close(); err != nil {
			return fmt.Errorf("closing output file: %w", err)
		}
		return w.open()
	}
	return nil
}

// Reopen makes the next Flush close and reopen the file, for an outside
// tool that moved it. Safe from any goroutine.
func (w *File) Reopen() { w.reopen.Store(true) }

// Rotations returns how many times the file was rotated.
func (w *File) Rotations() uint64 { return w.rotations.Load() }

// write writes the buffer, whole lines, in one call; on a short write
// (a full disk) the file is cut back to its last whole line.
func (w *File) write() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	if err != nil {
		if n > 0 {
			_ = w.f.Truncate(w.size) // best effort; err says what went wrong
		}
		w.buf = w.buf[:0]
		return fmt.Errorf("writing output file: %w", err)
	}
	w.size += int64(n)
	w.buf = w.buf[:0]
	return nil
}

// rotate syncs and renames the file down the chain and starts a new one.
func (w *File) rotate() error {
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("syncing output file before rotation: %w", err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("closing output file: %w", err)
	}
	p := w.cfg.Path
	if w.cfg.Keep == 0 {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("rotating output file: %w", err)
		}
	} else {
		if err := os.Remove(p + "." + strconv.Itoa(w.cfg.Keep)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotating output file: %w", err)
		}
		for i := w.cfg.Keep - 1; i >= 1; i-- {
			from := p + "." + strconv.Itoa(i)
			if err := os.Rename(from, p+"."+strconv.Itoa(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotating output file: %w", err)
			}
		}
		if err := os.Rename(p, p+".1"); err != nil {
			return fmt.Errorf("rotating output file: %w", err)
		}
	}
	if err := w.open(); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("syncing output directory: %w", err)
	}
	w.rotations.Add(1)
	return nil
}

// Close writes out what is gathered, syncs and closes the file.
func (w *File) Close() error {
	err := w.write()
	if serr := w.f.Sync(); err == nil && serr != nil {
		err = fmt.Errorf("syncing output file: %w", serr)
	}
	if cerr := w.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing output file: %w", cerr)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

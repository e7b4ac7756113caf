package sensor

import (
	"bytes"
	"strings"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/event"
)

// Record kinds, enum event_type of bpf/include/events.h.
const (
	kindFork     = 1
	kindExec     = 2
	kindExit     = 3
	kindModule   = 4
	kindMprotect = 5
	kindOpen     = 6
	kindMax      = 7
)

// kindTypes maps a record kind to its event type.
var kindTypes = [kindMax]event.Type{"", event.TypeFork, event.TypeExec, event.TypeExit, event.TypeModule, event.TypeMprotect, event.TypeOpen}

// Flags of bpf/include/events.h.
const (
	hdrVerdict  = 1 << 0
	hdrEnforced = 1 << 1

	fileUnlinked  = 1 << 0
	filePathTrunc = 1 << 1
	fileInternal  = 1 << 2
	argsTrunc     = 1 << 3
)

type hdr = bpfobj.ProcessEventHdr

const hdrSize = int(unsafe.Sizeof(hdr{}))

// load copies raw into *dst, a record struct: records are cut to the
// bytes their producer filled, so the tail of *dst keeps stale bytes that
// the length fields say to ignore.
func load[T any](dst *T, raw []byte) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(dst)), unsafe.Sizeof(*dst))
	copy(b, raw)
}

// fillProcess sets the event's process from a record header.
func fillProcess(h *hdr, p *event.Process) {
	p.Pid, p.Tid, p.Ppid = h.Pid, h.Tid, h.Ppid
	p.Uid, p.Gid = h.Uid, h.Gid
	p.Comm = cstring(h.Comm[:])
}

// cstring returns b up to its first NUL.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// splitNUL splits NUL-terminated strings.
func splitNUL(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			out = append(out, string(b))
			break
		}
		out = append(out, string(b[:i]))
		b = b[i+1:]
	}
	return out
}

// joinPath turns the components read_path() wrote, leaf first, into an
// absolute path. A file on an internal mount (memfd) has no path from the
// root: its one component ("memfd:name") is returned as is.
func joinPath(b []byte, flags uint32) string {
	parts := splitNUL(b)
	if flags&fileInternal != 0 {
		return strings.Join(parts, "/")
	}
	if len(parts) == 0 {
		return "/"
	}
	var sb strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		sb.WriteByte('/')
		sb.WriteString(parts[i])
	}
	return sb.String()
}

// slice returns data[off:off+n], clamped to data.
func slice(data []byte, off, n uint32) []byte {
	if int(off) > len(data) {
		return nil
	}
	end := int(off) + int(n)
	if end > len(data) {
		end = len(data)
	}
	return data[off:end]
}

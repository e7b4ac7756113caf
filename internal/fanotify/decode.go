package fanotify

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MetadataVersion is FANOTIFY_METADATA_VERSION, unchanged since Linux
// 2.6.37 (include/uapi/linux/fanotify.h).
const MetadataVersion = 3

// metadataLen is sizeof(struct fanotify_event_metadata).
const metadataLen = 24

// Event is the fixed part of one fanotify event.
type Event struct {
	// Mask holds the FAN_* bits of what happened.
	Mask uint64
	// Fd is an open file descriptor of the object (read-only, owned by
	// the reader, which must close it), or FAN_NOFD (-1) for a queue
	// overflow, or -errno with FAN_REPORT_FD_ERROR.
	Fd int32
	// Pid is the pid (or, with FAN_REPORT_TID, the tid) of the task
	// that caused the event, 0 when it is outside the reader's pid
	// namespace.
	Pid int32
}

// ErrVersion is returned by Decode when the kernel speaks a metadata
// version this package does not know.
var ErrVersion = errors.New("fanotify: unknown metadata version")

// Decode appends the events in buf (the bytes one read returned) to out.
// It stops at the first malformed record and returns the events before it
// with an error; the caller must still answer and close those.
// Information records after the fixed metadata (FAN_REPORT_FID and
// friends) are skipped.
func Decode(buf []byte, out []Event) ([]Event, error) {
	for len(buf) > 0 {
		if len(buf) < metadataLen {
			return out, fmt.Errorf("decoding fanotify event: %d trailing bytes, want at least %d", len(buf), metadataLen)
		}
		evLen := binary.NativeEndian.Uint32(buf[0:4])
		vers := buf[4]
		metaLen := binary.NativeEndian.Uint16(buf[6:8])
		if vers != MetadataVersion {
			return out, fmt.Errorf("decoding fanotify event: version %d: %w", vers, ErrVersion)
		}
		if evLen < metadataLen || uint64(evLen) > uint64(len(buf)) || metaLen < metadataLen || uint32(metaLen) > evLen {
			return out, fmt.Errorf("decoding fanotify event: bad lengths event_len=%d metadata_len=%d with %d bytes left", evLen, metaLen, len(buf))
		}
		out = append(out, Event{
			Mask: binary.NativeEndian.Uint64(buf[8:16]),
			Fd:   int32(binary.NativeEndian.Uint32(buf[16:20])),
			Pid:  int32(binary.NativeEndian.Uint32(buf[20:24])),
		})
		buf = buf[evLen:]
	}
	return out, nil
}

// encodeResponse fills b (8 bytes) with a struct fanotify_response.
func encodeResponse(b []byte, fd int32, response uint32) {
	binary.NativeEndian.PutUint32(b[0:4], uint32(fd))
	binary.NativeEndian.PutUint32(b[4:8], response)
}

package proc

import (
	"time"

	"golang.org/x/sys/unix"
)

// WallOffset returns wall-clock time minus CLOCK_MONOTONIC, in
// nanoseconds: added to a BPF program's bpf_ktime_get_ns() it gives the
// wall time of a kernel record. It is 0 if the monotonic clock cannot be
// read. Wall time can be stepped, so long-running readers refresh it.
func WallOffset() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Now().UnixNano() - ts.Nano()
}

package output

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestMountBPFDetails: the text lines of mount and bpf events, as
// docs/events.md shows them.
func TestMountBPFDetails(t *testing.T) {
	cases := []struct {
		ev   event.Event
		want string
	}{
		{event.Event{Mount: &event.Mount{Syscall: "mount", Source: "tmpfs", Target: "a", ResolvedTarget: "/work/a", FSType: "tmpfs", Flags: 6}},
			"mount tmpfs on a -> /work/a type=tmpfs MS_NOSUID|MS_NODEV = 0"},
		{event.Event{Mount: &event.Mount{Syscall: "umount2", Target: "/work/a", Flags: 2}}, "umount2 /work/a MNT_DETACH = 0"},
		{event.Event{BPF: &event.BPF{Cmd: "BPF_RAW_TRACEPOINT_OPEN", ProgType: "RawTracepoint", ProgName: "vigil_rtp", ProgID: 8413,
			AttachName: "sched_process_free", LinkID: 7434, Result: 9}},
			"BPF_RAW_TRACEPOINT_OPEN RawTracepoint vigil_rtp id=8413 at=sched_process_free link=7434 = 9"},
	}
	for _, c := range cases {
		if got := details(&c.ev); !strings.HasPrefix(got, c.want) {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

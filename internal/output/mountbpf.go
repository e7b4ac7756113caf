package output

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// mountDetails is the text of a mount event:
//
//	mount tmpfs on mnt -> /work/mnt type=tmpfs MS_NOSUID|MS_NODEV = 0
func mountDetails(b *strings.Builder, m *event.Mount) {
	b.WriteString(m.Syscall)
	if m.Source != "" {
		fmt.Fprintf(b, " %s", q(m.Source))
		if m.ResolvedSource != "" && m.ResolvedSource != m.Source {
			fmt.Fprintf(b, " -> %s", q(m.ResolvedSource))
		}
	}
	if m.Target != "" {
		on := " on"
		if m.Syscall == "umount2" {
			on = ""
		}
		fmt.Fprintf(b, "%s %s", on, q(m.Target))
		if m.ResolvedTarget != "" && m.ResolvedTarget != m.Target {
			fmt.Fprintf(b, " -> %s", q(m.ResolvedTarget))
		}
	}
	if m.FSType != "" {
		fmt.Fprintf(b, " type=%s", q(m.FSType))
	}
	if names := event.MountFlagNames(m.Syscall, m.Flags); len(names) > 0 {
		fmt.Fprintf(b, " %s", strings.Join(names, "|"))
	}
	if m.Syscall == "fsmount" {
		if names := event.MountAttrNames(m.AttrFlags); len(names) > 0 {
			fmt.Fprintf(b, " %s", strings.Join(names, "|"))
		}
	}
	b.WriteString(result(m.Result))
}

// bpfDetails is the text of a bpf event:
//
//	BPF_PROG_LOAD SocketFilter myfilter id=42 = 5
func bpfDetails(b *strings.Builder, x *event.BPF) {
	b.WriteString(x.Cmd)
	if x.ProgType != "" {
		fmt.Fprintf(b, " %s", x.ProgType)
	}
	if x.ProgName != "" {
		fmt.Fprintf(b, " %s", q(x.ProgName))
	}
	if x.ProgID != 0 {
		fmt.Fprintf(b, " id=%d", x.ProgID)
	}
	if x.HasAttachType {
		fmt.Fprintf(b, " attach=%s", x.AttachType)
	}
	if x.AttachName != "" {
		fmt.Fprintf(b, " at=%s", q(x.AttachName))
	}
	if x.LinkID != 0 {
		fmt.Fprintf(b, " link=%d", x.LinkID)
	}
	b.WriteString(result(x.Result))
}

package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// Matchers of mount and bpf events, evaluated in userspace (log, and
// deny's report): the kernel evaluates only the process matchers of
// these types (kernelMatchers).

// MountFlagSet is one element of a mount_flags matcher: mount(2) flags
// joined with "|", all of which the call's flags must hold.
type MountFlagSet struct {
	Bits uint64
}

// Matches reports whether a mount call's flags hold every bit of s.
func (s MountFlagSet) Matches(flags uint64) bool { return flags&s.Bits == s.Bits }

// parseMountFlagSet parses "MS_BIND|MS_REC".
func parseMountFlagSet(s string) (MountFlagSet, string) {
	var set MountFlagSet
	for _, name := range strings.Split(s, "|") {
		name = strings.TrimSpace(name)
		bit, ok := event.MountFlag(name)
		if !ok {
			return set, fmt.Sprintf("unknown mount flag %q in %q (expected MS_* names such as MS_BIND, MS_MOVE, MS_REMOUNT, MS_REC, joined with |)", name, s)
		}
		set.Bits |= bit
	}
	return set, ""
}

func checkFSType(s string) string {
	if s == "" || strings.ContainsAny(s, "/\x00 ") {
		return fmt.Sprintf("bad filesystem type %q: a type is a name such as tmpfs, overlay, proc", s)
	}
	return ""
}

func checkBPFCmd(s string) string {
	if !slices.Contains(event.BPFCmdNames(), s) {
		return fmt.Sprintf("unknown bpf command %q (expected one of %s)", s, strings.Join(event.BPFCmdNames(), ", "))
	}
	return ""
}

func checkProgType(s string) string {
	if _, ok := event.ParseProgType(s); !ok {
		return fmt.Sprintf("unknown BPF program type %q (expected a name as vigil hooks shows it: SocketFilter, Kprobe, TracePoint, XDP, RawTracepoint, Tracing, LSM, ...)", s)
	}
	return ""
}

// matchesMountBPF checks the mount and bpf matchers of m against ev.
func (m *Match) matchesMountBPF(ev *event.Event) bool {
	if m.FSType != nil && (ev.Mount == nil || !slices.Contains(m.FSType, ev.Mount.FSType)) {
		return false
	}
	if m.MountFlags != nil && (ev.Mount == nil || ev.Mount.Syscall != "mount" ||
		!slices.ContainsFunc(m.MountFlags, func(s MountFlagSet) bool { return s.Matches(ev.Mount.Flags) })) {
		return false
	}
	if m.BPFCmd != nil && (ev.BPF == nil || !slices.Contains(m.BPFCmd, ev.BPF.Cmd)) {
		return false
	}
	if m.ProgType != nil && (ev.BPF == nil || ev.BPF.ProgType == "" || !slices.Contains(m.ProgType, ev.BPF.ProgType)) {
		return false
	}
	return true
}

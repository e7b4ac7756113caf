package output

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestPrivText(t *testing.T) {
	for _, tt := range []struct {
		ev   event.Event
		want string
	}{
		{event.Event{Cred: &event.Cred{Syscall: "setuid", Old: event.Creds{CapEffective: 1 << 21, CapPermitted: 1 << 21},
			New: event.Creds{Uid: 65534, Euid: 65534}}}, "setuid uid=0->65534 euid=0->65534 -caps=sys_admin = 0"},
		{event.Event{Ptrace: &event.Ptrace{Syscall: "ptrace", Request: "attach", Target: 42, TargetExe: "/bin/sh"}}, "ptrace attach pid=42 exe=/bin/sh = 0"},
		{event.Event{Ptrace: &event.Ptrace{Syscall: "process_vm_writev", Target: 42, Result: -1}}, "process_vm_writev pid=42 = EPERM"},
		{event.Event{Namespace: &event.Namespace{Syscall: "unshare", Flags: 0x40000000, Old: [event.NSKinds]uint32{3: 7}, New: [event.NSKinds]uint32{3: 9}}},
			"unshare net net:7->9 = 0"},
		{event.Event{Namespace: &event.Namespace{Syscall: "clone", ChildPid: 5, Result: 5, Old: [event.NSKinds]uint32{1: 7}, New: [event.NSKinds]uint32{1: 9}}},
			"clone uts child=5 uts:7->9 = 5"},
	} {
		if got := details(&tt.ev); !strings.HasPrefix(got, tt.want) {
			t.Errorf("details = %q, want %q", got, tt.want)
		}
	}
}

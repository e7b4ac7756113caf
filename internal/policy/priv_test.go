package policy

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestPrivMatchers evaluates the cred, ptrace and namespace matchers on
// events as the sensors decode them.
func TestPrivMatchers(t *testing.T) {
	set := mustLoad(t, "testdata/priv/rules.yaml")
	root := event.Creds{CapPermitted: 1<<21 | 1<<19, CapEffective: 1<<21 | 1<<19}
	nobody := event.Creds{Uid: 65534, Euid: 65534}
	for _, tt := range []struct {
		desc string
		ev   event.Event
		want string
	}{
		{"setuid to nobody: no rule", event.Event{Type: event.TypeCred, Cred: &event.Cred{Syscall: "setuid", Old: root, New: nobody}}, ""},
		{"setuid binary to root", event.Event{Type: event.TypeCred, Cred: &event.Cred{Syscall: "execve", Old: nobody, New: root}}, "to-root,gains-admin"},
		{"capset adding sys_ptrace only", event.Event{Type: event.TypeCred, Cred: &event.Cred{Syscall: "capset", Old: event.Creds{Uid: 5, Euid: 5}, New: event.Creds{Uid: 5, Euid: 5, CapEffective: 1 << 19}}}, "gains-admin"},
		{"attach", event.Event{Type: event.TypePtrace, Ptrace: &event.Ptrace{Syscall: "ptrace", Request: "attach"}}, "attach"},
		{"traceme", event.Event{Type: event.TypePtrace, Ptrace: &event.Ptrace{Syscall: "ptrace", Request: "traceme"}}, ""},
		{"process_vm_writev", event.Event{Type: event.TypePtrace, Ptrace: &event.Ptrace{Syscall: "process_vm_writev", RequestRaw: -1}}, "inject"},
		{"unshare user|net", event.Event{Type: event.TypeNamespace, Namespace: &event.Namespace{Syscall: "unshare", Flags: 0x10000000 | 0x40000000}}, "new-userns"},
		{"unshare net", event.Event{Type: event.TypeNamespace, Namespace: &event.Namespace{Syscall: "unshare", Flags: 0x40000000}}, ""},
		{"clone into a new user ns", event.Event{Type: event.TypeNamespace, Namespace: &event.Namespace{Syscall: "clone", Old: [event.NSKinds]uint32{5: 1}, New: [event.NSKinds]uint32{5: 2}}}, "new-userns"},
	} {
		if got := names(set.Match(&tt.ev, nil)); got != tt.want {
			t.Errorf("%s: matched %q, want %q", tt.desc, got, tt.want)
		}
	}
}

// TestPrivKernel: kill rules on the privilege events compile with the
// process matchers; a type-specific matcher or a deny is refused with
// the reason at its position.
func TestPrivKernel(t *testing.T) {
	set := mustLoad(t, "testdata/priv/kernel.yaml")
	plan, err := set.Plan(Available{Kill: true, LSM: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = set.Kernel(plan, nil)
	for _, want := range []string{
		"kernel.yaml:21:16: rules[3].match.request: kill is carried out in the kernel, which cannot evaluate request for ptrace events",
		"kernel.yaml:27:13: rules[4].action: vigil has no in-kernel deny for namespace events",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 2 {
		t.Errorf("%d errors, want 2: %v", n, err)
	}
	set.Rules = append(set.Rules[:3], set.Rules[5])
	k, err := set.Kernel(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	for typ, bit := range map[event.Type]uint64{event.TypeCred: 1, event.TypePtrace: 2, event.TypeNamespace: 4} {
		if s := k.Sets[typ]; s == nil || s.Kill != bit || s.Rules&bit == 0 {
			t.Errorf("%s: set %+v, want kill rule bit %#x", typ, s, bit)
		}
	}
	if s := k.Sets[event.TypeCred]; s.Deny != 8 || s.Rules != 9 || plan[set.Rules[3]] != MechLSM {
		t.Errorf("cred set %+v (plan %s), want deny rule bit 8 through BPF LSM", s, plan[set.Rules[3]])
	}
	if k.Comms["nc"] != 9 || k.Uids[1000] != 1 || k.ParentComms["bash"] != 2 || k.Comms["evil"] != 4 {
		t.Errorf("matcher maps comms %v uids %v parent comms %v", k.Comms, k.Uids, k.ParentComms)
	}
}

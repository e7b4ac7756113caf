package event

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPrivRoundTrip: cred, ptrace and namespace events decode to what
// was written, and their derived members say what changed.
func TestPrivRoundTrip(t *testing.T) {
	ts := time.Date(2026, 12, 6, 5, 0, 0, 1, time.UTC)
	proc := Process{Pid: 10, Tid: 10, Ppid: 1, Comm: "x"}
	root := Creds{CapPermitted: 1<<21 | 1, CapEffective: 1<<21 | 1, CapBounding: 1<<41 - 1}
	nobody := Creds{Uid: 65534, Suid: 65534, Euid: 65534, Fsuid: 65534, CapBounding: 1<<41 - 1}
	cases := []struct {
		ev   Event
		want []string // substrings of the JSON
	}{
		{Event{Type: TypeCred, Time: ts, Process: proc, Cred: &Cred{Syscall: "setuid", Args: [3]uint64{65534}, Old: root, New: nobody}},
			[]string{`"changed":["uid","suid","euid","fsuid","cap_permitted","cap_effective"]`, `"caps_gained":[]`, `"caps_lost":["chown","sys_admin"]`, `"result":0`}},
		{Event{Type: TypeCred, Time: ts, Process: proc, Cred: &Cred{Syscall: "setgroups", Old: root, New: root, Groups: true, Result: -1},
			Verdict: &Verdict{Rule: "r", Action: "kill", Enforced: true, Mechanism: "bpf_send_signal"}},
			[]string{`"changed":[]`, `"groups_replaced":true`, `"error":"EPERM"`, `"rule":"r"`}},
		{Event{Type: TypePtrace, Time: ts, Process: proc, Ptrace: &Ptrace{Syscall: "ptrace", Request: "attach", RequestRaw: 16, Target: 42, TargetExe: "/bin/sh"}},
			[]string{`"request":"attach","request_raw":16,"target_pid":42,"target_exe":"/bin/sh"`}},
		{Event{Type: TypePtrace, Time: ts, Process: proc, Ptrace: &Ptrace{Syscall: "process_vm_writev", RequestRaw: -1, Target: 42, Addr: 1, Result: 8}},
			[]string{`"syscall":"process_vm_writev","request_raw":-1`, `"result":8`}},
		{Event{Type: TypeNamespace, Time: ts, Process: proc, Namespace: &Namespace{Syscall: "unshare", Flags: 0x40000000, Fd: -1,
			Old: [NSKinds]uint32{1, 2, 3, 4, 5, 6, 7, 8}, New: [NSKinds]uint32{1, 2, 3, 40, 5, 6, 7, 8}}},
			[]string{`"namespaces":["net"],"changed":["net"]`, `"net":40`}},
		{Event{Type: TypeNamespace, Time: ts, Process: proc, Namespace: &Namespace{Syscall: "setns", Fd: 3,
			Old: [NSKinds]uint32{1, 2, 3, 4, 5, 6, 7, 8}, New: [NSKinds]uint32{10, 2, 3, 4, 5, 6, 7, 8}}},
			[]string{`"namespaces":["mnt"]`, `"fd":3`}},
		{Event{Type: TypeNamespace, Time: ts, Process: proc, Namespace: &Namespace{Syscall: "clone", Fd: -1, ChildPid: 11, Result: 11,
			Old: [NSKinds]uint32{1, 2, 3, 4, 5, 6, 7, 8}, New: [NSKinds]uint32{1, 20, 3, 4, 5, 60, 7, 8}}},
			[]string{`"namespaces":["uts","user"]`, `"child_pid":11`}},
	}
	for _, tc := range cases {
		b, err := json.Marshal(&tc.ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %s", b, w)
			}
		}
		var got Event
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		if !reflect.DeepEqual(&got, &tc.ev) {
			t.Errorf("round trip mismatch\n got %+v\nwant %+v\njson %s", got, tc.ev, b)
		}
	}
}

func TestCapNames(t *testing.T) {
	if got := CapNames(1<<21 | 1<<40 | 1<<50); !slices.Equal(got, []string{"sys_admin", "checkpoint_restore", "cap_50"}) {
		t.Errorf("CapNames = %v", got)
	}
	if got := PtraceRequestName(0x4206); got != "seize" {
		t.Errorf("PtraceRequestName(PTRACE_SEIZE) = %q", got)
	}
	if got := PtraceRequestName(3); got != "3" {
		t.Errorf("PtraceRequestName(3) = %q", got)
	}
}

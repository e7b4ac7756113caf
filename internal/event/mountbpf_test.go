package event

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestMountBPFRoundTrip: mount and bpf events survive JSON unchanged.
func TestMountBPFRoundTrip(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	p := Process{Pid: 7, Tid: 7, Ppid: 1, Comm: "runc", Exe: "/usr/bin/runc"}
	for _, e := range []Event{
		{Type: TypeMount, Time: at, Process: p, Mount: &Mount{Syscall: "mount", Source: "a\xff", ResolvedSource: "/x/a\xff",
			Target: "b", ResolvedTarget: "/x/b", Flags: 0xC0ED0000 | 0x1000 | 0x4000, SourceDirfd: -100, TargetDirfd: -100}},
		{Type: TypeMount, Time: at, Process: p, Mount: &Mount{Syscall: "fsmount", FSType: "tmpfs", Flags: 1, AttrFlags: 8 | 0x80000000,
			SourceDirfd: 5, TargetDirfd: -100, Result: 6}},
		{Type: TypeMount, Time: at, Process: p, Mount: &Mount{Syscall: "move_mount", Target: "d", ResolvedTarget: "/d", Flags: 4,
			SourceDirfd: 6, TargetDirfd: 3, Unresolved: true, Result: -22},
			Verdict: &Verdict{Rule: "r", Action: "deny", Enforced: true, Mechanism: "lsm"}},
		{Type: TypeBPF, Time: at, Process: p, BPF: &BPF{Cmd: "BPF_LINK_CREATE", ProgType: "CGroupSKB", ProgTypeRaw: 8, ProgName: "p",
			ProgID: 24, AttachType: "BPF_CGROUP_INET_INGRESS", HasAttachType: true, TargetFd: 9, LinkID: 28, Result: 10}},
		{Type: TypeBPF, Time: at, Process: p, BPF: &BPF{Cmd: "BPF_PROG_LOAD", ProgType: "Tracing", ProgTypeRaw: 26, ProgName: "f",
			AttachType: "BPF_TRACE_FENTRY", AttachTypeRaw: 24, HasAttachType: true, AttachName: "do_unlinkat", AttachBTFID: 1234, TargetFd: -1, Result: -1}},
	} {
		var got Event
		if err := got.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
			t.Fatalf("%s: %v", e.AppendJSON(nil), err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("round trip of %s\ngot  %+v %+v %+v\nwant %+v %+v %+v", e.AppendJSON(nil), got, got.Mount, got.BPF, e, e.Mount, e.BPF)
		}
	}
}

// TestGoldenMount: the shape of a mount event, as docs/events.md shows it.
func TestGoldenMount(t *testing.T) {
	e := Event{Type: TypeMount, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Process: Process{Pid: 7, Tid: 7, Ppid: 1, Comm: "t", Exe: "/t"},
		Mount: &Mount{Syscall: "mount", Source: "a", ResolvedSource: "/tmp/t/a", Target: "b", ResolvedTarget: "/tmp/t/b", Flags: 4096, SourceDirfd: -100, TargetDirfd: -100}}
	const want = `{"schema":1,"type":"mount","time":"2026-01-02T03:04:05.000000006Z","process":{"pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"comm":"t","exe":"/t"},"syscall":"mount","source":"a","resolved_source":"/tmp/t/a","target":"b","resolved_target":"/tmp/t/b","flags":["MS_BIND"],"flags_raw":4096,"result":0}`
	if got := string(e.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestMountAndBPFNames(t *testing.T) {
	cases := []struct {
		got, want []string
	}{
		{MountFlagNames("mount", 0xC0ED0000|0x1000|0x4000), []string{"MS_BIND", "MS_REC"}},
		{MountFlagNames("mount", 0x40000|0x4000), []string{"MS_REC", "MS_PRIVATE"}},
		{MountFlagNames("mount", 0x80000000), []string{"0x80000000"}},
		{MountFlagNames("umount2", 2|8), []string{"MNT_DETACH", "UMOUNT_NOFOLLOW"}},
		{MountFlagNames("move_mount", 0x4|0x40), []string{"MOVE_MOUNT_F_EMPTY_PATH", "MOVE_MOUNT_T_EMPTY_PATH"}},
		{MountAttrNames(0x1 | 0x8), []string{"MOUNT_ATTR_RDONLY", "MOUNT_ATTR_NOEXEC"}},
		{[]string{ProgTypeName(1), ProgTypeName(29), AttachTypeName(27), AttachTypeName(999), BPFCmdName(5), BPFCmdName(0)},
			[]string{"SocketFilter", "LSM", "BPF_LSM_MAC", "attach type 999", "BPF_PROG_LOAD", ""}},
	}
	for i, c := range cases {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("case %d: %q, want %q", i, c.got, c.want)
		}
	}
	if n, ok := ParseProgType("Kprobe"); !ok || n != 2 {
		t.Errorf("ParseProgType(Kprobe) = %d, %v", n, ok)
	}
	if _, ok := ParseProgType("kprobe"); ok {
		t.Error("ParseProgType accepted kprobe")
	}
}

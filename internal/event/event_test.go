package event

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestStringRoundTrip(t *testing.T) {
	cases := []struct {
		name, in string
	}{
		{"plain", "/usr/bin/true"},
		{"newline", "/tmp/a\nb"},
		{"invalid utf8", "/tmp/\xff\xfe\x80x"},
		{"quote and backslash", `a"b\c`},
		{"control bytes", "\x00\x01\x1f\x7f"},
		{"valid multibyte", "/tmp/été/日本"},
		{"line separator", "a\u2028b"},
		{"looks like escape", `\udcff`},
		{"truncated utf8 at end", "abc\xe6\x97"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := AppendString(nil, c.in)
			if !json.Valid(raw) {
				t.Fatalf("AppendString(%q) = %s: not valid JSON", c.in, raw)
			}
			for _, b := range raw {
				if b == '\n' {
					t.Fatalf("AppendString(%q) = %s: raw newline", c.in, raw)
				}
			}
			got, err := UnquoteString(raw)
			if err != nil {
				t.Fatalf("UnquoteString(%s): %v", raw, err)
			}
			if got != c.in {
				t.Fatalf("round trip of %q gave %q (via %s)", c.in, got, raw)
			}
		})
	}
}

func TestEventRoundTrip(t *testing.T) {
	ts := time.Date(2026, 11, 30, 8, 0, 0, 123456789, time.UTC)
	proc := Process{Pid: 10, Tid: 11, Ppid: 1, Uid: 1000, Gid: 1000, Comm: "sh\xff", Exe: "/bin/sh", ParentComm: "init", ParentExe: "/sbin/init"}
	cases := []Event{
		{Type: TypeFork, Time: ts, KernelNS: 5, Process: proc, Fork: &Fork{ChildPid: 12, ChildTid: 12, CloneFlags: 0x11, HasFlags: true}},
		{Type: TypeExec, Time: ts, Process: proc, Exec: &Exec{Filename: "./x", Path: "/tmp/x\n", Args: []string{"x", "a\xffb"}, Truncated: true, Euid: 0, BaseAddr: 0x55550000, Memfd: true, Dev: 8, Ino: 99}},
		{Type: TypeExit, Time: ts, Process: proc, Exit: &Exit{Code: 0, Signal: 9, Thread: true}},
		{Type: TypeModule, Time: ts, Process: proc, Module: &Module{Syscall: "finit_module", Path: "/tmp/m.ko", Fd: 3, Result: -38}},
		{Type: TypeMprotect, Time: ts, Process: proc, Mprotect: &Mprotect{Syscall: "mprotect", Addr: 0x7f0000, Len: 4096, Prot: 5, OldProt: 3, HasOld: true, WX: true}, Verdict: &Verdict{Rule: "no-wx", Action: "kill", Enforced: true, Mechanism: "bpf_send_signal"}},
		{Type: TypeMprotect, Time: ts, Process: proc, Mprotect: &Mprotect{Syscall: "mmap", Len: 8192, Prot: 5, MapFlags: 0x802, Fd: 3, HasFile: true, Dev: 8, Ino: 77, Result: 0x7f0000}, Verdict: &Verdict{Rule: "no-exec-tmp", Action: "deny", Enforced: true, Mechanism: "bpf_send_signal"}},
		{Type: TypeMprotect, Time: ts, Process: proc, Mprotect: &Mprotect{Syscall: "mmap", Len: 4096, Prot: 7, MapFlags: 0x22, Fd: -1, WX: true, Result: -1}},
		{Type: TypeOpen, Time: ts, Process: proc, Open: &Open{Syscall: "openat", Path: "rel", ResolvedPath: "/x/rel", Dirfd: -100, Flags: 0x241, Mode: 0o644, Result: 3}},
		{Type: TypeOpen, Time: ts, Process: proc, Open: &Open{Syscall: "openat2", Path: "/etc/x", Dirfd: -100, Result: 5, Via: ViaIOUring, Unresolved: true}},
		{Type: TypeOpen, Time: ts, Process: proc, Open: &Open{Syscall: "openat", Path: "/etc/y", Dirfd: 3, Via: ViaIOUring, FixedFile: true, NoResult: true}},
		{Type: TypeSyscall, Time: ts, Process: proc, Syscall: &Syscall{Name: "getpid", Nr: 39, Args: [6]uint64{1, 2}, Result: -1}},
		{Type: TypeExec, Time: ts, Process: withAncestors(proc), Exec: &Exec{Path: "/bin/cat", Args: []string{"cat"}}, Verdict: &Verdict{Rule: "r", Action: "log"}},
		{Type: TypeLost, Time: ts, Lost: &Lost{Counts: map[Type]uint64{TypeExec: 3}}},
		{Type: TypeOpen, Time: ts, Process: proc, Open: &Open{Syscall: "openat", ResolvedPath: "/etc/shadow", Result: 3}, Verdict: &Verdict{Rule: "detect-shadow-read", Action: "log", Enforced: true, Severity: "high", Mitre: "T1003.008"}},
	}
	for i, want := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, want.Type), func(t *testing.T) {
			b, err := json.Marshal(&want)
			if err != nil {
				t.Fatal(err)
			}
			var got Event
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("decoding %s: %v", b, err)
			}
			if !reflect.DeepEqual(&got, &want) {
				t.Fatalf("round trip mismatch\n got %+v\nwant %+v\njson %s", got, want, b)
			}
		})
	}
}

func TestGoldenExit(t *testing.T) {
	e := Event{Type: TypeExit, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Process: Process{Pid: 7, Tid: 7, Ppid: 1, Comm: "t", Exe: "/t"}, Exit: &Exit{Code: 3}}
	const want = `{"schema":1,"type":"exit","time":"2026-01-02T03:04:05.000000006Z","process":{"pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"comm":"t","exe":"/t"},"exit_code":3,"signal":0,"thread":false,"core_dumped":false}`
	if got := string(e.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestGoldenMmap: the shape of an mmap that asks for PROT_EXEC, as
// docs/events.md shows it.
func TestGoldenMmap(t *testing.T) {
	e := Event{Type: TypeMprotect, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Process:  Process{Pid: 7, Tid: 7, Ppid: 1, Comm: "ld-linux-x86-64", Exe: "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},
		Mprotect: &Mprotect{Syscall: "mmap", Len: 16384, Prot: 5, MapFlags: 0x812, Fd: 3, HasFile: true, Dev: 2049, Ino: 1234, Result: 140737353981952},
		Verdict:  &Verdict{Rule: "no-exec-from-tmp", Action: "deny", Enforced: true, Mechanism: "bpf_send_signal"}}
	const want = `{"schema":1,"type":"mprotect","time":"2026-01-02T03:04:05.000000006Z","process":{"pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"comm":"ld-linux-x86-64","exe":"/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"},"syscall":"mmap","addr":0,"len":16384,"prot":["READ","EXEC"],"prot_raw":5,"wx":false,"map_flags":["PRIVATE","FIXED","DENYWRITE"],"map_flags_raw":2066,"fd":3,"dev":2049,"ino":1234,"result":140737353981952,"rule":"no-exec-from-tmp","action":"deny","enforced":true,"mechanism":"bpf_send_signal"}`
	if got := string(e.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func withAncestors(p Process) Process {
	p.Ancestors = []Ancestor{
		{Pid: 1, Comm: "sh", Exe: "/bin/sh", Start: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Args: []string{"sh", "-c", "x\xff"}},
		{Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd", Args: []string{}},
		{Pid: 2, Comm: "kthreadd"},
	}
	return p
}

// TestGoldenAncestors: the shape of process.ancestors, as docs/events.md
// shows it: start_time and args only when known.
func TestGoldenAncestors(t *testing.T) {
	e := Event{Type: TypeExit, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Process: Process{Pid: 9, Tid: 9, Ppid: 8, Comm: "cat", Exe: "/usr/bin/cat", ParentComm: "sh", ParentExe: "/usr/bin/dash",
			Ancestors: []Ancestor{
				{Pid: 8, Comm: "sh", Exe: "/usr/bin/dash", Start: time.Date(2026, 1, 2, 3, 4, 4, 0, time.UTC), Args: []string{"sh", "-c", "cat /etc/shadow"}},
				{Pid: 1, Comm: "systemd", Exe: "/usr/lib/systemd/systemd", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			}},
		Exit: &Exit{Code: 0}}
	const want = `{"schema":1,"type":"exit","time":"2026-01-02T03:04:05.000000006Z","process":{"pid":9,"tid":9,"ppid":8,"uid":0,"gid":0,"comm":"cat","exe":"/usr/bin/cat","parent_comm":"sh","parent_exe":"/usr/bin/dash","ancestors":[{"pid":8,"comm":"sh","exe":"/usr/bin/dash","start_time":"2026-01-02T03:04:04Z","args":["sh","-c","cat /etc/shadow"]},{"pid":1,"comm":"systemd","exe":"/usr/lib/systemd/systemd","start_time":"2026-01-01T00:00:00Z"}]},"exit_code":0,"signal":0,"thread":false,"core_dumped":false}`
	if got := string(e.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestIsWX(t *testing.T) {
	const r, w, x = 1, 2, 4
	cases := []struct {
		name      string
		prot, old uint32
		hasOld    bool
		want      bool
	}{
		{"rwx", r | w | x, 0, false, true},
		{"rw to rx", r | x, r | w, true, true},
		{"rx to rw", r | w, r | x, true, true},
		{"r to rx", r | x, r, true, false},
		{"rx unknown old", r | x, 0, false, false},
		{"rw to r", r, r | w, true, false},
	}
	for _, c := range cases {
		if got := IsWX(c.prot, c.old, c.hasOld); got != c.want {
			t.Errorf("%s: IsWX = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNames(t *testing.T) {
	if got := OpenFlagNames(0x241); !reflect.DeepEqual(got, []string{"O_WRONLY", "O_CREAT", "O_TRUNC"}) {
		t.Errorf("OpenFlagNames(0x241) = %v", got)
	}
	if got := ErrnoName(-38); got != "ENOSYS" {
		t.Errorf("ErrnoName(-38) = %q", got)
	}
	if got := MapFlagNames(0x22 | 0x80000000); !reflect.DeepEqual(got, []string{"PRIVATE", "ANONYMOUS", "0x80000000"}) {
		t.Errorf("MapFlagNames(MAP_PRIVATE|MAP_ANONYMOUS|0x80000000) = %v", got)
	}
	if got := ProtNames(7); !reflect.DeepEqual(got, []string{"READ", "WRITE", "EXEC"}) {
		t.Errorf("ProtNames(7) = %v", got)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e := Event{Type: TypeExec, Time: time.Now(), Process: Process{Pid: 1, Comm: "bash", Exe: "/bin/bash"},
		Exec: &Exec{Filename: "/bin/ls", Path: "/usr/bin/ls", Args: []string{"ls", "-la", "/tmp"}}}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}

// BenchmarkAppendJSONAncestors: an exec with a full chain of ancestors
// (MaxAncestors, each with args and a start time) must not allocate
// beyond the reused buffer either.
func BenchmarkAppendJSONAncestors(b *testing.B) {
	anc := make([]Ancestor, MaxAncestors)
	for i := range anc {
		anc[i] = Ancestor{Pid: uint32(100 - i), Comm: "bash", Exe: "/usr/bin/bash", Start: time.Now(), Args: []string{"bash", "-c", "make -j8 all"}}
	}
	e := Event{Type: TypeExec, Time: time.Now(), Process: Process{Pid: 1, Comm: "bash", Exe: "/bin/bash", Ancestors: anc},
		Exec: &Exec{Filename: "/bin/ls", Path: "/usr/bin/ls", Args: []string{"ls", "-la", "/tmp"}}}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}

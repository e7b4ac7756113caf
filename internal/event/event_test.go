package event

import (
	"encoding/json"
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
		{Type: TypeOpen, Time: ts, Process: proc, Open: &Open{Syscall: "openat", Path: "rel", ResolvedPath: "/x/rel", Dirfd: -100, Flags: 0x241, Mode: 0o644, Result: 3}},
		{Type: TypeOpen, Time: ts, Process: proc, Open: &Open{Syscall: "openat2", Path: "/etc/x", Dirfd: -100, Result: 5, Via: ViaIOUring, Unresolved: true}},
		{Type: TypeOpen, Time: ts, Process: proc, Open: &Open{Syscall: "openat", Path: "/etc/y", Dirfd: 3, Via: ViaIOUring, FixedFile: true, NoResult: true}},
		{Type: TypeSyscall, Time: ts, Process: proc, Syscall: &Syscall{Name: "getpid", Nr: 39, Args: [6]uint64{1, 2}, Result: -1}},
		{Type: TypeLost, Time: ts, Lost: &Lost{Counts: map[Type]uint64{TypeExec: 3}}},
	}
	for _, want := range cases {
		t.Run(string(want.Type), func(t *testing.T) {
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

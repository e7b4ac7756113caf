package event

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestFileRoundTrip: every file-tampering type decodes back to itself.
func TestFileRoundTrip(t *testing.T) {
	ts := time.Date(2026, 12, 6, 5, 0, 0, 1, time.UTC)
	proc := Process{Pid: 10, Tid: 10, Ppid: 1, Comm: "mv"}
	at := func(f File) *File { f.Dirfd, f.NewDirfd = -100, -100; return &f }
	cases := []Event{
		{Type: TypeUnlink, Time: ts, Process: proc, File: at(File{Syscall: "unlinkat", Path: "/tmp/d", Name: "d", Flags: 0x200, Lexical: true})},
		{Type: TypeUnlink, Time: ts, Process: proc, File: at(File{Syscall: "unlinkat", Path: "x\xff", Name: "x\xff", Unresolved: true, Result: -9})},
		{Type: TypeRename, Time: ts, Process: proc, File: at(File{Path: "/tmp/a", NewPath: "/etc/passwd", Name: "a", NewName: "/etc/passwd", Flags: 1, Via: ViaIOUring})},
		{Type: TypeLink, Time: ts, Process: proc, File: at(File{Syscall: "linkat", Path: "/etc/shadow", NewPath: "/tmp/s", Name: "/etc/shadow", NewName: "/tmp/s", Flags: 0x400})},
		{Type: TypeSymlink, Time: ts, Process: proc, File: at(File{Syscall: "symlinkat", Target: "../../etc/passwd", Path: "/tmp/l", NewName: "l"}),
			Verdict: &Verdict{Rule: "no-links", Action: "deny", Enforced: true, Mechanism: "lsm"}},
		{Type: TypeChmod, Time: ts, Process: proc, File: &File{Syscall: "fchmod", Path: "/tmp/b", FD: true, Dirfd: 3, NewDirfd: -100, Mode: 0o4755}},
		{Type: TypeChown, Time: ts, Process: proc, File: at(File{Syscall: "fchownat", Path: "/tmp/b", Name: "b", Uid: 0, Gid: -1, Result: -1})},
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
				t.Fatalf("round trip mismatch\n got %+v %+v\nwant %+v %+v\njson %s", got, *got.File, want, *want.File, b)
			}
		})
	}
}

// TestGoldenChmod: the shape of a chmod u+s, as docs/events.md shows it.
func TestGoldenChmod(t *testing.T) {
	e := Event{Type: TypeChmod, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Process: Process{Pid: 7, Tid: 7, Ppid: 1, Comm: "chmod", Exe: "/usr/bin/chmod"},
		File:    &File{Syscall: "fchmodat", Path: "/tmp/sh", Name: "sh", Dirfd: -100, NewDirfd: -100, Mode: 0o104755, Lexical: true}}
	const want = `{"schema":1,"type":"chmod","time":"2026-01-02T03:04:05.000000006Z","process":{"pid":7,"tid":7,"ppid":1,"uid":0,"gid":0,"comm":"chmod","exe":"/usr/bin/chmod"},"syscall":"fchmodat","path":"/tmp/sh","name":"sh","mode":"4755","mode_bits":["setuid"],"lexical":true,"result":0}`
	if got := string(e.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

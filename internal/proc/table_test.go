package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestParseStatus(t *testing.T) {
	cases := []struct {
		name, in string
		want     Entry
		wantErr  bool
	}{
		{"normal", "Name:\tbash\nUmask:\t0022\nState:\tS\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\n", Entry{Comm: "bash", Ppid: 1, Uid: 1000}, false},
		{"escaped name", "Name:\ta\\nb\\\\c\nPPid:\t0\nUid:\t0\t0\t0\t0\n", Entry{Comm: "a\nb\\c"}, false},
		{"missing uid", "Name:\tx\nPPid:\t1\n", Entry{}, true},
		{"bad ppid", "Name:\tx\nPPid:\tz\nUid:\t0\n", Entry{}, true},
	}
	for _, c := range cases {
		got, err := parseEntry([]byte(c.in))
		if (err != nil) != c.wantErr {
			t.Errorf("%s: err = %v, wantErr %v", c.name, err, c.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// parseEntry parses status text as ReadEntry does.
func parseEntry(b []byte) (Entry, error) {
	st, err := ParseStatus(b)
	if err != nil {
		return Entry{}, err
	}
	return entryOf(st)
}

// fakeProc writes a procfs-like tree with the given processes.
func fakeProc(t *testing.T, procs ...Entry) FS {
	root := t.TempDir()
	for _, p := range procs {
		dir := filepath.Join(root, itoa(p.Pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		status := "Name:\t" + p.Comm + "\nPPid:\t" + itoa(p.Ppid) + "\nUid:\t" + itoa(p.Uid) + "\t0\t0\t0\n"
		if err := os.WriteFile(filepath.Join(dir, "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
		if p.Exe != "" {
			if err := os.Symlink(p.Exe, filepath.Join(dir, "exe")); err != nil {
				t.Fatal(err)
			}
		}
	}
	return FS(root)
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func TestTableLifecycle(t *testing.T) {
	root := fakeProc(t,
		Entry{Pid: 1, Ppid: 0, Comm: "init", Exe: "/sbin/init"},
		Entry{Pid: 100, Ppid: 1, Comm: "sshd", Exe: "/usr/sbin/sshd"},
		Entry{Pid: 200, Ppid: 100, Comm: "bash", Exe: "/bin/bash", Uid: 1000},
	)
	tb := NewTable(root, 0)
	if err := tb.Seed(); err != nil {
		t.Fatal(err)
	}
	if tb.Len() != 3 {
		t.Fatalf("Len after seed = %d, want 3", tb.Len())
	}
	born := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tb.Fork(200, 300, born)
	if e, _ := tb.Get(300); e.Exe != "/bin/bash" || e.Ppid != 200 || e.Uid != 1000 || !e.Start.Equal(born) {
		t.Fatalf("forked child = %+v, want bash's exe, ppid 200, uid 1000, start %v", e, born)
	}
	tb.Exec(300, 200, 1000, "ls", "/usr/bin/ls", []string{"ls", "-l"})
	tb.Fork(300, 400, born.Add(time.Second))
	chain := tb.AppendAncestors(nil, 400, 8)
	if len(chain) != 4 || chain[0].Pid != 300 || !reflect.DeepEqual(chain[0].Args, []string{"ls", "-l"}) || !chain[0].Start.Equal(born) || chain[3].Pid != 1 {
		t.Fatalf("AppendAncestors(400) = %+v, want ls -l (300), bash, sshd, init", chain)
	}
	if got := tb.AppendAncestors(nil, 400, 2); len(got) != 2 {
		t.Fatalf("AppendAncestors(400, max 2) gave %d", len(got))
	}
	if got := tb.AppendAncestors(nil, 999, 8); len(got) != 0 {
		t.Fatalf("AppendAncestors of an unknown pid = %+v, want none (and no /proc read)", got)
	}
	anc := tb.Ancestors(300, 8)
	var names []string
	for _, a := range anc {
		names = append(names, a.Comm)
	}
	if want := []string{"bash", "sshd", "init"}; len(names) != 3 || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Fatalf("Ancestors(300) = %v, want %v", names, want)
	}
	tb.Exit(300)
	if _, ok := tb.Get(300); ok {
		t.Fatal("300 still known after exit (and absent from procfs)")
	}
}

func TestTableBounded(t *testing.T) {
	root := fakeProc(t, Entry{Pid: 1, Comm: "init"})
	tb := NewTable(root, 64)
	for pid := uint32(1000); pid < 1000+10*64; pid++ {
		tb.Fork(1, pid, time.Time{})
	}
	if n := tb.Len(); n > 64 {
		t.Fatalf("Len = %d, above capacity 64", n)
	}
}

func TestSeedRealProc(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	tb := NewTable("/proc", 0)
	if err := tb.Seed(); err != nil {
		t.Fatal(err)
	}
	e, ok := tb.Get(uint32(cmd.Process.Pid))
	if !ok {
		t.Fatalf("child %d not in table", cmd.Process.Pid)
	}
	wantExe, _ := exec.LookPath("sleep")
	wantExe, _ = filepath.EvalSymlinks(wantExe)
	if e.Comm != "sleep" || e.Exe != wantExe || e.Ppid != uint32(os.Getpid()) {
		t.Fatalf("entry = %+v, want comm sleep, exe %s, ppid %d", e, wantExe, os.Getpid())
	}
	if !reflect.DeepEqual(e.Args, []string{"sleep", "5"}) {
		t.Errorf("args = %q, want sleep 5", e.Args)
	}
	if d := time.Since(e.Start); d < 0 || d > time.Minute {
		t.Errorf("start %v is not just now", e.Start)
	}
}

func TestBoundArgs(t *testing.T) {
	long := make([]string, 40)
	for i := range long {
		long[i] = "0123456789"
	}
	cases := []struct {
		name string
		in   []string
		want int
	}{
		{"nil", nil, -1},
		{"empty", []string{}, 0},
		{"short", []string{"a", "b"}, 2},
		{"many", long, MaxArgs},
		{"one huge", []string{"x", string(make([]byte, MaxArgBytes))}, 1},
	}
	for _, c := range cases {
		got := boundArgs(c.in)
		if c.want < 0 {
			if got != nil {
				t.Errorf("%s: got %q, want nil", c.name, got)
			}
			continue
		}
		if len(got) != c.want || !reflect.DeepEqual(got, c.in[:c.want]) {
			t.Errorf("%s: got %d args, want the first %d", c.name, len(got), c.want)
		}
	}
}

func BenchmarkAppendAncestors(b *testing.B) {
	tb := NewTable(FS(b.TempDir()), 0)
	for pid := uint32(2); pid < 10; pid++ {
		tb.Exec(pid, pid-1, 0, "bash", "/usr/bin/bash", []string{"bash", "-c", "x"})
	}
	buf := make([]event.Ancestor, 0, event.MaxAncestors)
	b.ReportAllocs()
	for b.Loop() {
		buf = tb.AppendAncestors(buf[:0], 9, event.MaxAncestors)
	}
}

// TestTableContainer: SetContainer records a process's container, a
// fork passes it on, and an unknown pid is left alone.
func TestTableContainer(t *testing.T) {
	tb := NewTable(fakeProc(t, Entry{Pid: 1, Comm: "init", Exe: "/sbin/init"}), 0)
	if err := tb.Seed(); err != nil {
		t.Fatal(err)
	}
	c := &event.Container{ID: "web", Runtime: event.RuntimeNspawn}
	tb.SetContainer(1, c)
	tb.Fork(1, 2, time.Time{})
	tb.SetContainer(99, c)
	for pid, want := range map[uint32]*event.Container{1: c, 2: c} {
		if e, _ := tb.Get(pid); e.Container != want {
			t.Errorf("pid %d container = %+v, want %+v", pid, e.Container, want)
		}
	}
	tb.SetContainer(2, nil)
	if e, _ := tb.Get(2); e.Container != nil {
		t.Errorf("pid 2 container after it left = %+v", e.Container)
	}
	if tb.Len() != 2 {
		t.Errorf("SetContainer of an unknown pid added an entry: %d entries", tb.Len())
	}
}

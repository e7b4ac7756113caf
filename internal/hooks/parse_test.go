package hooks

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseFdinfo(t *testing.T) {
	for _, tc := range []struct {
		desc, file, key, want string
	}{
		{"program fd has prog_id", "fdinfo_prog.txt", "prog_id", "23"},
		{"program fd has its tag", "fdinfo_prog.txt", "prog_tag", "b0a5b1c0b1d2e3f4"},
		{"link fd has link_id", "fdinfo_link.txt", "link_id", "5"},
		{"link fd has its program", "fdinfo_link.txt", "prog_id", "23"},
		{"program fd has no link_id", "fdinfo_prog.txt", "link_id", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := parseFdinfo(fixture(t, tc.file))[tc.key]; got != tc.want {
				t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestParseStartTime(t *testing.T) {
	got, err := parseStartTime(fixture(t, "stat_odd_comm.txt"))
	if err != nil || got != 987654 {
		t.Errorf("got %d, %v; want 987654 (command with spaces and parentheses)", got, err)
	}
	if _, err := parseStartTime("1 (short) S 1 2"); err == nil {
		t.Error("truncated stat accepted")
	}
}

func TestDecodeTaint(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		in      string
		letters []string
	}{
		{"clean", "0\n", nil},
		{"proprietary and out of tree", "4097\n", []string{"P", "O"}},
		{"warning and live patch", "33280", []string{"W", "K"}},
		{"unknown high bit", "1073741824", []string{"?"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tt, err := decodeTaint(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var letters []string
			for _, f := range tt.Flags {
				letters = append(letters, f.Letter)
			}
			if !reflect.DeepEqual(letters, tc.letters) {
				t.Errorf("letters %q, want %q", letters, tc.letters)
			}
		})
	}
	if _, err := decodeTaint("x"); err == nil {
		t.Error("bad taint accepted")
	}
}

func TestParseModules(t *testing.T) {
	mods, err := parseModules(fixture(t, "modules.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Module{
		{Name: "nf_tables", Size: 356352, Refs: 0, State: "Live"},
		{Name: "vboxdrv", Size: 696320, Refs: 2, State: "Live", Taint: "OE"},
		{Name: "loading_mod", Size: 16384, Refs: 0, State: "Loading", Taint: "E"},
	}
	if !reflect.DeepEqual(mods, want) {
		t.Errorf("got %+v\nwant %+v", mods, want)
	}
}

func TestParseEnabledFunctions(t *testing.T) {
	hooks, err := parseEnabledFunctions(fixture(t, "enabled_functions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hooks {
		got = append(got, h.Function)
	}
	if !reflect.DeepEqual(got, []string{"kernel_clone", "schedule", "do_exit"}) || hooks[1].Count != 2 {
		t.Fatalf("got %+v", hooks)
	}
	if d := hooks[2].Detail; d != "R M tramp: ftrace_regs_caller+0x0/0x65 (call_direct_funcs+0x0/0x20) direct-->0xffffffffc0202000" {
		t.Errorf("continuation line not joined: %q", d)
	}
}

func TestDiff(t *testing.T) {
	prog := BPFProgram{ID: 7, Type: "TracePoint", Name: "p", Tag: "aa", Attach: []string{"tracepoint sched_process_fork"}}
	reloaded := prog
	reloaded.ID = 99 // same hook loaded again: new id, same identity
	base := &Snapshot{BPF: []BPFProgram{prog}, Seccomp: []SeccompProcess{{PID: 10, StartTime: 5, Filters: 1}},
		Ftrace: []FtraceHook{{Function: "schedule", Count: 1}}, LSMs: []string{"capability"}}
	cur := &Snapshot{BPF: []BPFProgram{reloaded, {ID: 100, Type: "Kprobe", Name: "q", Tag: "bb"}},
		Seccomp: []SeccompProcess{{PID: 10, StartTime: 6, Filters: 1}},
		Ftrace:  []FtraceHook{{Function: "schedule", Count: 2}}, LSMs: []string{"capability"}}
	ch := Diff(base, cur)
	keys := func(hs []Hook) []string {
		var out []string
		for _, h := range hs {
			out = append(out, h.Kind+" "+h.Key)
		}
		return out
	}
	if got, want := keys(ch.Appeared), []string{"bpf Kprobe/q/bb@", "seccomp 10/6/1", "ftrace schedule"}; !reflect.DeepEqual(got, want) {
		t.Errorf("appeared %q, want %q", got, want)
	}
	if got, want := keys(ch.Vanished), []string{"seccomp 10/5/1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("vanished %q, want %q (pid reuse is a different process)", got, want)
	}
	if ch := Diff(base, base); len(ch.Appeared)+len(ch.Vanished) != 0 {
		t.Errorf("snapshot differs from itself: %+v", ch)
	}
}

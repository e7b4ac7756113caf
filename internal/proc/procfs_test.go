package proc

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestPids(t *testing.T) {
	fs := fakeProc(t, Entry{Pid: 1}, Entry{Pid: 42})
	for _, name := range []string{"self", "sys", "modules"} {
		if err := os.Mkdir(filepath.Join(string(fs), name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pids, err := fs.Pids()
	slices.Sort(pids)
	if err != nil || !slices.Equal(pids, []uint32{1, 42}) {
		t.Errorf("Pids = %v, %v; want [1 42]", pids, err)
	}
	if _, err := FS(filepath.Join(string(fs), "none")).Pids(); err == nil {
		t.Error("Pids of a missing procfs succeeded")
	}
}

func TestHasModules(t *testing.T) {
	fs := fakeProc(t)
	if fs.HasModules() {
		t.Error("HasModules without /proc/modules")
	}
	if err := os.WriteFile(filepath.Join(string(fs), "modules"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if !fs.HasModules() {
		t.Error("no HasModules with /proc/modules")
	}
}

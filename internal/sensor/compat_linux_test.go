package sensor

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestCompatBuild loads the compat build of the exec, open and mprotect
// sensors (bpf/include/common.h, VIGIL_COMPAT), which 5.10 runs, on this
// kernel too, so that every test run covers it, not only the matrix's
// 5.10 guest. Where mm_rb is gone (the maple tree, 6.1+) its walk for the
// old protection finds nothing, so W^X is checked on an RWX request,
// which needs no old protection.
func TestCompatBuild(t *testing.T) {
	dir := t.TempDir()
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec, event.TypeOpen, event.TypeMprotect},
		ForceMechanism: ForceCompat, Open: OpenFilter{Prefixes: []string{dir + "/"}}})
	for _, ch := range m.Choices() {
		if !strings.Contains(ch.Mechanism, "(compat: ") {
			t.Errorf("%s events use %s, want a compat twin", ch.Type, ch.Mechanism)
		}
	}

	path := filepath.Join(dir, fmt.Sprintf("compat-%d", time.Now().UnixNano()))
	cmd := exec.Command("sh", "-c", `echo hi > "$1"`, "sh", path)
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := uint32(cmd.Process.Pid)
	c.waitFor(t, 1, 5*time.Second, "the shell's exec", func(e *event.Event) bool {
		return e.Type == event.TypeExec && e.Process.Pid == pid && e.Exec.Path != "" && !e.Exec.Truncated
	})
	o := c.waitFor(t, 1, 5*time.Second, "the open of the unique path", func(e *event.Event) bool {
		return e.Type == event.TypeOpen && e.Open.Path == path
	})[0].Open
	if o.Result < 0 || o.ResolvedPath != path || o.Flags&unix.O_CREAT == 0 {
		t.Errorf("open = %+v, want a descriptor, O_CREAT and resolved path %s", *o, path)
	}

	wx := helper("wx")
	if err := wx.Run(); err != nil {
		t.Fatalf("wx helper: %v", err)
	}
	wpid := uint32(wx.Process.Pid)
	c.waitFor(t, 1, 5*time.Second, "the RWX mprotect", func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == wpid && e.Mprotect.WX &&
			e.Mprotect.Prot == unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC && e.Mprotect.Result == 0
	})
}

package sensor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// fileGuestBest is the mechanism of each file type in the matrix's 6.x
// guests (fentry, fexit, task storage); the host refuses fentry.
func fileGuestBest(t event.Type) string {
	return map[event.Type]string{
		event.TypeUnlink:  "fentry+fexit/{do_unlinkat,do_rmdir} + fentry/{security_path_unlink,security_path_rmdir}",
		event.TypeRename:  "fentry+fexit/do_renameat2 + fentry/security_path_rename",
		event.TypeLink:    "fentry+fexit/do_linkat + fentry/security_path_link",
		event.TypeSymlink: "fentry+fexit/do_symlinkat + fentry/security_path_symlink",
		event.TypeChmod:   "fentry+fexit/{do_fchmodat,vfs_fchmod} + fexit/chmod_common + fentry/security_path_chmod",
		event.TypeChown:   "fentry+fexit/{do_fchownat,vfs_fchown} + fexit/chown_common + fentry/security_path_chown",
	}[t]
}

// fentryRung reports whether the manager chose the fentry rung for t.
func fentryRung(m *Manager, t event.Type) bool {
	for _, ch := range m.Choices() {
		if ch.Type == t {
			return strings.HasPrefix(ch.Mechanism, "fentry")
		}
	}
	return false
}

// TestFileTampering: a rename with both names, a hard link and a symlink
// to the renamed file, chmod u+s and g+s (by name and by descriptor),
// chown to nobody, an unlink, an unlink of a missing file and an rmdir,
// all with names relative to the working directory, each reported with
// its absolute paths and result.
func TestFileTampering(t *testing.T) {
	testFileTampering(t, "")
}

// TestFileTamperingTracepoints forces the syscall tracepoint rung (what
// hosts without fentry use) where a better one loads.
func TestFileTamperingTracepoints(t *testing.T) {
	testFileTampering(t, "tracepoint")
}

// TestFileTamperingCompat loads the compat build (what 5.10 runs) here too.
func TestFileTamperingCompat(t *testing.T) {
	testFileTampering(t, ForceCompat)
}

func testFileTampering(t *testing.T, force string) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, c := startMonitor(t, Config{Types: event.FileTypes, ForceMechanism: force})
	// The fentry rung needs what 5.10 lacks (task storage, bpf_loop).
	fentryOK := true
	for _, p := range []string{"fentry", "fexit", "task-storage", "bpf-loop", "atomics"} {
		if _, err := doctor.Check(p); err != nil {
			fentryOK = false
		}
	}
	for _, ty := range event.FileTypes {
		if want := fileGuestBest(ty); force == "" && vmtest.InGuest() && fentryOK && !fentryRung(m, ty) {
			t.Errorf("%s events do not use %s in the guest", ty, want)
		}
	}
	cmd := helper("fileops", "all")
	cmd.Dir = dir
	if err := cmd.Run(); err != nil {
		t.Fatalf("fileops helper: %v", err)
	}
	pid := uint32(cmd.Process.Pid)
	in := func(n string) string { return filepath.Join(dir, n) }
	type want struct {
		t         event.Type
		path, new string
		check     func(*event.File) string
		mode      uint32 // chmod: which of the two
	}
	ok := func(f *event.File) string {
		if f.Result != 0 {
			return fmt.Sprintf("result %d, want 0", f.Result)
		}
		return ""
	}
	wants := []want{
		{event.TypeRename, in("a"), in("b"), ok, 0},
		{event.TypeLink, in("b"), in("hard"), ok, 0},
		{event.TypeSymlink, in("sym"), "", func(f *event.File) string {
			if f.Target != "b" {
				return fmt.Sprintf("target %q, want \"b\" as given", f.Target)
			}
			return ok(f)
		}, 0},
		{event.TypeChmod, in("b"), "", func(f *event.File) string {
			if strings.Join(event.ModeBitNames(f.Mode), ",") != "setuid" || f.FD {
				return fmt.Sprintf("mode %o %v fd=%v, want 4755 [setuid] by name", f.Mode, event.ModeBitNames(f.Mode), f.FD)
			}
			return ok(f)
		}, 0o4755},
		{event.TypeChmod, in("b"), "", func(f *event.File) string {
			// By descriptor: FD, or on the fentry rung where the
			// kernel inlined vfs_fchmod into fchmod, at least no name.
			if !f.FD && f.Name != "" {
				return fmt.Sprintf("mode %o fd=%v name %q, want 2755 by descriptor", f.Mode, f.FD, f.Name)
			}
			return ok(f)
		}, 0o2755},
		{event.TypeChown, in("b"), "", func(f *event.File) string {
			if f.Uid != 65534 || f.Gid != 65534 {
				return fmt.Sprintf("owner %d:%d, want 65534:65534", f.Uid, f.Gid)
			}
			return ok(f)
		}, 0},
		{event.TypeUnlink, in("hard"), "", ok, 0},
		{event.TypeUnlink, in("d"), "", func(f *event.File) string {
			if f.Flags&unix.AT_REMOVEDIR == 0 {
				return fmt.Sprintf("flags %#x, want AT_REMOVEDIR", f.Flags)
			}
			return ok(f)
		}, 0},
		{event.TypeUnlink, in("missing"), "", func(f *event.File) string {
			if f.Result != -int64(unix.ENOENT) {
				return fmt.Sprintf("result %d, want -ENOENT", f.Result)
			}
			return ""
		}, 0},
	}
	for _, w := range wants {
		evs := c.waitFor(t, 1, 5*time.Second, fmt.Sprintf("%s of %s (all events: %s)", w.t, w.path, fileEvents(c, pid)), func(e *event.Event) bool {
			return e.Type == w.t && e.Process.Pid == pid && e.File.Path == w.path && (w.mode == 0 || e.File.Mode&0o7777 == w.mode)
		})
		f := evs[0].File
		if f.NewPath != w.new {
			t.Errorf("%s of %s: new path %q, want %q", w.t, w.path, f.NewPath, w.new)
		}
		if msg := w.check(f); msg != "" {
			t.Errorf("%s of %s: %s (%+v)", w.t, w.path, msg, *f)
		}
		if f.Unresolved {
			t.Errorf("%s of %s: unresolved (%+v)", w.t, w.path, *f)
		}
	}
}

// TestFilePrefixFilter: with --file-prefix, only calls one of whose names
// starts with the prefix are reported; the others are dropped in the
// kernel.
func TestFilePrefixFilter(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeUnlink, event.TypeRename}, FilePrefixes: []string{in + "/"}})
	for _, d := range []string{in, out} {
		if err := os.WriteFile(filepath.Join(d, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Renamed out of the prefix: reported (its old name matches).
	for _, args := range [][]string{{"rename", filepath.Join(in, "x"), filepath.Join(out, "y")}, {"unlink", filepath.Join(out, "y")}, {"unlink", filepath.Join(out, "x")}} {
		if err := helper("fileops", args...).Run(); err != nil {
			t.Fatalf("fileops %v: %v", args, err)
		}
	}
	ev := c.waitFor(t, 1, 5*time.Second, "the rename out of the prefix", func(e *event.Event) bool {
		return e.Type == event.TypeRename && e.File.Path == filepath.Join(in, "x")
	})[0]
	if ev.File.NewPath != filepath.Join(out, "y") {
		t.Errorf("rename's new path %q, want %q", ev.File.NewPath, filepath.Join(out, "y"))
	}
	time.Sleep(3 * pollInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if e.File != nil && !strings.HasPrefix(e.File.Name, in+"/") && !strings.HasPrefix(e.File.NewName, in+"/") {
			t.Errorf("%s of %q passed the in-kernel prefix filter: %+v", e.Type, e.File.Path, *e.File)
		}
	}
}

// TestFileUnresolvedDirfd: a name relative to a descriptor the task does
// not have is reported as passed, flagged unresolved, never dropped.
func TestFileUnresolvedDirfd(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeUnlink}})
	cmd := helper("fileops", "unlinkat-badfd", "vigil-unresolved")
	if err := cmd.Run(); err == nil {
		t.Fatal("unlinkat on a bad descriptor succeeded")
	}
	f := c.waitFor(t, 1, 5*time.Second, "the unlink relative to a bad descriptor", func(e *event.Event) bool {
		return e.Type == event.TypeUnlink && e.Process.Pid == uint32(cmd.Process.Pid)
	})[0].File
	if !f.Unresolved || f.Path != "vigil-unresolved" || f.Name != "vigil-unresolved" || f.Result != -int64(unix.EBADF) {
		t.Errorf("unlink = %+v, want unresolved, path and name as passed, -EBADF", *f)
	}
}

// fileEvents lists the file events of pid seen so far, for a failure.
func fileEvents(c *collector, pid uint32) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, e := range c.evs {
		if e.File != nil && e.Process.Pid == pid {
			out = append(out, fmt.Sprintf("%s %+v", e.Type, *e.File))
		}
	}
	return strings.Join(out, "; ")
}

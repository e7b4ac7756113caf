package sensor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// ldso is the dynamic loader that runs a program it is given as an
// argument: the exec is of ld.so, the program is only opened and mapped.
const ldso = "/lib64/ld-linux-x86-64.so.2"

// buildC compiles testdata/mapexec/src into dir/out with the host's C
// compiler (-shared for a library), or skips where there is none (the
// matrix guests have none; the Go helper "map" covers them).
func buildC(t *testing.T, src, out string, shared bool) {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skipf("building testdata/mapexec/%s: no C compiler: %v", src, err)
	}
	args := []string{"-O2", "-o", out, filepath.Join("testdata", "mapexec", src)}
	if shared {
		args = append([]string{"-shared", "-fPIC"}, args...)
	}
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", src, err, b)
	}
}

// inode returns path's inode number.
func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// exitCode returns the exit code of a process that exited, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// mapVerdict waits for the mprotect event of pid's call with a verdict
// and checks the verdict and the file.
func mapVerdict(t *testing.T, c *collector, pid int, call, rule, action, mech string, ino uint64) {
	t.Helper()
	ev := c.waitFor(t, 1, 5*time.Second, "the stopped "+call, func(e *event.Event) bool {
		return e.Type == event.TypeMprotect && e.Process.Pid == uint32(pid) && e.Verdict != nil && e.Mprotect.Syscall == call
	})[0]
	t.Logf("%s", ev.AppendJSON(nil))
	if v := ev.Verdict; v.Rule != rule || v.Action != action || !v.Enforced || v.Mechanism != mech {
		t.Errorf("%s: verdict %+v, want %s, %s, enforced, %s", call, v, rule, action, mech)
	}
	if m := ev.Mprotect; ino != 0 && (!m.HasFile || m.Ino != ino) {
		t.Errorf("%s: event names file %v ino %d, want ino %d", call, m.HasFile, m.Ino, ino)
	}
}

// TestExecRuleStopsMapping: an exec rule on a directory also stops its
// files being mapped executable, without BPF LSM: the loader trick
// (ld.so /dir/prog), LD_PRELOAD of a library from the directory, an mmap
// with PROT_EXEC and an mprotect adding it are killed at the call, and
// the payload never runs. Reading the files, or mapping them without
// PROT_EXEC, still works. A deny rule is planned as it is on our hosts
// (fanotify for the exec itself), so the kernel kills at the mapping.
func TestExecRuleStopsMapping(t *testing.T) {
	vmtest.RequireRoot(t)
	for _, action := range []string{"deny", "kill"} {
		t.Run(action, func(t *testing.T) { testExecRuleStopsMapping(t, action) })
	}
}

func testExecRuleStopsMapping(t *testing.T, action string) {
	bad, good := t.TempDir(), t.TempDir()
	file := filepath.Join(bad, "data")
	if err := copyFile(os.Args[0], file); err != nil {
		t.Fatal(err)
	}
	rules := compileRules(t, fmt.Sprintf(`rules:
  - name: no-exec-dir
    event: exec
    match:
      path_prefix: [%q]
    action: %s
`, bad+"/", action), policy.Available{Kill: true, Fanotify: true})
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec, event.TypeMprotect}, Rules: rules})

	for _, mode := range []string{"exec", "mprotect"} {
		cmd := helper("map", mode, file)
		if err := cmd.Run(); !killedBySIGKILL(err) {
			t.Errorf("%s of a file in the directory: %v, want killed by SIGKILL", mode, err)
			continue
		}
		call := map[string]string{"exec": "mmap", "mprotect": "mprotect"}[mode]
		mapVerdict(t, c, cmd.Process.Pid, call, "no-exec-dir", action, "bpf_send_signal", inode(t, file))
	}
	if action == "kill" {
		vmtest.Mechanism(t, "enforced kill exec mapping", killSite(m, event.TypeMprotect, "sys_enter_mmap"))
	} else if !vmtest.InGuest() {
		vmtest.Mechanism(t, "enforced deny exec mapping", killSite(m, event.TypeMprotect, "sys_enter_mmap")+" (SIGKILL)")
	}

	// Reads and PROT_READ mappings of the same file are left alone, and
	// an mmap without PROT_EXEC is not even reported.
	read := helper("map", "read", file)
	if err := read.Run(); err != nil {
		t.Errorf("PROT_READ mmap of a file in the directory: %v, want success", err)
	}
	if err := helper("open", file).Run(); err != nil {
		t.Errorf("open for reading of a file in the directory: %v, want success", err)
	}
	if cat, err := exec.LookPath("cat"); err == nil {
		if err := exec.Command(cat, file).Run(); err != nil {
			t.Errorf("cat of a file in the directory: %v, want success", err)
		}
	}

	// The loader and LD_PRELOAD, with C payloads that create a marker.
	t.Run("loader", func(t *testing.T) { testLoaderStopped(t, c, bad, good, action) })
}

// testLoaderStopped runs C payloads through the dynamic loader and
// LD_PRELOAD from good (they run) and from bad (they must not), where a
// host has a loader and a C compiler (the matrix guests have neither).
func testLoaderStopped(t *testing.T, c *collector, bad, good, action string) {
	if _, err := os.Stat(ldso); err != nil {
		t.Skipf("no dynamic loader: %v", err)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skipf("no true(1) to preload a library into: %v", err)
	}
	for _, dir := range []string{bad, good} {
		buildC(t, "payload.c", filepath.Join(dir, "prog"), false)
		buildC(t, "preload.c", filepath.Join(dir, "lib.so"), true)
	}
	marker := filepath.Join(good, "marker")
	for _, tc := range []struct {
		name string
		cmd  func(dir string) *exec.Cmd
		file string
	}{
		{"ld.so", func(dir string) *exec.Cmd { return exec.Command(ldso, filepath.Join(dir, "prog"), marker) }, "prog"},
		{"LD_PRELOAD", func(dir string) *exec.Cmd {
			cmd := exec.Command(truePath)
			cmd.Env = append(os.Environ(), "LD_PRELOAD="+filepath.Join(dir, "lib.so"), "VIGIL_MARKER="+marker)
			return cmd
		}, "lib.so"},
	} {
		// Outside the directory the payload runs: the marker proves it.
		os.Remove(marker)
		if err := tc.cmd(good).Run(); err != nil {
			t.Fatalf("%s from the allowed directory: %v", tc.name, err)
		}
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("%s from the allowed directory did not run its payload: %v", tc.name, err)
		}
		os.Remove(marker)
		cmd := tc.cmd(bad)
		if err := cmd.Run(); !killedBySIGKILL(err) {
			t.Errorf("%s from the denied directory: %v, want killed by SIGKILL", tc.name, err)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Errorf("%s from the denied directory: the payload ran", tc.name)
		}
		mapVerdict(t, c, cmd.Process.Pid, "mmap", "no-exec-dir", action, "bpf_send_signal", inode(t, filepath.Join(bad, tc.file)))
	}
}

// TestExecRuleDeniesMappingLSM: with BPF LSM, an exec deny rule fails the
// mapping itself (lsm/mmap_file, lsm/file_mprotect) with the rule's
// errno, and the process lives on; a W^X deny rule fails an RWX mmap.
func TestExecRuleDeniesMappingLSM(t *testing.T) {
	bad := t.TempDir()
	file := filepath.Join(bad, "data")
	if err := copyFile(os.Args[0], file); err != nil {
		t.Fatal(err)
	}
	k := lsmRules(t, fmt.Sprintf(`rules:
  - name: deny-exec-dir
    event: exec
    match: {path_prefix: [%q]}
    action: deny
    errno: EACCES
  - name: deny-wx
    event: mprotect
    match: {wx: true}
    action: deny
`, bad+"/"))
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeExec, event.TypeMprotect}, Rules: k})
	for _, ch := range m.Choices() {
		if ch.Type == "deny exec mapping" {
			vmtest.Mechanism(t, "enforced deny exec mapping", ch.Mechanism)
		}
	}
	for _, tc := range []struct {
		mode, call, rule, path string
		errno                  unix.Errno
	}{
		{"exec", "mmap", "deny-exec-dir", file, unix.EACCES},
		{"mprotect", "mprotect", "deny-exec-dir", file, unix.EACCES},
		{"rwx", "mmap", "deny-wx", "", unix.EPERM},
	} {
		var stderr strings.Builder
		cmd := helper("map", tc.mode, tc.path)
		cmd.Stderr = &stderr
		err := cmd.Run()
		if exitCode(err) != mapDenied || !strings.Contains(stderr.String(), tc.errno.Error()) {
			t.Errorf("%s: %v (%q), want the call denied with %v", tc.mode, err, stderr.String(), tc.errno)
			continue
		}
		var ino uint64
		if tc.path != "" {
			ino = inode(t, tc.path)
		}
		mapVerdict(t, c, cmd.Process.Pid, tc.call, tc.rule, "deny", "lsm", ino)
	}
	if err := helper("map", "read", file).Run(); err != nil {
		t.Errorf("PROT_READ mmap of a file in the directory: %v, want success", err)
	}
	if err := helper("map", "rx", "").Run(); err != nil {
		t.Errorf("anonymous RX mmap: %v, want success", err)
	}
}

// TestMmapReported: mmaps that ask for PROT_EXEC are mprotect events
// (syscall "mmap"), RWX ones flagged wx; others are filtered out in the
// kernel.
func TestMmapReported(t *testing.T) {
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeMprotect}})
	file := os.Args[0]
	run := func(mode, path string) int {
		t.Helper()
		cmd := helper("map", mode, path)
		if err := cmd.Run(); err != nil {
			t.Fatalf("map %s: %v", mode, err)
		}
		return cmd.Process.Pid
	}
	// The helper may be linked dynamically (-race): ld.so maps libc
	// executable first. Each check picks the helper's own call.
	one := func(pid int, what string, pred func(*event.Mprotect) bool) *event.Mprotect {
		t.Helper()
		return c.waitFor(t, 1, 5*time.Second, what, func(e *event.Event) bool {
			return e.Type == event.TypeMprotect && e.Process.Pid == uint32(pid) && e.Mprotect.Syscall == "mmap" && pred(e.Mprotect)
		})[0].Mprotect
	}
	anon := func(m *event.Mprotect) bool { return m.MapFlags&unix.MAP_ANON != 0 }
	ino := inode(t, file)
	ofFile := func(m *event.Mprotect) bool { return m.HasFile && m.Ino == ino }
	const rwx = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
	if m := one(run("rwx", ""), "the RWX mmap", anon); !m.WX || m.Prot != rwx || m.Fd != -1 || m.HasFile || m.Result <= 0 {
		t.Errorf("RWX mmap event = %+v, want wx, prot RWX, fd -1, no file, an address", *m)
	}
	if m := one(run("rx", ""), "the RX mmap", anon); m.WX || m.Prot != unix.PROT_READ|unix.PROT_EXEC {
		t.Errorf("RX mmap event = %+v, want no wx", *m)
	}
	if m := one(run("exec", file), "the file mmap", ofFile); m.Fd < 0 || m.Result <= 0 || m.MapFlags&unix.MAP_ANON != 0 {
		t.Errorf("file mmap event = %+v, want its fd and an address", *m)
	}
	pid := run("read", file)
	time.Sleep(3 * pollInterval)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if e.Type == event.TypeMprotect && e.Process.Pid == uint32(pid) && e.Mprotect.Syscall == "mmap" && ofFile(e.Mprotect) {
			t.Errorf("a PROT_READ mmap was reported: %+v", *e.Mprotect)
		}
	}
}

// TestKillWXMmap: a wx kill rule kills an RWX mmap, which no mprotect
// precedes, and an RW mmap that READ_IMPLIES_EXEC makes RWX; an RX mmap
// is left alone.
func TestKillWXMmap(t *testing.T) {
	rules := kernelRules(t, `rules:
  - name: no-wx
    event: mprotect
    match:
      wx: true
    action: kill
`)
	m, c := startMonitor(t, Config{Types: []event.Type{event.TypeMprotect}, Rules: rules})
	cmd := helper("map", "rwx", "")
	if err := cmd.Run(); !killedBySIGKILL(err) {
		t.Fatalf("RWX mmap: %v, want killed by SIGKILL", err)
	}
	mapVerdict(t, c, cmd.Process.Pid, "mmap", "no-wx", "kill", "bpf_send_signal", 0)
	vmtest.Mechanism(t, "enforced kill mprotect (mmap)", killSite(m, event.TypeMprotect, "sys_enter_mmap"))
	// The first RW mapping after personality(READ_IMPLIES_EXEC), the
	// helper's or its runtime's, is RWX.
	rie := helper("map", "rie", "")
	if err := rie.Run(); !killedBySIGKILL(err) {
		t.Fatalf("RW mmap under READ_IMPLIES_EXEC: %v, want killed by SIGKILL", err)
	}
	mapVerdict(t, c, rie.Process.Pid, "mmap", "no-wx", "kill", "bpf_send_signal", 0)
	if err := helper("map", "rx", "").Run(); err != nil {
		t.Fatalf("RX mmap: %v, want success", err)
	}
}

package seccomp_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/seccomp"
	"github.com/vigil-sec/vigil/internal/seccomp/seccomptest"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// The supervisor's semantics with real processes: how paths resolve for
// the caller, what a racing thread or another ABI cannot do, whose
// credentials an open uses, that one slow call stalls nobody. The
// command's flags, exit codes and output are tested in internal/cli.

// files creates name=content files in a new temp dir and returns it.
func files(t *testing.T, kv ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, kv[i]), []byte(kv[i+1]+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func deny(p string, prefix bool) seccomp.PathRule {
	return seccomp.PathRule{Name: "deny:" + p, Path: p, Prefix: prefix, Action: seccomp.ActionDeny, Errno: syscall.EACCES}
}

// nothing is a rule set that matches nothing but puts opens under the
// supervisor.
var nothing = seccomp.Rules{Paths: []seccomp.PathRule{deny("/nonexistent", false)}}

func TestRunRedirectPaths(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := files(t, "src", "original", "dst", "replacement")
	rules := seccomp.Rules{Paths: []seccomp.PathRule{{Name: "r", Path: filepath.Join(dir, "src"),
		Action: seccomp.ActionRedirect, Target: filepath.Join(dir, "dst")}}}
	// "open" mode opens with O_CLOEXEC, which the injected fd keeps.
	tests := []struct {
		desc string
		cmd  []string
		want string
	}{
		{"a relative path from the caller's cwd", []string{h, "open", "src"}, "ok replacement cloexec\n"},
		{"a relative path with dot-dot", []string{h, "open", "../" + filepath.Base(dir) + "/./src"}, "ok replacement cloexec\n"},
		{"openat with a directory fd", []string{h, "openat", dir, "src"}, "ok replacement\n"},
		{"openat with a relative directory", []string{h, "openat", ".", "src"}, "ok replacement\n"},
		{"openat2", []string{h, "openat2", "src"}, "ok replacement\n"},
		{"a grandchild", []string{"sh", "-c", `sh -c "` + h + ` open src; true"; true`}, "ok replacement cloexec\n"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			out, errOut, code := runArgs(t, rules, dir, tt.cmd...)
			if code != 0 || out != tt.want {
				t.Errorf("got %q (exit %d, stderr %q), want %q", out, code, errOut, tt.want)
			}
		})
	}
}

// TestRunDenyNames checks that a path rule holds for every way of
// writing the path: a symlink, a path through /proc/self/cwd, a file
// below a denied prefix.
func TestRunDenyNames(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := files(t, "secret", "s3cr3t", "open", "fine")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "x"), []byte("x\n"), 0o644)
	os.Symlink(filepath.Join(dir, "secret"), filepath.Join(dir, "link"))
	rules := seccomp.Rules{Paths: []seccomp.PathRule{deny(filepath.Join(dir, "secret"), false), deny(filepath.Join(dir, "sub"), true)}}
	script := fmt.Sprintf("%[1]s open secret; %[1]s open open; %[1]s open link; %[1]s open sub/x; %[1]s open /proc/self/cwd/secret", h)
	out, code := run(t, rules, dir, script)
	want := "err EACCES\nok fine cloexec\nerr EACCES\nerr EACCES\nerr EACCES\n"
	if out != want || code != 1 {
		t.Errorf("got %q (exit %d), want %q", out, code, want)
	}
}

// TestRunRace races a thread flipping the path between an allowed and a
// denied file against thousands of opens: the path is read once, so the
// denied file is never opened.
func TestRunRace(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := files(t, "allowed", "ALLOWED", "denied", "DENIED")
	a, d := filepath.Join(dir, "allowed"), filepath.Join(dir, "denied")
	tries := 5000
	if vmtest.InGuest() {
		tries = 500 // qemu without KVM: each open costs milliseconds there
	}
	out, errOut, code := runArgs(t, seccomp.Rules{Paths: []seccomp.PathRule{deny(d, false)}}, dir, h, "race", a, d, strconv.Itoa(tries), "DENIED")
	var allowed, denied, failed int
	if _, err := fmt.Sscanf(out, "allowed %d denied %d failed %d", &allowed, &denied, &failed); err != nil || code != 0 {
		t.Fatalf("racer printed %q (exit %d, stderr %q)", out, code, errOut)
	}
	t.Logf("%d tries: %d opened the allowed file, %d failed, %d opened the denied one", tries, allowed, failed, denied)
	if denied != 0 {
		t.Errorf("the racer opened the denied file %d times", denied)
	}
	if allowed == 0 || failed == 0 {
		t.Errorf("the race did not happen: %d allowed, %d failed", allowed, failed)
	}
}

// TestRunABIBypass opens a file through the i386 ABI (int 0x80) and the
// x32 ABI under a filter with path rules: neither may reach the kernel's
// open. The x32 call must fail with ENOSYS (the filter's answer). The
// i386 call must too where the kernel has the i386 ABI, as probed by
// HasI386 outside any filter; where it has not, the kernel kills the
// caller at int 0x80 before any filter runs, and the helper reports
// "noabi": the open did not happen either.
func TestRunABIBypass(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := files(t, "f", "x")
	i386 := strconv.Itoa(-int(syscall.ENOSYS))
	if !seccomptest.HasI386(t, h) {
		t.Log("this kernel has no i386 ABI (int 0x80 raises SIGSEGV without a filter): checking that the i386 open still fails")
		i386 = "noabi"
	}
	out, errOut, _ := runArgs(t, nothing, dir, h, "abi", filepath.Join(dir, "f"))
	want := fmt.Sprintf("i386 %s x32 %d\n", i386, -int(syscall.ENOSYS))
	if out != want {
		t.Errorf("got %q (stderr %q), want %q: an open through another ABI reached the kernel", out, errOut, want)
	}
}

// TestRunProcSelf checks that paths that mean something else to vigil
// than to the caller (/proc/self, /dev/stdin, /dev/fd) still mean the
// caller's when vigil opens them on its behalf.
func TestRunProcSelf(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	dir := files(t, "in", "from-stdin")
	// udev's links; the matrix's guests (devtmpfs, no udev) lack
	// /dev/stdin, and there /proc/self/fd/0, where it leads, stands in.
	stdin, devfd := "/dev/stdin", "/dev/fd/0"
	for _, p := range []*string{&stdin, &devfd} {
		if _, err := os.Lstat(*p); err != nil {
			t.Logf("%v: reading /proc/self/fd/0 instead", err)
			*p = "/proc/self/fd/0"
		}
	}
	script := `cat /proc/self/comm; cat ` + stdin + ` < in; cat ` + devfd + ` < in; cat /proc/thread-self/comm; readlink /proc/self/cwd`
	out, code := run(t, nothing, dir, script)
	want := "cat\nfrom-stdin\nfrom-stdin\ncat\n" + dir + "\n"
	if code != 0 || out != want {
		t.Errorf("got %q (exit %d), want %q", out, code, want)
	}
}

// TestRunCredentials checks that the supervisor opens with the caller's
// credentials: a process that dropped to nobody cannot read a root-only
// file through it, and the files it creates are its own, with its umask.
func TestRunCredentials(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	vmtest.RequireRoot(t) // to become nobody
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := files(t, "rootonly", "secret")
	os.Chmod(filepath.Join(dir, "rootonly"), 0o600)
	os.Chmod(dir, 0o755)
	nobody := []string{"env", nobodyEnv + "=1", exe, "sh", "-c"}
	// Whether nobody can run a shell here at all, outside vigil.
	probe := exec.Command(nobody[0], append(nobody[1:], "true")...)
	probe.Dir = dir
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("nobody cannot run a shell on this system, even without vigil: %v: %s", err, out)
	}
	out, errOut, _ := runArgs(t, nothing, dir, append(nobody, "cat rootonly; echo done")...)
	if strings.Contains(out, "secret") || !strings.Contains(errOut, "Permission denied") {
		t.Errorf("nobody read a root-only file through vigil: stdout %q stderr %q", out, errOut)
	}
	pub := filepath.Join(dir, "pub")
	os.Mkdir(pub, 0o777)
	os.Chmod(pub, 0o1777)
	out, errOut, _ = runArgs(t, nothing, dir, append(nobody, "umask 077; echo x > pub/f; stat -c '%u %g %a' pub/f")...)
	if out != "65534 65534 600\n" {
		t.Errorf("file created as nobody: %q, want owner 65534:65534 mode 600 (stderr %q)", out, errOut)
	}
}

// TestRunSlowCallDoesNotStall checks that one call the supervisor is
// stuck on (an open of a FIFO nobody has opened for writing yet) does
// not hold up the calls of other processes: the FIFO's writer itself
// needs the supervisor to open it.
func TestRunSlowCallDoesNotStall(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	dir := files(t, "file", "content")
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, code := run(t, nothing, dir, "cat fifo & sleep 0.2; cat file; echo through-the-fifo > fifo; wait")
	if code != 0 || out != "content\nthrough-the-fifo\n" {
		t.Errorf("got %q (exit %d)", out, code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

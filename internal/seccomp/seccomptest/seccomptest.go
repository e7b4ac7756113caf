// Package seccomptest holds what the tests of vigil run share, in
// internal/seccomp (the supervisor's semantics) and internal/cli (the
// command's flags, exit codes and output): the requirement that the
// kernel can run the supervisor, judged by doctor's probe, and the C
// victim program internal/seccomp/testdata/runhelper.c.
//
// A test binary using it must call doctor.HelperMain first in its
// TestMain: the probe re-executes the binary as doctor's helper.
package seccomptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// RequireUserNotif skips unless this kernel can run vigil run's
// supervisor, as doctor's probes find it: x86_64 (the filter is for that
// ABI), seccomp user notification, and NOTIF_ADDFD with
// SECCOMP_ADDFD_FLAG_SEND (Linux 5.14). The skip names the probe's
// reason; in the kernel matrix, and on a host where the probe could not
// tell, the test fails instead (vmtest.Require).
func RequireUserNotif(t testing.TB) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("vigil run supports x86_64 only, this is %s", runtime.GOARCH)
	}
	for _, row := range []string{"seccomp-notify", "seccomp-addfd"} {
		_, err := doctor.Check(row)
		// doctor.ErrNotSupported is ebpf.ErrNotSupported: a missing
		// mechanism is a refusal to vmtest, anything else "could not tell".
		vmtest.Require(t, "doctor probe "+row, err)
	}
}

// RunHelper returns the victim program built from internal/seccomp/
// testdata/runhelper.c with the system C compiler, into a directory
// anyone may read (tests run it as nobody too). The kernel matrix's
// guests have no compiler: there it is the static build .ci/run passes
// (run.sh --extra).
func RunHelper(t testing.TB) string {
	t.Helper()
	if vmtest.InGuest() {
		return vmtest.Extra(t, "runhelper")
	}
	var cc string
	for _, name := range []string{"cc", "gcc", "clang"} {
		if p, err := exec.LookPath(name); err == nil {
			cc = p
			break
		}
	}
	if cc == "" {
		t.Skip("no C compiler (cc, gcc, clang) to build internal/seccomp/testdata/runhelper.c")
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("finding seccomptest's source directory")
	}
	src := filepath.Join(filepath.Dir(self), "..", "testdata", "runhelper.c")
	dir, err := os.MkdirTemp("", "vigil-runhelper")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "runhelper")
	out, err := exec.Command(cc, "-O2", "-no-pie", "-pthread", "-o", bin, src).CombinedOutput()
	if err != nil {
		t.Fatalf("building runhelper: %v\n%s", err, out)
	}
	return bin
}

// HasI386 reports whether this kernel runs system calls made through
// int 0x80 (the i386 ABI): helper, run without any filter, makes getpid
// that way. Kernels built without IA32 emulation, or booted with it off
// (ia32_emulation=0), or virtualized without it, answer with SIGSEGV.
// Any other outcome fails the test.
func HasI386(t testing.TB, helper string) bool {
	t.Helper()
	out, err := exec.Command(helper, "int80").Output()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGSEGV {
			return false
		}
	}
	if err != nil || strings.TrimSpace(string(out)) != "int80 ok" {
		t.Fatalf("probing the i386 ABI: %s int80 printed %q: %v", helper, out, err)
	}
	return true
}

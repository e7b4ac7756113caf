// Package vmtest lets a test know whether it runs inside the VM matrix
// (test/vm/run.sh boots Debian's stock kernels under qemu and runs test
// binaries there) and gives it what the guest has instead of a Go toolchain:
// prebuilt helpers, extra files and kernel modules. It is also every test
// binary's scaffold: the requirements a privileged test starts with
// (RequireRoot, Require) and the table of helper processes a test binary
// can be re-executed as (Main, HelperCommand).
//
// The contract for kernel features: on a developer's host a test may skip
// when a probe shows the kernel lacks or refuses a mechanism; inside the
// matrix every kernel is expected to offer every mechanism but those its
// pin in test/vm/kernels.txt declares it lacks (vigil.lacks=, e.g. 5.10's
// seccomp-addfd), so Require fails the test instead. A skip is always
// justified by the probe's error.
package vmtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// InGuest reports whether the test runs inside a test/vm/run.sh guest
// (the guest's /init sets VIGIL_VM=1).
func InGuest() bool { return os.Getenv("VIGIL_VM") == "1" }

// Kernel is the release of the guest kernel (uname -r), or "" on a host.
func Kernel() string { return os.Getenv("VIGIL_VM_KERNEL") }

// Refused reports whether err says the kernel lacks or refuses a mechanism:
// ebpf.ErrNotSupported, EPERM (a kernel or security policy that forbids the
// program type or attach point), EOPNOTSUPP, or a missing file in
// tracefs/debugfs (kprobes not configured).
func Refused(err error) bool {
	return errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, syscall.EPERM) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, os.ErrNotExist)
}

// Lacks reports whether the guest kernel is pinned as lacking the
// mechanism named name (a doctor probe, or a doctor point such as
// io_kiocb.cmd): test/vm/kernels.txt's vigil.lacks= for it. It is false
// on a host.
func Lacks(name string) bool {
	for _, n := range strings.Split(os.Getenv("VIGIL_VM_LACKS"), ",") {
		if n != "" && n == name {
			return true
		}
	}
	return false
}

// lacked reports whether what names, as one of its words, a mechanism
// the guest kernel is pinned as lacking.
func lacked(what string) bool {
	for _, w := range strings.Fields(what) {
		if Lacks(strings.Trim(w, ":,()")) {
			return true
		}
	}
	return false
}

// Require passes when err is nil. Otherwise, in the guest it fails the test:
// the matrix kernels must offer what is asked, unless its pin declares the
// kernel lacks it (Lacks, a word of what) and the kernel refused it. On a
// host it skips when the kernel refused the mechanism (see Refused), naming
// what and why, and fails on any other error, which means "could not tell".
func Require(t testing.TB, what string, err error) {
	t.Helper()
	switch {
	case err == nil:
	case InGuest() && Refused(err) && lacked(what):
		t.Skipf("%s: refused by %s, which test/vm/kernels.txt pins as lacking it: %v", what, Kernel(), err)
	case InGuest():
		t.Fatalf("%s: must work in the VM matrix kernel %s: %+v", what, Kernel(), err)
	case Refused(err):
		t.Skipf("%s: refused by this kernel: %v", what, err)
	default:
		t.Fatalf("%s: %+v", what, err)
	}
}

// RequireRoot skips a test that needs root (loading BPF, fanotify
// permission events, changing uid) unless it runs as uid 0 with
// CAP_SYS_ADMIN in its effective set, and says which is missing. CI and
// the guest always run as root, so there these tests run.
func RequireRoot(t testing.TB) {
	t.Helper()
	if euid := os.Geteuid(); euid != 0 {
		t.Skipf("needs root: running as uid %d (CI and the VM matrix run the tests as root)", euid)
	}
	if !hasSysAdmin() {
		t.Skip("needs root with CAP_SYS_ADMIN: uid 0 without it in the effective set")
	}
}

// hasSysAdmin reports whether CAP_SYS_ADMIN is in the effective set.
func hasSysAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return true // cannot tell: let the test find out
	}
	return data[0].Effective&(1<<unix.CAP_SYS_ADMIN) != 0
}

// Mechanism records which mechanism served a row of the kernel matrix table,
// e.g. Mechanism(t, "event exec", "fentry") or Mechanism(t, "deny open",
// "BPF LSM"). test/vm/matrix.sh builds the README's table from these lines
// in every kernel's results.
func Mechanism(t testing.TB, row, mechanism string) {
	t.Helper()
	t.Logf("vigil-matrix: %s = %s", row, mechanism)
}

// Helper returns an executable built from the main package in dir, a path
// relative to the test's package directory such as "testdata/wxmap" or
// "../../cmd/vigil". On a host it runs `go build` into a temporary
// directory; in the guest it returns the binary test/vm/run.sh prebuilt from
// the same source. run.sh prebuilds every directory under a tested package's
// testdata/ that holds a main package, every main package under cmd/, and
// those named with --helper.
func Helper(t testing.TB, dir string) string {
	t.Helper()
	if InGuest() {
		pkg, err := guestPackageDir()
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(os.Getenv("VIGIL_VM_HELPERS"), filepath.Join(pkg, dir))
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("helper %s was not prebuilt by test/vm/run.sh: %v", dir, err)
		}
		return bin
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("building helper %s: no go toolchain: %v", dir, err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(dir))
	cmd := exec.Command(gobin, "build", "-o", bin, "./"+filepath.Clean(dir))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building helper %s: %v\n%s", dir, err, out)
	}
	return bin
}

// Extra returns the path of a file that run.sh --extra put in the guest
// (default destination /extra/<name>), or skips outside the guest.
func Extra(t testing.TB, name string) string {
	t.Helper()
	if !InGuest() {
		t.Skipf("%s is only provided inside the VM matrix (test/vm/run.sh --extra)", name)
	}
	p := filepath.Join(os.Getenv("VIGIL_VM_EXTRA"), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("extra file %s: %v", name, err)
	}
	return p
}

// Module returns the path of a kernel module that run.sh --modules put in
// the guest (uncompressed and signed, ready for finit_module), or skips
// outside the guest, where loading modules into the host is not a test's to do.
func Module(t testing.TB, name string) string {
	t.Helper()
	if !InGuest() {
		t.Skipf("module %s: only loaded inside the VM matrix (test/vm/run.sh --modules)", name)
	}
	dir := os.Getenv("VIGIL_VM_MODULES")
	var found string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name+".ko" {
			found = p
			return filepath.SkipAll
		}
		return err
	})
	if err != nil || found == "" {
		t.Fatalf("module %s is not in %s (run.sh --modules): %v", name, dir, err)
	}
	return found
}

// Ext4 returns the guest's scratch ext4 mount (/mnt/ext4, world-writable,
// on a loop device), for tests that tmpfs cannot serve, such as fanotify
// with file handles on 6.1. Outside the guest it skips.
func Ext4(t testing.TB) string {
	t.Helper()
	if !InGuest() {
		t.Skip("the scratch ext4 mount exists only inside the VM matrix")
	}
	p := os.Getenv("VIGIL_VM_EXT4")
	if p == "" {
		t.Fatal("the guest has no scratch ext4 (run.sh --modules lacks loop?)")
	}
	return p
}

// guestPackageDir is the test's package path inside the repository: the
// guest runs each test binary in VIGIL_VM_SRC/<package path>.
func guestPackageDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(os.Getenv("VIGIL_VM_SRC"), wd)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("working directory %s is not under VIGIL_VM_SRC", wd)
	}
	return rel, nil
}

// KernelAtLeast reports whether the running kernel's release (uname -r)
// is major.minor or later, for tests that check a probe's answer against
// the mainline version that brought a mechanism.
func KernelAtLeast(t testing.TB, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var ma, mi int
	if _, err := fmt.Sscanf(rel, "%d.%d", &ma, &mi); err != nil {
		t.Fatalf("kernel release %q: %v", rel, err)
	}
	return ma > major || (ma == major && mi >= minor)
}

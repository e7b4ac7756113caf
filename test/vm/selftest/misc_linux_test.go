package selftest

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestGuest checks what the guest's /init promises tests: the filesystems
// BPF tooling reads, bpf among the active LSMs, kernel BTF, a nobody user
// and the scratch ext4.
func TestGuest(t *testing.T) {
	if !vmtest.InGuest() {
		t.Skip("checks the VM guest's set-up; not in the VM matrix (VIGIL_VM unset)")
	}
	for _, p := range []string{
		"/sys/kernel/btf/vmlinux", "/sys/kernel/tracing/events", "/sys/kernel/debug/tracing",
		"/sys/fs/bpf", "/sys/kernel/security/lsm", "/sys/fs/cgroup/cgroup.controllers",
		"/usr/bin/env", "/bin/sh",
	} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("guest lacks %s: %v", p, err)
		}
	}
	if b, err := os.ReadFile("/sys/kernel/security/lsm"); err == nil && !strings.Contains(string(b), "bpf") {
		t.Errorf("active LSMs %q lack bpf", b)
	}
	if b, err := os.ReadFile("/etc/passwd"); err != nil || !strings.Contains(string(b), "\nnobody:") {
		t.Errorf("/etc/passwd has no nobody user: %v", err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(vmtest.Ext4(t), &fs); err != nil || fs.Type != unix.EXT4_SUPER_MAGIC {
		t.Errorf("scratch ext4: statfs type %#x, err %v", fs.Type, err)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel %s", unix.ByteSliceToString(u.Release[:]))
}

// TestHelper runs a helper built from testdata/hello: by go build on a host,
// prebuilt by run.sh in the guest.
func TestHelper(t *testing.T) {
	out, err := exec.Command(vmtest.Helper(t, "testdata/hello")).Output()
	if err != nil {
		t.Fatalf("running helper: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != "hello from a helper" {
		t.Fatalf("helper said %q", got)
	}
}

// TestVigilHelper runs the vigil command, which run.sh prebuilds from cmd/.
func TestVigilHelper(t *testing.T) {
	out, err := exec.Command(vmtest.Helper(t, "../../../cmd/vigil"), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("vigil --help: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "vigil") {
		t.Fatalf("vigil --help said %q", out)
	}
}

// TestModuleLoad loads the dummy network driver that run.sh put in the
// guest, proving the module path a module-load sensor or LSM deny needs.
func TestModuleLoad(t *testing.T) {
	vmtest.RequireRoot(t)
	path := vmtest.Module(t, "dummy")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && err != unix.EEXIST {
		t.Fatalf("finit_module %s: %v", path, err)
	}
	defer unix.DeleteModule("dummy", 0)
	b, err := os.ReadFile("/proc/modules")
	if err != nil || !strings.Contains(string(b), "dummy ") {
		t.Fatalf("dummy not in /proc/modules after loading: %v", err)
	}
	vmtest.Mechanism(t, "probe module load", "yes")
}

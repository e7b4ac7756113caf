package seccomp_test

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/seccomp"
)

// shimEnv makes the test binary run Shim instead of the tests: the
// re-exec helper-process pattern of Go's os/exec tests, so installing a
// filter never touches the test process itself.
const shimEnv = "VIGIL_SECCOMP_TEST_SHIM"

// nobodyEnv makes the test binary drop to uid and gid 65534 with no
// supplementary groups and exec its arguments: setpriv(1) for the
// kernel matrix's busybox guests, whose setpriv cannot change uids.
const nobodyEnv = "VIGIL_SECCOMP_TEST_NOBODY"

// TestMain lets the test binary act as doctor's probe helper (for
// seccomptest.RequireUserNotif) and as vigil run's shim.
func TestMain(m *testing.M) {
	if code, ok := doctor.HelperMain(os.Stdout); ok {
		os.Exit(code)
	}
	if os.Getenv(nobodyEnv) == "1" {
		os.Unsetenv(nobodyEnv)
		os.Exit(asNobody(os.Args[1:]))
	}
	if os.Getenv(shimEnv) == "1" {
		os.Unsetenv(shimEnv)
		os.Exit(seccomp.Shim(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// asNobody becomes uid and gid 65534 (on every thread: Go's setuid
// family applies to the whole process) and execs argv.
func asNobody(argv []string) int {
	if len(argv) == 0 {
		return 2
	}
	path, err := exec.LookPath(argv[0])
	if err == nil {
		err = syscall.Setgroups(nil)
	}
	if err == nil {
		err = syscall.Setresgid(65534, 65534, 65534)
	}
	if err == nil {
		err = syscall.Setresuid(65534, 65534, 65534)
	}
	if err == nil {
		err = syscall.Exec(path, argv, os.Environ())
	}
	fmt.Fprintf(os.Stderr, "becoming nobody to run %s: %v\n", argv[0], err)
	return 126
}

package seccomp_test

import (
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/seccomp"
)

// shimEnv makes the test binary run Shim instead of the tests: the
// re-exec helper-process pattern of Go's os/exec tests, so installing a
// filter never touches the test process itself.
const shimEnv = "VIGIL_SECCOMP_TEST_SHIM"

// TestMain lets the test binary act as doctor's probe helper (for
// seccomptest.RequireUserNotif) and as vigil run's shim.
func TestMain(m *testing.M) {
	if code, ok := doctor.HelperMain(os.Stdout); ok {
		os.Exit(code)
	}
	if os.Getenv(shimEnv) == "1" {
		os.Unsetenv(shimEnv)
		os.Exit(seccomp.Shim(os.Args[1:]))
	}
	os.Exit(m.Run())
}

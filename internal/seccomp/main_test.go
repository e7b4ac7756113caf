package seccomp

import (
	"os"
	"testing"
)

// shimEnv makes the test binary run Shim instead of the tests: the
// re-exec helper-process pattern of Go's os/exec tests, so installing a
// filter never touches the test process itself.
const shimEnv = "VIGIL_SECCOMP_TEST_SHIM"

func TestMain(m *testing.M) {
	if os.Getenv(shimEnv) == "1" {
		os.Unsetenv(shimEnv)
		os.Exit(Shim(os.Args[1:]))
	}
	os.Exit(m.Run())
}

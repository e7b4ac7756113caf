package doctor

import (
	"os"
	"testing"
)

// TestMain lets the test binary act as the probe helpers, as vigil does
// (doctor.HelperMain is production code: vigil re-executes itself with
// HelperEnv). This package's tests have no helpers of their own.
func TestMain(m *testing.M) {
	if code, ok := HelperMain(os.Stdout); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

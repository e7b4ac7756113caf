package doctor

import (
	"os"
	"testing"
)

// TestMain lets the test binary act as the probe helpers, as vigil does.
func TestMain(m *testing.M) {
	if code, ok := HelperMain(os.Stdout); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// mustBeRoot skips a test that needs privileges the probes need.
func mustBeRoot(t *testing.T) {
	t.Helper()
	if !privileged() {
		t.Skip("needs CAP_SYS_ADMIN (run the tests as root)")
	}
}

// mustHave skips unless the probe says the mechanism is present, and
// fails when the probe could not tell.
func mustHave(t *testing.T, name string, err error) {
	t.Helper()
	switch st, reason := verdict(err); st {
	case No:
		t.Skipf("%s not available here: %s", name, reason)
	case Unknown:
		t.Fatalf("%s: %s", name, reason)
	}
}

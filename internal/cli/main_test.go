package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// asVigil makes the test binary behave as vigil itself when set, so tests
// can run "vigil run" (which re-executes its own binary as the shim) as a
// real separate process: the os/exec helper-process pattern.
const asVigil = "VIGIL_TEST_AS_VIGIL"

func TestMain(m *testing.M) {
	if os.Getenv(asVigil) == "1" {
		if len(os.Args) > 1 && os.Args[1] == shimCmd {
			os.Unsetenv(asVigil) // not for the supervised command
		}
		// As cmd/vigil/main.go does.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	code := m.Run()
	cleanupHelpers()
	os.Exit(code)
}

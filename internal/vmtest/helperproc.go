package vmtest

import (
	"fmt"
	"os"
	"os/exec"
	"sort"
	"testing"
)

// HelperEnv names the helper a re-executed test binary runs instead of its
// tests (Go's os/exec helper-process pattern). It is the one variable for
// every package's helpers; a helper's arguments are its command line.
const HelperEnv = "VIGIL_TEST_HELPER"

// Helpers maps a helper's name to its body, which gets the command line
// after the program name (os.Args[1:]) and returns the exit code.
type Helpers map[string]func(args []string) int

// Main is a test binary's TestMain: when HelperEnv names one of helpers it
// runs that helper and exits with its code, otherwise it runs the tests.
// An unknown name exits 100 with the known names on stderr. HelperEnv
// stays set, so a helper that re-executes the binary (vigil run starting
// its shim) gets the same helper again.
func Main(m *testing.M, helpers Helpers) {
	name, ok := os.LookupEnv(HelperEnv)
	if !ok {
		os.Exit(m.Run())
	}
	f := helpers[name]
	if f == nil {
		names := make([]string, 0, len(helpers))
		for n := range helpers {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "unknown %s=%q (this test binary has %q)\n", HelperEnv, name, names)
		os.Exit(100)
	}
	os.Exit(f(os.Args[1:]))
}

// HelperCommand returns a command that runs the test binary (os.Args[0])
// as the helper name of its TestMain (see Main), with args.
func HelperCommand(name string, args ...string) *exec.Cmd {
	return AsHelper(exec.Command(os.Args[0], args...), name)
}

// AsHelper makes cmd, which runs the test binary or a copy of it under
// another path, run as the helper name: it adds HelperEnv to cmd.Env (to
// this process' environment when cmd.Env is nil) and returns cmd.
func AsHelper(cmd *exec.Cmd, name string) *exec.Cmd {
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, HelperEnv+"="+name)
	return cmd
}

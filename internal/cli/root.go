// Package cli holds vigil's command line: one file per subcommand. A
// subcommand parses its flags, builds a configuration and calls into the
// packages under internal/; it holds no logic of its own.
//
// Exit codes follow bpf2go's contract: 0 on success (and --help), 2 for a
// usage error, 1 for a runtime error. Subcommands that run a child (vigil
// run) return the child's status instead.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/doctor"
)

// usageError marks an error caused by how vigil was called (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// usagef returns a usage error with a formatted message.
func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// exitError carries an exit status chosen by a subcommand (vigil run
// returns its child's status) without printing anything.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// streams are the standard files a command reads and writes; tests pass
// buffers.
type streams struct {
	in     io.Reader
	out    io.Writer
	errOut io.Writer
}

// Run executes vigil with args (without the program name) and returns the
// process exit code. Only main calls os.Exit.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if code, ok := doctor.HelperMain(stdout); ok {
		return code // re-executed as a probe helper (see doctor.HelperMain)
	}
	s := &streams{in: stdin, out: stdout, errOut: stderr}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "vigil: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return 2
	}
	return 1
}

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Linux kernel activity monitor and enforcer",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	for _, add := range subcommands {
		root.AddCommand(add(s))
	}
	return root
}

// subcommands is the explicit list of vigil's subcommands; each file adds
// its constructor here, in one place, rather than registering itself.
var subcommands = []func(*streams) *cobra.Command{
	newVersionCmd,
	newMonitorCmd,
	newPolicyCmd,
	newDoctorCmd,
	newHooksCmd,
	newRunCmd,
	newShimCmd,
	newTreeCmd,
}

// isCobraUsage reports cobra's own argument errors (unknown command,
// wrong number of args), which are usage errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires at least", "invalid argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

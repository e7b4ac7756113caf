package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/runpolicy"
	"github.com/vigil-sec/vigil/internal/seccomp"
)

// shimCmd is the hidden subcommand vigil run re-executes itself as, to
// install the seccomp filter and exec the command (see seccomp.Shim).
const shimCmd = "__seccomp-shim"

func newRunCmd(s *streams) *cobra.Command {
	var f runpolicy.Flags
	var trace bool
	var traceFile string
	var noSync bool
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARG...]",
		Short: "Run a command under a seccomp user-notification supervisor",
		Long: `Run a command tree under a seccomp user-notification supervisor that
redirects and denies opens, denies system calls and traces them. Opens are
performed by vigil on the caller's behalf while path rules are in force,
so a racing thread cannot change the path after the check. See docs/run.md.

The COPYCAT environment variable ("SRC DST [SRC DST ...]") adds redirects
as copycat does. vigil exits with the command's status (128+N when signal
N killed it).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cwd, err := os.Getwd()
			if err != nil {
				return fmt.Errorf("getting the working directory: %w", err)
			}
			f.Copycat = os.Getenv("COPYCAT")
			rules, err := runpolicy.Build(f, cwd, os.ReadFile)
			if err != nil {
				return usageError{err}
			}
			tracing := trace || traceFile != ""
			if _, err := seccomp.NewPlan(&rules, tracing); err != nil {
				return usageError{err}
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding vigil's executable: %w", err)
			}
			cfg := seccomp.Config{
				Args: args, Shim: []string{exe, shimCmd}, Rules: rules,
				Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
				NoSyncWakeUp: noSync,
			}
			if tracing {
				cfg.Trace = s.errOut
				if traceFile != "" {
					tf, err := os.OpenFile(traceFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
					if err != nil {
						return fmt.Errorf("opening trace file: %w", err)
					}
					defer tf.Close()
					cfg.Trace = tf
				}
			}
			code, err := seccomp.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitError{code}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SetInterspersed(false) // everything after COMMAND is the command's
	fl.StringArrayVar(&f.Redirects, "redirect", nil, "redirect opens: `SRC=DST` makes an open of SRC open DST (repeatable)")
	fl.StringArrayVar(&f.Deny, "deny", nil, "fail opens of `PATH` (repeatable)")
	fl.StringArrayVar(&f.DenyPrefix, "deny-prefix", nil, "fail opens of `DIR` and anything below it (repeatable)")
	fl.StringVar(&f.Errno, "errno", "EACCES", "the `ERRNO` --deny and --deny-prefix fail with (name or number)")
	fl.StringArrayVar(&f.DenySyscalls, "deny-syscall", nil, "fail a system call: `NAME[=ERRNO]`, an x86_64 name, errno EPERM by default (repeatable)")
	fl.StringVar(&f.Policy, "policy", "", "read rules from policy `FILE` (docs/run.md)")
	fl.BoolVar(&trace, "trace", false, "write every intercepted call as a JSON line to stderr")
	fl.StringVar(&traceFile, "trace-file", "", "write the trace to `FILE` instead of stderr (implies --trace)")
	fl.BoolVar(&noSync, "no-sync-wakeup", false, "do not set SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (for benchmarks)")
	fl.MarkHidden("no-sync-wakeup")
	return cmd
}

// newShimCmd is the hidden subcommand that becomes the supervised
// command. It parses nothing: every argument is the command's.
func newShimCmd(*streams) *cobra.Command {
	return &cobra.Command{
		Use:                shimCmd,
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return exitError{seccomp.Shim(args)}
		},
	}
}

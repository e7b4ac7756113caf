package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/dynhook"
	"github.com/vigil-sec/vigil/internal/policy"
)

func newPolicyCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with policy files",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPolicyCheckCmd(s))
	cmd.AddCommand(newPolicyReplayCmd(s))
	return cmd
}

func newPolicyCheckCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE|DIR|builtin:NAME...",
		Short: "Validate policies without loading anything into the kernel",
		Long: `Validate policies without loading anything into the kernel.

Every problem is printed as file:line:col: field: message, all at once, and
the exit status is 1. The names in a hooks section (tracepoints, functions,
arguments, members) are checked against this kernel's BTF. A valid policy prints a summary and what it needs
from the kernel, and the exit status is 0. Embedded policies: ` + strings.Join(policy.Builtins(), ", ") + ".",
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			set, err := policy.Load(args...)
			if err != nil {
				fmt.Fprintln(s.errOut, err)
				return exitError{1}
			}
			if len(set.Hooks) > 0 {
				checked, err := dynhook.Check(set.Hooks)
				switch {
				case !checked:
					fmt.Fprintf(s.errOut, "hooks: names not checked against this kernel: %v\n", err)
				case err != nil:
					fmt.Fprintln(s.errOut, err)
					return exitError{1}
				}
			}
			return printPolicySummary(s, args, set)
		},
	}
}

// printPolicySummary writes one line per rule and one per mechanism need.
func printPolicySummary(s *streams, args []string, set *policy.Set) error {
	fmt.Fprintf(s.out, "%s: %d rules, valid\n", strings.Join(args, " "), len(set.Rules))
	for _, r := range set.Rules {
		meta := strings.TrimSpace(string(r.Severity) + " " + r.Mitre)
		if meta != "" {
			meta = " [" + meta + "]"
		}
		fmt.Fprintf(s.out, "  %-8s %-5s %s (%s:%d)%s\n", r.Event, r.Action, r.Name, r.Pos.File, r.Pos.Line, meta)
	}
	for _, h := range set.Hooks {
		var as []string
		for _, a := range h.Actions {
			as = append(as, string(a))
		}
		fmt.Fprintf(s.out, "  hook     %-5s %s on %s (%s:%d)\n", strings.Join(as, ","), h.Name, h.TargetString(), h.Pos.File, h.Pos.Line)
	}
	for _, n := range set.Needs() {
		var opts []string
		for _, m := range n.Options {
			opts = append(opts, string(m))
		}
		fmt.Fprintf(s.out, "needs: %s on %s: %s\n", n.Action, n.Event, strings.Join(opts, " or "))
	}
	return nil
}

package cli

import (
	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/ui"
)

func newTreeCmd(s *streams) *cobra.Command {
	var (
		from string
		pid  uint32
	)
	cmd := &cobra.Command{
		Use:   "tree",
		Short: "Print the process tree, from a running agent or from /proc",
		Long: `tree prints the processes as a tree, one a line, children under their
parent. With --from it asks a running agent (vigil monitor --ui ADDR) for
its process table and marks the processes that triggered rules:
"!! RULE (ACTION)". Without it, it reads /proc.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ui.PrintTree(cmd.Context(), s.out, from, pid)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "address of a running agent's view (its --ui ADDR)")
	f.Uint32Var(&pid, "pid", 0, "print only this process's branch: its ancestors and descendants")
	return cmd
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/hooks"
)

func newHooksCmd(s *streams) *cobra.Command {
	var (
		asJSON   bool
		baseline string
	)
	cmd := &cobra.Command{
		Use:   "hooks",
		Short: "List every hook installed in the running kernel, by anyone",
		Long: `hooks lists loaded BPF programs (type, name, attach point, owning
processes), processes under seccomp filters, ftrace-hooked functions,
kprobe and uprobe events, live patches, modules and kernel taint, and the
active LSMs. With --diff it reports the hooks that appeared or vanished
since a baseline saved with --json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var base *hooks.Snapshot
			if baseline != "" {
				b, err := os.ReadFile(baseline)
				if err != nil {
					return fmt.Errorf("reading baseline: %w", err)
				}
				base = new(hooks.Snapshot)
				if err := json.Unmarshal(b, base); err != nil {
					return usagef("parsing baseline %s: %v", baseline, err)
				}
			}
			snap := hooks.Collect(cmd.Context())
			var out interface {
				WriteText(w io.Writer) error
			} = snap
			if base != nil {
				out = hooks.Diff(base, snap)
			}
			if asJSON {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			return out.WriteText(s.out)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON (a snapshot usable as a --diff baseline)")
	cmd.Flags().StringVar(&baseline, "diff", "", "report hooks that appeared or vanished since `BASELINE.json`")
	return cmd
}

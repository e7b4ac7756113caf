package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/doctor"
)

func newDoctorCmd(s *streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Probe which kernel mechanisms vigil can use here, and the resulting plan",
		Long: `doctor tries each kernel mechanism vigil may use (BPF program types and
attach points, seccomp user notification, fanotify permission events, the
proc connector, ptrace, modules, lockdown) and prints whether it works,
why not when it does not, and which mechanism each event and action will
use. Without root, rows it could not check are marked unknown.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep := doctor.Probe(cmd.Context())
			if asJSON {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			return rep.WriteText(s.out)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/dynhook"
)

func newDoctorCmd(s *streams) *cobra.Command {
	var asJSON bool
	var hook string
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
			if hook != "" {
				d := dynhook.Diagnose(hook)
				if asJSON {
					enc := json.NewEncoder(s.out)
					enc.SetIndent("", "  ")
					return enc.Encode(d)
				}
				return d.WriteText(s.out)
			}
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
	cmd.Flags().StringVar(&hook, "hook", "", "say whether and how TARGET (tracepoint:group/name, raw_tracepoint:name, function:name) can be hooked here, trying each mechanism")
	return cmd
}

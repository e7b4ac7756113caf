package doctor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as two aligned tables: the mechanisms, then
// the plan.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	priv := "privileged"
	if !r.Privileged {
		priv = "NOT privileged: rows marked unknown could not be checked; run as root"
	}
	fmt.Fprintf(tw, "kernel %s, uid %d, %s\n\n", r.Kernel, r.UID, priv)
	fmt.Fprintln(tw, "MECHANISM\tAVAILABLE\tREASON / DETAIL\tUSED BY")
	for _, res := range r.Results {
		note := res.Reason
		if note == "" {
			note = res.Detail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Title, res.Status, orDash(note), orDash(strings.Join(res.UsedBy, ", ")))
	}
	fmt.Fprintln(tw, "\nPLAN\tUSES\tFALLBACK\tPASSED OVER")
	for _, c := range r.Plan {
		use := c.Use
		if use == "" {
			use = "none: " + c.IfNone
		}
		fallback := c.Fallback
		if fallback == "" {
			fallback = "-"
		}
		var over []string
		for _, s := range c.Skipped {
			over = append(over, s.Mechanism+" ("+s.Reason+")")
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\n", c.Ladder, c.Kind, use, fallback, strings.Join(over, "; "))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

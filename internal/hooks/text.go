package hooks

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vigil-sec/vigil/internal/proc"
)

// WriteText writes the snapshot as sections, one per hook kind.
func (s *Snapshot) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "kernel %s, taken %s\n", s.Kernel, s.Taken.Format("2006-01-02T15:04:05Z"))

	fmt.Fprintf(tw, "\nBPF programs %s\n", count(len(s.BPF), s.BPF == nil))
	if len(s.BPF) > 0 {
		fmt.Fprintln(tw, "ID\tTYPE\tNAME\tTAG\tATTACHED\tOWNERS")
	}
	for _, p := range s.BPF {
		at := strings.Join(p.Attach, "; ")
		if at == "" {
			at = "-"
		}
		var owners []string
		for _, o := range p.Owners {
			owners = append(owners, fmt.Sprintf("%d %s (%s)", o.PID, proc.EscapeName(o.Comm), o.Via))
		}
		owners = append(owners, p.Pinned...)
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Type, p.Name, p.Tag, at, strings.Join(owners, ", "))
	}

	fmt.Fprintf(tw, "\nseccomp processes (%d)\n", len(s.Seccomp))
	if len(s.Seccomp) > 0 {
		fmt.Fprintln(tw, "PID\tMODE\tFILTERS\tCOMMAND")
	}
	for _, p := range s.Seccomp {
		mode := map[int]string{1: "strict", 2: "filter"}[p.Mode]
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\n", p.PID, mode, p.Filters, orDash(p.Cmdline, "["+proc.EscapeName(p.Comm)+"]"))
	}

	fmt.Fprintf(tw, "\nftrace-hooked functions %s\n", count(len(s.Ftrace), s.Ftrace == nil))
	for _, f := range s.Ftrace {
		fmt.Fprintf(tw, "%s\t(%d)\t%s\n", f.Function, f.Count, f.Detail)
	}
	fmt.Fprintf(tw, "\nkprobe/uprobe events %s\n", count(len(s.ProbeEvents), s.ProbeEvents == nil))
	for _, e := range s.ProbeEvents {
		fmt.Fprintln(tw, e)
	}
	fmt.Fprintf(tw, "\nlive patches (%d)\n", len(s.Livepatches))
	for _, l := range s.Livepatches {
		fmt.Fprintf(tw, "%s\tenabled=%t\n", l.Name, l.Enabled)
	}
	if s.Modules == nil {
		fmt.Fprintln(tw, "\nmodules: none (no /proc/modules: kernel built without module support)")
	} else {
		fmt.Fprintf(tw, "\nmodules (%d)\n", len(s.Modules))
		for _, m := range s.Modules {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", m.Name, m.Size, m.State, m.Taint)
		}
	}
	fmt.Fprintf(tw, "\ntaint: %d\n", s.Taint.Value)
	for _, f := range s.Taint.Flags {
		fmt.Fprintf(tw, "%s\tbit %d\t%s\n", f.Letter, f.Bit, f.Meaning)
	}
	fmt.Fprintf(tw, "\nactive LSMs: %s\n", orDash(strings.Join(s.LSMs, ","), "unknown"))
	if len(s.Problems) > 0 {
		fmt.Fprintf(tw, "\nnot checked (%d)\n", len(s.Problems))
		for _, p := range s.Problems {
			fmt.Fprintln(tw, p)
		}
	}
	return tw.Flush()
}

// WriteText writes the changes, "+" for hooks that appeared and "-" for
// hooks that vanished.
func (c Changes) WriteText(w io.Writer) error {
	if len(c.Appeared)+len(c.Vanished) == 0 {
		_, err := fmt.Fprintln(w, "no change")
		return err
	}
	for _, h := range c.Appeared {
		if _, err := fmt.Fprintf(w, "+ %s %s\n", h.Kind, h.Summary); err != nil {
			return err
		}
	}
	for _, h := range c.Vanished {
		if _, err := fmt.Fprintf(w, "- %s %s\n", h.Kind, h.Summary); err != nil {
			return err
		}
	}
	return nil
}

// count is "(n)", or "(not checked)" when the list could not be read.
func count(n int, unread bool) string {
	if unread {
		return "(not checked)"
	}
	return fmt.Sprintf("(%d)", n)
}

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

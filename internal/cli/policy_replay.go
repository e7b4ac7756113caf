package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/policy"
)

func newPolicyReplayCmd(s *streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay POLICY... EVENTS.ndjson",
		Short: "Show which rules would have fired on recorded events",
		Long: `Evaluate policies against events recorded by vigil monitor (--output json
or --output-file) and print each event a rule matches, with the first rule
that matches it, its severity and MITRE id: a way to tune rules (except:)
without a live host. EVENTS.ndjson may be - for standard input.

Every rule is evaluated in userspace, as log rules are on a live host;
a process's ancestors are those recorded in its event. Nothing is
enforced, so verdicts say "enforced":false. Recorded verdicts are ignored.

Text output is FILE:LINE: and the event's text line; --json writes the
matched events as NDJSON with the replayed verdict. A summary goes to
standard error. Lines that are not events are reported as FILE:LINE:
message, after the rest has been replayed, and the exit status is 1.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			pols, file := args[:len(args)-1], args[len(args)-1]
			set, err := policy.Load(pols...)
			if err != nil {
				fmt.Fprintln(s.errOut, err)
				return exitError{1}
			}
			in, name, closeIn, err := openEvents(s, file)
			if err != nil {
				return err
			}
			defer closeIn()
			return replay(s, set, in, name, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "write the matched events as NDJSON")
	return cmd
}

// openEvents opens the events file, or standard input for "-".
func openEvents(s *streams, file string) (io.Reader, string, func(), error) {
	if file == "-" {
		return s.in, "<stdin>", func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, "", nil, fmt.Errorf("opening events: %w", err)
	}
	return f, file, func() { f.Close() }, nil
}

// replay prints each hit of set on the events of in, then a summary.
func replay(s *streams, set *policy.Set, in io.Reader, name string, asJSON bool) error {
	var emit func(policy.Hit) error
	if asJSON {
		w := output.NewJSON(s.out)
		emit = func(h policy.Hit) error {
			if err := w.Emit(h.Event); err != nil {
				return err
			}
			return w.Flush()
		}
	} else {
		// The text writer's line, after its header, behind FILE:LINE:.
		var buf bytes.Buffer
		w := output.NewText(&buf)
		emit = func(h policy.Hit) error {
			buf.Reset()
			if err := w.Emit(h.Event); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			line := strings.TrimSuffix(buf.String(), "\n")
			if i := strings.LastIndexByte(line, '\n'); i >= 0 {
				line = line[i+1:]
			}
			_, err := fmt.Fprintf(s.out, "%s:%d: %s\n", name, h.Line, line)
			return err
		}
	}
	st, err := set.Replay(in, name, emit)
	fmt.Fprintf(s.errOut, "%s: %d events, %d matched", name, st.Events, st.Hits)
	if st.Bad > 0 {
		fmt.Fprintf(s.errOut, ", %d bad lines", st.Bad)
	}
	fmt.Fprintln(s.errOut)
	rules := make([]string, 0, len(st.ByRule))
	for r := range st.ByRule {
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool {
		if st.ByRule[rules[i]] != st.ByRule[rules[j]] {
			return st.ByRule[rules[i]] > st.ByRule[rules[j]]
		}
		return rules[i] < rules[j]
	})
	for _, r := range rules {
		sev := ""
		if rule := set.Rule(r); rule != nil && rule.Severity != "" {
			sev = " (" + string(rule.Severity) + ")"
		}
		fmt.Fprintf(s.errOut, "  %6d %s%s\n", st.ByRule[r], r, sev)
	}
	if err != nil {
		fmt.Fprintln(s.errOut, strings.TrimSpace(err.Error()))
		return exitError{1}
	}
	return nil
}

package cli

import (
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/monitor"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/ui"
)

func newMonitorCmd(s *streams) *cobra.Command {
	var (
		events       []string
		format       string
		duration     time.Duration
		count        uint64
		openPrefixes []string
		openPids     []uint32
		openComms    []string
		ringMB       int
		lostInterval time.Duration
		mechanism    string
		policies     []string
		uiAddr       string
		uiExpose     bool
		ops          monitorOps
	)
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Watch process, module, memory-permission and file events on the whole host",
		Long: `monitor attaches vigil's eBPF programs and prints every selected event as
it happens, until interrupted (or --duration/--count). Needs root.

Event types: fork, exec, exit, module, mprotect, open (open is off unless
asked for; filter it in the kernel with --open-prefix/--open-pid/--open-comm).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ops.load(cmd.Flags(), monitorVars{&events, &format, &openPrefixes, &openPids, &openComms, &ringMB, &lostInterval, &policies}); err != nil {
				return err
			}
			types, err := parseTypes(events)
			if err != nil {
				return err
			}
			if format == "" {
				format = string(output.FormatJSON)
				if f, ok := s.out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					format = string(output.FormatText)
				}
			}
			if format != string(output.FormatJSON) && format != string(output.FormatText) && format != string(output.FormatNone) {
				return usagef("--output %q: want json, text or none", format)
			}
			if ringMB <= 0 || ringMB&(ringMB-1) != 0 {
				return usagef("--ring-mb %d: want a power of two", ringMB)
			}
			opts := monitor.Options{
				Sensor: sensor.Config{
					Types:          types,
					Open:           sensor.OpenFilter{Pids: openPids, Comms: openComms, Prefixes: openPrefixes},
					RingBytes:      ringMB << 20,
					ForceMechanism: mechanism,
				},
				Format:       output.Format(format),
				Duration:     duration,
				Count:        count,
				LostInterval: lostInterval,
				Policies:     policies,
			}
			if uiAddr != "" {
				if opts.UIAddr, err = ui.ListenAddr(uiAddr, uiExpose); err != nil {
					return usagef("--ui: %v", err)
				}
			}
			log := slog.New(slog.NewTextHandler(s.errOut, nil))
			if err := ops.apply(&opts, log); err != nil {
				return err
			}
			return monitor.Run(cmd.Context(), opts, s.out, s.errOut, log)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&events, "events", typeNames(monitor.DefaultTypes), "event types to report (comma-separated)")
	f.StringVarP(&format, "output", "o", "", "output format: json, text or none (default: text on a terminal, else json)")
	f.DurationVar(&duration, "duration", 0, "stop after this long")
	f.Uint64Var(&count, "count", 0, "stop after this many events")
	f.StringArrayVar(&openPrefixes, "open-prefix", nil, "report only opens of paths starting with this (repeatable, at most 8)")
	f.Var(newUint32Slice(&openPids), "open-pid", "report only opens by this pid (repeatable)")
	f.StringArrayVar(&openComms, "open-comm", nil, "report only opens by processes with this comm (repeatable)")
	f.IntVar(&ringMB, "ring-mb", sensor.DefaultRingBytes>>20, "ring buffer size in MiB (a power of two)")
	f.DurationVar(&lostInterval, "lost-interval", 10*time.Second, "how often to report events the kernel could not queue")
	f.StringArrayVar(&policies, "policy", nil, "enforce a policy: a YAML file, a directory of them, or builtin:baseline (repeatable)")
	f.StringVar(&uiAddr, "ui", "", "serve the live view at ADDR (host:port, or a port for loopback); read-only, no authentication")
	f.BoolVar(&uiExpose, "ui-expose", false, "allow --ui on an address other hosts can reach (put an authenticating proxy in front)")
	f.StringVar(&mechanism, "mechanism", "", "use only this kind of mechanism (fentry, tp_btf, tracepoint, raw_syscall); for testing fallbacks")
	_ = f.MarkHidden("mechanism")
	ops.register(f)
	return cmd
}

func parseTypes(names []string) ([]event.Type, error) {
	var out []event.Type
	seen := map[event.Type]bool{}
	for _, n := range names {
		if strings.TrimSpace(n) == "all" {
			for _, t := range event.KernelTypes {
				if !seen[t] {
					seen[t] = true
					out = append(out, t)
				}
			}
			continue
		}
		t, ok := event.ParseType(strings.TrimSpace(n))
		if !ok {
			return nil, usagef("--events: unknown event type %q (want %s, or all)", n, strings.Join(typeNames(event.KernelTypes), ", "))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, usagef("--events: no event type selected")
	}
	return out, nil
}

func typeNames(ts []event.Type) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

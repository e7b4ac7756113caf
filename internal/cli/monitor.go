package cli

import (
	"log/slog"
	"os"
	"slices"
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
		connectPorts []uint16
		filePrefixes []string
		ringMB       int
		lostInterval time.Duration
		mechanism    string
		policies     []string
		uiAddr       string
		uiExpose     bool
		mprotectAll  bool
		ops          monitorOps
	)
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Watch process, module, memory-permission and file events on the whole host",
		Long: `monitor attaches vigil's eBPF programs and prints every selected event as
it happens, until interrupted (or --duration/--count). Needs root.

` + eventTypesHelp() + `
Filter opens in the kernel with --open-prefix/--open-pid/--open-comm, the
network types with --connect-port, and the file-tampering types (unlink,
rename, link, symlink, chmod, chown) with --file-prefix.
On a kernel without module support, module is off unless --events names it:
seeing those attempts there costs a program on every system call.
mprotect reports by default only the calls that matter for security (adding
exec, writable and executable, making executable memory writable), filtered
in the kernel; --mprotect-all reports every call. Kill rules see every call.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ops.load(cmd.Flags(), monitorVars{events: &events, format: &format,
				openPrefixes: &openPrefixes, openPids: &openPids, openComms: &openComms,
				filePrefixes: &filePrefixes, connectPorts: &connectPorts, mprotectAll: &mprotectAll,
				ringMB: &ringMB, lostInterval: &lostInterval, policies: &policies}); err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(s.errOut, nil))
			types, err := parseTypes(events)
			if err != nil {
				return err
			}
			// The defaults, not named by --events or the config file:
			// those of this kernel.
			if !cmd.Flags().Changed("events") && slices.Equal(events, typeNames(monitor.DefaultTypes)) {
				var why string
				if types, why = monitor.DefaultTypesHere(); why != "" {
					log.Info("module events off by default", "reason", why)
				}
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
					Net:            sensor.NetFilter{Ports: connectPorts},
					RingBytes:      ringMB << 20,
					MprotectAll:    mprotectAll,
					ForceMechanism: mechanism,
					FilePrefixes:   filePrefixes,
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
			if err := ops.apply(&opts, log); err != nil {
				return err
			}
			return monitor.Run(cmd.Context(), opts, s.out, s.errOut, log)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&events, "events", typeNames(monitor.DefaultTypes), "event types to report (comma-separated; all for every type)")
	f.StringVarP(&format, "output", "o", "", "output format: json, text or none (default: text on a terminal, else json)")
	f.DurationVar(&duration, "duration", 0, "stop after this long")
	f.Uint64Var(&count, "count", 0, "stop after this many events")
	f.StringArrayVar(&openPrefixes, "open-prefix", nil, "report only opens of paths starting with this (repeatable, at most 8)")
	f.Var(newUint32Slice(&openPids), "open-pid", "report only opens by this pid (repeatable)")
	f.StringArrayVar(&filePrefixes, "file-prefix", nil, "report only unlink, rename, link, symlink, chmod and chown events one of whose names, as passed, starts with this (repeatable, at most 8)")
	f.StringArrayVar(&openComms, "open-comm", nil, "report only opens by processes with this comm (repeatable)")
	f.Var(newPortSlice(&connectPorts), "connect-port", "report only connects to this remote port, and accepts and listens on this local port (repeatable, at most 64)")
	f.IntVar(&ringMB, "ring-mb", sensor.DefaultRingBytes>>20, "ring buffer size in MiB (a power of two)")
	f.DurationVar(&lostInterval, "lost-interval", 10*time.Second, "how often to report events the kernel could not queue")
	f.StringArrayVar(&policies, "policy", nil, "enforce a policy: a YAML file, a directory of them, or builtin:baseline (repeatable)")
	f.StringVar(&uiAddr, "ui", "", "serve the live view at ADDR (host:port, or a port for loopback); read-only, no authentication")
	f.BoolVar(&uiExpose, "ui-expose", false, "allow --ui on an address other hosts can reach (put an authenticating proxy in front)")
	f.BoolVar(&mprotectAll, "mprotect-all", false, "report every mprotect, not only those that add exec, make memory writable and executable, or make executable memory writable")
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

// eventTypesHelp lists the event types --events takes, the default ones
// apart from the opt-in ones, from event.KernelTypes and
// monitor.DefaultTypes (so that a new type needs no edit here).
func eventTypesHelp() string {
	var optIn []event.Type
	for _, t := range event.KernelTypes {
		if !slices.Contains(monitor.DefaultTypes, t) {
			optIn = append(optIn, t)
		}
	}
	return wrapWords("Event types (--events): by default "+strings.Join(typeNames(monitor.DefaultTypes), ", ")+
		"; off unless asked for: "+strings.Join(typeNames(optIn), ", ")+"; or all.", 76)
}

// wrapWords breaks s into lines of at most width columns at spaces.
func wrapWords(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		if i > 0 {
			if n+1+len(w) > width {
				b.WriteByte('\n')
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

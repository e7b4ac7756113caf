// Package monitor runs vigil's system-wide monitor: it seeds the process
// table, starts the sensors, streams events to a writer until told to
// stop, and reports what it saw. It is what `vigil monitor` calls.
package monitor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/sensor"
)

// Options configure one monitor run.
type Options struct {
	Sensor       sensor.Config
	Format       output.Format
	Duration     time.Duration // stop after this long; 0: until ctx ends
	Count        uint64        // stop after this many events; 0: no limit
	LostInterval time.Duration // how often losses are reported
	// Policies are policy files, directories or builtin:NAME; their
	// rules are enforced and their verdicts added to events.
	Policies []string

	// Outputs are the destinations besides out (Format none leaves out
	// unused); see services.go.
	Outputs Outputs
	// MetricsAddr, when set, serves Prometheus metrics at /metrics.
	MetricsAddr string
	// UIAddr, when set, serves the live view (internal/ui) there: a
	// host:port already checked by ui.ListenAddr.
	UIAddr string
	// Metrics, when set, is the registry to fill (for enforcement code
	// that observes into it too); otherwise one is made for MetricsAddr.
	Metrics *metrics.Metrics
	// Reload, when set, is called on SIGHUP (systemctl reload), before
	// the file output is reopened. It reloads policies: it must leave the
	// old rules in force until the new ones are in the kernel, and on
	// error keep them. Outputs, metrics and sensors are not reloaded.
	Reload func() error
}

// DefaultTypes are the event types watched when none are chosen: all
// but open, which is too frequent to report unfiltered.
var DefaultTypes = []event.Type{event.TypeFork, event.TypeExec, event.TypeExit, event.TypeModule, event.TypeMprotect}

// Run monitors until ctx is done, the duration passes or the count is
// reached, writing events to out and diagnostics to log. It prints a
// summary to summary when it stops.
func Run(ctx context.Context, opts Options, out io.Writer, summary io.Writer, log *slog.Logger) error {
	start := time.Now()
	w, err := output.New(opts.Format, out)
	if err != nil {
		return err
	}
	table := proc.NewTable("/proc", 0)
	if opts.Sensor.SelfTgid == 0 {
		opts.Sensor.SelfTgid = uint32(os.Getpid())
	}
	enf, err := applyPolicy(&opts, log)
	if err != nil {
		return err
	}
	m, err := sensor.New(opts.Sensor, table)
	if err != nil {
		return err
	}
	defer m.Close()
	// Seed after attaching: a process born in between is then seen by
	// both, never by neither.
	if err := table.Seed(); err != nil {
		return err
	}
	logChoices(log, m.Choices())
	var pr *policyRun
	if enf != nil {
		pr = &policyRun{paths: opts.Policies, m: m, ctx: ctx, log: log, interval: opts.LostInterval, table: table}
		prev := opts.Reload
		opts.Reload = func() error {
			if prev != nil {
				if err := prev(); err != nil {
					return err
				}
			}
			return pr.reload()
		}
	}
	svc, err := startServices(&opts, m, table, w, log)
	if err != nil {
		return err
	}
	defer svc.close(summary, log) // before m.Close: scrapes read the ring

	sink := newLimitSink(svc.sink, opts.Count)
	vs := &verdictSink{next: sink, anc: ancestry{table}}
	if pr != nil {
		pr.vs, pr.met = vs, svc.met
		if err := pr.start(enf); err != nil {
			return err
		}
	}
	log.Info("ready", "attach_ms", time.Since(start).Milliseconds(), "processes", table.Len())
	if err := sdNotify("READY=1"); err != nil {
		log.Warn("telling systemd we are ready", "err", err)
	}

	err = stream(ctx, m, sink, vs, opts)
	// Stop enforcing last: its shutdown answers allow to anything pending.
	if pr != nil {
		if ferr := pr.close(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if ferr := vs.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	writeSummary(summary, m.Stats(), time.Since(start))
	return nil
}

// applyPolicy loads opts.Policies, gives the kernel its share of the
// rules and makes sure the sensors their rules need are watching.
func applyPolicy(opts *Options, log *slog.Logger) (*enforcement, error) {
	if len(opts.Policies) == 0 {
		return nil, nil
	}
	enf, err := loadPolicy(opts.Policies, log)
	if err != nil {
		return nil, err
	}
	opts.Sensor.Rules = enf.kernel
	// Log rules are matched in userspace, on the events the kernel
	// queues: one on mprotect must see every call, not only the default
	// ones. (A reload that adds one needs a restart.)
	if !opts.Sensor.MprotectAll && slices.ContainsFunc(enf.log.Rules, func(r *policy.Rule) bool { return r.Event == event.TypeMprotect }) {
		opts.Sensor.MprotectAll = true
		log.Info("reporting every mprotect", "reason", "a log rule on mprotect events is matched in userspace")
	}
	for _, t := range enf.types {
		if !slices.Contains(opts.Sensor.Types, t) {
			opts.Sensor.Types = append(opts.Sensor.Types, t)
		}
	}
	return enf, nil
}

// stream runs the sensors' reader until ctx ends, the duration passes or
// the count is reached.
func stream(ctx context.Context, m *sensor.Manager, sink *limitSink, vs *verdictSink, opts Options) error {
	done := make(chan error, 1)
	go func() { done <- m.Run(sink.stop, vs, opts.LostInterval) }()
	var timeout <-chan time.Time
	if opts.Duration > 0 {
		t := time.NewTimer(opts.Duration)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-timeout:
	case <-sink.reached():
	case err := <-done:
		return err
	}
	sink.halt()
	return <-done
}

func logChoices(log *slog.Logger, choices []sensor.Choice) {
	for _, c := range choices {
		attrs := []any{"event", c.Type, "mechanism", c.Mechanism}
		if len(c.Refused) > 0 {
			attrs = append(attrs, "refused", strings.Join(c.Refused, "; "))
		}
		log.Info("mechanism chosen", attrs...)
	}
}

// limitSink stops the run after max events and passes no more than max.
// Emit runs on the reader goroutine; halt may run on any.
type limitSink struct {
	w    event.Sink
	max  uint64
	n    uint64
	once sync.Once
	stop chan struct{}
	full chan struct{}
}

func newLimitSink(w event.Sink, max uint64) *limitSink {
	return &limitSink{w: w, max: max, stop: make(chan struct{}), full: make(chan struct{})}
}

func (s *limitSink) Emit(ev *event.Event) error {
	if s.max > 0 && s.n >= s.max {
		return nil
	}
	s.n++
	if err := s.w.Emit(ev); err != nil {
		return err
	}
	if s.max > 0 && s.n == s.max {
		s.halt()
		close(s.full)
	}
	return nil
}

func (s *limitSink) Flush() error { return s.w.Flush() }

// reached is closed when the count is reached; nil (never ready) when
// there is no count.
func (s *limitSink) reached() <-chan struct{} {
	if s.max == 0 {
		return nil
	}
	return s.full
}

func (s *limitSink) halt() { s.once.Do(func() { close(s.stop) }) }

func writeSummary(w io.Writer, st sensor.Stats, elapsed time.Duration) {
	types := make([]string, 0, len(st.Events))
	for t := range st.Events {
		types = append(types, string(t))
	}
	sort.Strings(types)
	var total, lost uint64
	fmt.Fprintf(w, "vigil: %s monitored\n", elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "%-10s %12s %10s\n", "TYPE", "EVENTS", "LOST")
	for _, t := range types {
		et := event.Type(t)
		fmt.Fprintf(w, "%-10s %12d %10d\n", t, st.Events[et], st.Lost[et])
		total += st.Events[et]
		lost += st.Lost[et]
	}
	fmt.Fprintf(w, "%-10s %12d %10d\n", "total", total, lost)
	if st.DecodeErrors > 0 {
		fmt.Fprintf(w, "decode errors: %d\n", st.DecodeErrors)
	}
}

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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
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

	// Outputs are the destinations besides out (Format none leaves out
	// unused); see services.go.
	Outputs Outputs
	// MetricsAddr, when set, serves Prometheus metrics at /metrics.
	MetricsAddr string
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
	table := proc.NewTable("/proc", 0)
	if opts.Sensor.SelfTgid == 0 {
		opts.Sensor.SelfTgid = uint32(os.Getpid())
	}
	m, err := sensor.New(opts.Sensor, table)
	if err != nil {
		return err
	}
	defer m.Close()
	attached := time.Since(start)
	// Seed after attaching: a process born in between is then seen by
	// both, never by neither.
	if err := table.Seed(); err != nil {
		return err
	}
	for _, c := range m.Choices() {
		attrs := []any{"event", c.Type, "mechanism", c.Mechanism}
		if len(c.Refused) > 0 {
			attrs = append(attrs, "refused", strings.Join(c.Refused, "; "))
		}
		log.Info("mechanism chosen", attrs...)
	}
	svc, err := startServices(&opts, m, out, log)
	if err != nil {
		return err
	}
	defer svc.close(summary, log) // before m.Close: scrapes read the ring
	w := svc.reader
	log.Info("ready", "attach_ms", attached.Milliseconds(), "processes", table.Len())
	if err := notifyReady(); err != nil {
		log.Warn("telling systemd we are ready", "err", err)
	}

	sink := newLimitSink(w, opts.Count)
	done := make(chan error, 1)
	go func() { done <- m.Run(sink.stop, sink, opts.LostInterval) }()

	var timeout <-chan time.Time
	if opts.Duration > 0 {
		t := time.NewTimer(opts.Duration)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
		sink.halt()
	case <-timeout:
		sink.halt()
	case <-sink.reached():
	case err := <-done:
		if err != nil {
			return err
		}
	}
	if err := <-done; err != nil {
		return err
	}
	writeSummary(summary, m.Stats(), time.Since(start))
	return nil
}

// limitSink stops the run after max events and passes no more than max.
// Emit runs on the reader goroutine; halt may run on any.
type limitSink struct {
	w    output.Writer
	max  uint64
	n    uint64
	once sync.Once
	stop chan struct{}
	full chan struct{}
}

func newLimitSink(w output.Writer, max uint64) *limitSink {
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

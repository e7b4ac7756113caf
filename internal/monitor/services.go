package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/export"
	"github.com/vigil-sec/vigil/internal/metrics"
	"github.com/vigil-sec/vigil/internal/output"
	"github.com/vigil-sec/vigil/internal/proc"
	"github.com/vigil-sec/vigil/internal/sensor"
	"github.com/vigil-sec/vigil/internal/ui"
)

// Outputs are the destinations of events besides standard output; each
// set one receives every event.
type Outputs struct {
	File *output.FileConfig // NDJSON file with rotation
	NATS *export.NATSConfig // JetStream
	OTLP *export.OTLPConfig // OpenTelemetry logs
	// DrainTimeout bounds how long exporters may take at exit to deliver
	// what they hold; default 5s.
	DrainTimeout time.Duration
	// AlertsOnly makes standard output and the file output write only
	// alerts: events carrying the verdict of a rule with a severity.
	AlertsOnly bool
}

// exporter is an output with its own delivery goroutine.
type exporter interface {
	event.Sink
	Stats() export.Stats
	Close(ctx context.Context) error
}

// services are what a monitor runs besides its sensors: the outputs, the
// metrics endpoint and the SIGHUP handler. start opens them; close stops
// each and waits for its goroutines.
type services struct {
	sink      *fanout
	file      *output.File
	exporters map[string]exporter
	met       *metrics.Metrics
	srv       *metrics.Server
	ui        *ui.Server
	hup       *hupWatcher
	drain     time.Duration
}

// startServices opens every configured output besides stdout, the
// writer on standard output (left out when opts.Format is none), and
// when asked for, the metrics endpoint and the SIGHUP handler. On error
// nothing is left open.
func startServices(opts *Options, m *sensor.Manager, table *proc.Table, stdout event.Sink, log *slog.Logger) (_ *services, err error) {
	s := &services{exporters: map[string]exporter{}, drain: opts.Outputs.DrainTimeout, met: opts.Metrics, sink: &fanout{}}
	if s.drain <= 0 {
		s.drain = 5 * time.Second
	}
	defer func() {
		if err != nil {
			s.close(io.Discard, log)
		}
	}()
	if s.met == nil && opts.MetricsAddr != "" {
		s.met = metrics.New()
	}
	s.sink.met = s.met
	alerts := func(w event.Sink) event.Sink {
		if opts.Outputs.AlertsOnly {
			return output.Alerts{Next: w}
		}
		return w
	}
	if opts.Format != output.FormatNone {
		s.sink.ws = append(s.sink.ws, alerts(stdout))
	}
	if c := opts.Outputs.File; c != nil {
		if s.file, err = output.OpenFile(*c); err != nil {
			return nil, err
		}
		s.sink.ws = append(s.sink.ws, alerts(s.file))
	}
	if c := opts.Outputs.NATS; c != nil {
		cfg := *c
		cfg.Log, cfg.Hooks.Delivered = log, s.met.DeliveryObserver("nats")
		x, err := export.NewNATS(cfg)
		if err != nil {
			return nil, err
		}
		s.addExporter("nats", x)
	}
	if c := opts.Outputs.OTLP; c != nil {
		cfg := *c
		cfg.Log, cfg.Hooks.Delivered = log, s.met.DeliveryObserver("otlp")
		x, err := export.NewOTLP(cfg)
		if err != nil {
			return nil, err
		}
		s.addExporter("otlp", x)
	}
	if s.met != nil {
		s.sink.snap = newSnapshotter(m)
		s.met.SetSource(s.sink.snap.source)
	}
	if opts.MetricsAddr != "" {
		if s.srv, err = metrics.Serve(s.met, opts.MetricsAddr, log); err != nil {
			return nil, err
		}
		log.Info("serving metrics", "addr", s.srv.Addr().String(), "path", "/metrics")
	}
	if opts.UIAddr != "" {
		if s.ui, err = ui.Serve(ui.Config{Addr: opts.UIAddr, Table: table, Log: log}); err != nil {
			return nil, err
		}
		// Last in the fanout: it only queues, and sees what the outputs saw.
		s.sink.ws = append(s.sink.ws, s.ui)
		log.Info("serving the ui", "addr", s.ui.Addr().String(), "url", "http://"+s.ui.Addr().String()+"/")
	}
	s.hup = watchHUP(func() { s.reload(opts.Reload, log) })
	return s, nil
}

func (s *services) addExporter(name string, x exporter) {
	s.exporters[name] = x
	s.sink.ws = append(s.sink.ws, x)
	s.met.AddOutput(name, func() metrics.OutputStats { return metrics.OutputStats(x.Stats()) })
}

// reload runs on SIGHUP: the caller's reload (policies, see
// Options.Reload), then the file output is reopened. Outputs, metrics
// and sensors are not reloaded: they need a restart.
func (s *services) reload(fn func() error, log *slog.Logger) {
	if err := sdNotify(reloadingState()); err != nil {
		log.Warn("telling systemd we are reloading", "err", err)
	}
	log.Info("reloading on SIGHUP")
	if fn != nil {
		if err := fn(); err != nil {
			log.Error("reload failed; the running configuration stays in force", "err", err)
		}
	}
	if s.file != nil {
		s.file.Reopen()
	}
	if err := sdNotify("READY=1"); err != nil {
		log.Warn("telling systemd we are ready", "err", err)
	}
}

// close stops the SIGHUP handler, lets the exporters deliver what they
// hold (up to the drain timeout), closes the file and stops the metrics
// server. It logs what it could not do and writes one line per exporter
// to summary.
func (s *services) close(summary io.Writer, log *slog.Logger) {
	if s.hup != nil {
		s.hup.stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.drain)
	defer cancel()
	for _, name := range []string{"nats", "otlp"} {
		x, ok := s.exporters[name]
		if !ok {
			continue
		}
		if err := x.Close(ctx); err != nil {
			log.Warn("closing output", "output", name, "err", err)
		}
		st := x.Stats()
		fmt.Fprintf(summary, "output %s: %d delivered, %d dropped, %d retried\n", name, st.Delivered, st.Dropped, st.Retries)
	}
	if s.file != nil {
		if err := s.file.Close(); err != nil {
			log.Error("closing output file", "err", err)
		}
	}
	if s.srv != nil {
		if err := s.srv.Close(); err != nil {
			log.Warn("stopping metrics server", "err", err)
		}
	}
	if s.ui != nil {
		if err := s.ui.Close(); err != nil {
			log.Warn("stopping the ui server", "err", err)
		}
		st := s.ui.Stats()
		fmt.Fprintf(summary, "ui: %d events streamed, %d dropped for slow clients\n", st.Sent, st.Dropped)
	}
}

// fanout passes every event to each writer in turn. Synchronous writers
// (stdout, file) return their errors, which end the run; exporters only
// queue, so a slow or absent remote side never holds the reader. Emit may
// be called from several goroutines (the ring-buffer reader, the
// fanotify engine reporting denials); a mutex, uncontended on the
// reader's path, keeps the writers single-threaded. Flush is called only
// by the reader (Manager.Run) and after it, which is what lets it refresh
// the metrics snapshot (see snapshotter).
type fanout struct {
	mu   sync.Mutex
	ws   []event.Sink
	met  *metrics.Metrics
	snap *snapshotter // nil without metrics
}

// Emit writes ev to every output and counts it and its verdict.
func (f *fanout) Emit(ev *event.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.met.Verdict(ev.Verdict)
	if f.snap != nil {
		f.snap.count(ev)
	}
	for _, w := range f.ws {
		if err := w.Emit(ev); err != nil {
			return err
		}
	}
	return nil
}

// Flush flushes every output and refreshes the metrics snapshot.
func (f *fanout) Flush() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for _, w := range f.ws {
		errs = append(errs, w.Flush())
	}
	if f.snap != nil {
		f.snap.take()
	}
	return errors.Join(errs...)
}

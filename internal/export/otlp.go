package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/vigil-sec/vigil/internal/event"
)

// OTLPConfig configures the OpenTelemetry logs exporter.
type OTLPConfig struct {
	Endpoint string // host:port of an OTLP/gRPC receiver
	Insecure bool   // plain text instead of TLS
	Headers  map[string]string
	// BufferBytes bounds the events held while the receiver is away;
	// default DefaultBufferBytes.
	BufferBytes int64
	// Timeout bounds one export call; default 10s.
	Timeout time.Duration
	// Version is reported as service.version.
	Version string
	Log     *slog.Logger
	Hooks   Hooks
}

// otlpBatch is how many records go in one export call.
const otlpBatch = 512

// OTLP sends events as OpenTelemetry log records over OTLP/gRPC, for
// collectors that feed any SIEM. A batch is sent again until the
// receiver accepts it (at least once). Create it with NewOTLP.
type OTLP struct {
	cfg    OTLPConfig
	log    *slog.Logger
	exp    sdklog.Exporter
	lp     *sdklog.LoggerProvider
	logger log.Logger
	gather *gatherer
	q      *queue[*event.Event]

	stop  chan struct{}
	abort chan struct{}
	done  chan struct{}

	delivered atomic.Uint64
	retries   atomic.Uint64
	unsent    int
}

// NewOTLP sets up the exporter (the connection is made lazily and
// retried) and starts the delivery goroutine. Call Close.
func NewOTLP(cfg OTLPConfig) (*OTLP, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("starting otlp exporter: no endpoint")
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	opts := []otlploggrpc.Option{
		otlploggrpc.WithEndpoint(cfg.Endpoint),
		otlploggrpc.WithTimeout(cfg.Timeout),
		// Retries are ours, with the queue's bound; the exporter's own
		// would block for a minute with no bound we can see.
		otlploggrpc.WithRetry(otlploggrpc.RetryConfig{Enabled: false}),
	}
	if cfg.Insecure {
		opts = append(opts, otlploggrpc.WithInsecure())
	}
	if len(cfg.Headers) > 0 {
		opts = append(opts, otlploggrpc.WithHeaders(cfg.Headers))
	}
	exp, err := otlploggrpc.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("starting otlp exporter: %w", err)
	}
	host, _ := os.Hostname()
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("vigil"), semconv.ServiceVersion(cfg.Version), semconv.HostName(host))
	g := &gatherer{}
	// record never repeats a key, so the SDK's per-attribute duplicate
	// check (a map per record, a third of the exporter's CPU) is skipped.
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(g), sdklog.WithAllowKeyDuplication())
	log := orDefault(cfg.Log).With("output", "otlp")
	o := &OTLP{
		cfg: cfg, log: log, exp: exp, lp: lp, gather: g,
		logger: lp.Logger("github.com/vigil-sec/vigil"),
		q:      newQueue[*event.Event](cfg.BufferBytes, log),
		stop:   make(chan struct{}), abort: make(chan struct{}), done: make(chan struct{}),
	}
	go o.run()
	return o, nil
}

// Emit queues a copy of ev; it never blocks. A full queue drops ev.
func (o *OTLP) Emit(ev *event.Event) error {
	o.q.push(cloneEvent(ev), eventSize(ev))
	return nil
}

// Flush does nothing: delivery runs on its own goroutine.
func (o *OTLP) Flush() error { return nil }

// Stats returns the exporter's counters.
func (o *OTLP) Stats() Stats {
	return Stats{
		Queued: o.q.depth.Load(), QueuedBytes: o.q.qbytes.Load(), Enqueued: o.q.pushed.Load(),
		Delivered: o.delivered.Load(), Dropped: o.q.dropped.Load(), Retries: o.retries.Load(),
	}
}

// Close stops taking events, delivers what is queued until ctx ends,
// then counts what is left as dropped and shuts the exporter down.
func (o *OTLP) Close(ctx context.Context) error {
	o.q.close()
	close(o.stop)
	select {
	case <-o.done:
	case <-ctx.Done():
		close(o.abort)
		<-o.done
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := errors.Join(o.lp.Shutdown(sctx), o.exp.Shutdown(sctx))
	if left := o.q.close() + o.unsent; left > 0 {
		o.q.dropped.Add(uint64(left))
		err = errors.Join(err, fmt.Errorf("%d events undelivered", left))
	}
	if err != nil {
		return fmt.Errorf("closing otlp exporter: %w", err)
	}
	return nil
}

// run is the delivery goroutine: it turns queued events into records
// and exports them in batches.
func (o *OTLP) run() {
	defer close(o.done)
	var batch []entry[*event.Event]
	var buf []byte
	ctx := context.Background()
	for {
		batch = o.q.take(batch[:0], otlpBatch, o.stop)
		if len(batch) == 0 {
			return
		}
		o.gather.recs = o.gather.recs[:0]
		for _, e := range batch {
			var r log.Record
			buf = e.v.AppendJSON(buf[:0])
			record(&r, e.v, buf)
			o.logger.Emit(ctx, r)
		}
		for fails := 0; ; fails++ {
			ectx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
			err := o.exp.Export(ectx, o.gather.recs)
			cancel()
			if err == nil {
				break
			}
			if fails == 0 || fails%20 == 0 {
				o.log.Warn("exporting logs", "err", err, "events", len(batch))
			}
			o.retries.Add(uint64(len(batch)))
			if !o.wait(backoff(fails)) {
				o.unsent = len(batch)
				return
			}
		}
		o.delivered.Add(uint64(len(batch)))
		for _, e := range batch {
			o.cfg.Hooks.delivered(e.enq)
		}
		clear(batch) // let the clones go
	}
}

func (o *OTLP) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-o.abort:
		return false
	}
}

// gatherer is the log SDK processor that collects the records emitted by
// the delivery goroutine into one batch; it runs on that goroutine only.
type gatherer struct{ recs []sdklog.Record }

// OnEmit keeps a copy of r for the batch being built.
func (g *gatherer) OnEmit(_ context.Context, r *sdklog.Record) error {
	g.recs = append(g.recs, r.Clone())
	return nil
}

// Enabled reports that every record is wanted.
func (g *gatherer) Enabled(context.Context, sdklog.EnabledParameters) bool { return true }

// Shutdown does nothing: OTLP.Close exports and shuts the exporter down.
func (g *gatherer) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing: the delivery goroutine exports each batch.
func (g *gatherer) ForceFlush(context.Context) error { return nil }

// Package export sends events to the distributed systems an operations
// team already runs: NATS JetStream and OpenTelemetry collectors (OTLP).
//
// An exporter is a event.Sink whose Emit never blocks the event reader:
// it puts the event in a queue bounded by bytes and returns. One delivery
// goroutine per exporter, started by its constructor and stopped and
// waited for by Close, sends what is queued. When the remote side is away
// the queue holds events up to its bound; beyond it events are dropped,
// counted in Stats and logged at most every ten seconds, never silently.
//
// Errors: constructors fail only on a configuration they cannot use; a
// server that is down is not an error (the exporter reconnects for as
// long as it runs). Close reports events it could not deliver in time.
package export

import (
	"log/slog"
	"time"
)

// Stats are an exporter's counters.
type Stats struct {
	Queued      int64  // events waiting to be sent
	QueuedBytes int64  // their estimated size
	Enqueued    uint64 // events accepted by Emit
	Delivered   uint64 // events the remote side acknowledged
	Dropped     uint64 // events lost: queue full, or undelivered at Close
	Retries     uint64 // sends repeated after a failure
}

// Hooks let the caller observe deliveries; every field may be nil.
type Hooks struct {
	// Delivered is called on the delivery goroutine with the time from
	// Emit to acknowledgement, for each event.
	Delivered func(latency time.Duration)
}

func (h Hooks) delivered(enq int64) {
	if h.Delivered != nil {
		h.Delivered(time.Duration(nanotime() - enq))
	}
}

// DefaultBufferBytes bounds each exporter's queue when not configured.
const DefaultBufferBytes = 64 << 20

// orDefault returns log, or a logger that discards, when nil.
func orDefault(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// backoff returns the wait before retry number n (from 0): 50ms doubling
// to at most 2s.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(n, 6)
	return min(d, 2*time.Second)
}

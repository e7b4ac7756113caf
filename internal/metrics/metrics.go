// Package metrics exposes vigil's counters to Prometheus
// (github.com/prometheus/client_golang): events by type, kernel-side
// losses, ring-buffer fill, decode errors, process-table size, every
// output's queue depth, deliveries and drops, verdicts by rule and
// action, and the response latency of fanotify and seccomp decisions.
//
// Counters that vigil already keeps (the sensor manager's, the
// exporters') are read when Prometheus scrapes, through Source and
// OutputStats functions, so the event path pays nothing for them. The
// rest are observed as they happen through the methods of Metrics, all
// of which do nothing on a nil *Metrics, so callers need no check.
//
// Errors: Serve fails when it cannot listen; scrapes never fail.
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-sec/vigil/internal/event"
)

// Snapshot is the sensor side's counters at one moment.
type Snapshot struct {
	Events       map[event.Type]uint64 // events decoded, by type
	Lost         map[event.Type]uint64 // records the kernel could not queue
	DecodeErrors uint64
	TableSize    int // processes in the process table
	RingUsed     int // bytes of the ring buffer not yet read
	RingSize     int
	// Types are the event types watched; a source may use them to
	// report zero counts.
	Types []event.Type
}

// OutputStats are one output's counters at one moment.
type OutputStats struct {
	Queued      int64  // events waiting in its queue
	QueuedBytes int64  // their estimated size
	Enqueued    uint64 // events it accepted
	Delivered   uint64 // events it delivered
	Dropped     uint64 // events it lost
	Retries     uint64 // sends repeated after a failure
}

// latencyBuckets span 10µs to about 2.6s, for decisions a process waits on.
var latencyBuckets = prometheus.ExponentialBuckets(10e-6, 4, 10)

// Metrics holds vigil's Prometheus registry.
type Metrics struct {
	reg      *prometheus.Registry
	verdicts *prometheus.CounterVec
	fanotify prometheus.Histogram
	seccomp  prometheus.Histogram
	delivery *prometheus.HistogramVec
	src      *sourceCollector
}

// New returns a registry with vigil's metrics and the Go runtime's and
// process's standard ones.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_verdicts_total", Help: "Policy verdicts, by rule, action and whether the action took effect.",
		}, []string{"rule", "action", "enforced"}),
		fanotify: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_fanotify_response_seconds", Help: "Time from a fanotify permission event to vigil's response.", Buckets: latencyBuckets,
		}),
		seccomp: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_seccomp_response_seconds", Help: "Time from a seccomp user notification to vigil's response.", Buckets: latencyBuckets,
		}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vigil_output_delivery_seconds", Help: "Time from an event entering an exporter's queue to its acknowledgement.", Buckets: latencyBuckets,
		}, []string{"output"}),
		src: &sourceCollector{outputs: map[string]func() OutputStats{}},
	}
	m.reg.MustRegister(m.verdicts, m.fanotify, m.seccomp, m.delivery, m.src,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for an HTTP handler or a test.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetSource sets the function read at every scrape for the sensor
// counters. It must stay callable until the metrics server is closed.
func (m *Metrics) SetSource(f func() Snapshot) {
	if m == nil {
		return
	}
	m.src.mu.Lock()
	m.src.sensor = f
	m.src.mu.Unlock()
}

// AddOutput registers an output's counters under the label output=name.
func (m *Metrics) AddOutput(name string, f func() OutputStats) {
	if m == nil {
		return
	}
	m.src.mu.Lock()
	m.src.outputs[name] = f
	m.src.mu.Unlock()
}

// Verdict counts one policy verdict. The monitor calls it for every
// event that carries one; enforcement paths that produce no event call
// it themselves.
func (m *Metrics) Verdict(v *event.Verdict) {
	if m == nil || v == nil {
		return
	}
	m.verdicts.WithLabelValues(v.Rule, v.Action, strconv.FormatBool(v.Enforced)).Inc()
}

// FanotifyResponse records how long a fanotify permission decision took,
// from reading the event to writing the response.
func (m *Metrics) FanotifyResponse(d time.Duration) {
	if m != nil {
		m.fanotify.Observe(d.Seconds())
	}
}

// SeccompResponse records how long a seccomp user-notification decision
// took, from SECCOMP_IOCTL_NOTIF_RECV to SECCOMP_IOCTL_NOTIF_SEND.
func (m *Metrics) SeccompResponse(d time.Duration) {
	if m != nil {
		m.seccomp.Observe(d.Seconds())
	}
}

// DeliveryObserver returns a function recording one event's delivery
// latency for the named output (for export.Hooks); nil on a nil Metrics.
func (m *Metrics) DeliveryObserver(output string) func(time.Duration) {
	if m == nil {
		return nil
	}
	h := m.delivery.WithLabelValues(output)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

// sourceCollector turns the counters vigil keeps into metrics at scrape
// time.
type sourceCollector struct {
	mu      sync.Mutex
	sensor  func() Snapshot
	outputs map[string]func() OutputStats
}

var (
	descEvents   = prometheus.NewDesc("vigil_events_total", "Events reported, by type (from the kernel sensors and, for denials, the fanotify engine).", []string{"type"}, nil)
	descLost     = prometheus.NewDesc("vigil_kernel_lost_events_total", "Events the kernel could not queue (ring buffer full), by type.", []string{"type"}, nil)
	descDecode   = prometheus.NewDesc("vigil_decode_errors_total", "Ring-buffer records that could not be decoded.", nil, nil)
	descTable    = prometheus.NewDesc("vigil_process_table_size", "Processes in vigil's process table.", nil, nil)
	descRingUsed = prometheus.NewDesc("vigil_ring_buffer_used_bytes", "Bytes of the ring buffer written by the kernel and not yet read.", nil, nil)
	descRingSize = prometheus.NewDesc("vigil_ring_buffer_size_bytes", "Size of the ring buffer.", nil, nil)
	descQueued   = prometheus.NewDesc("vigil_output_queue_events", "Events waiting in an output's userspace queue.", []string{"output"}, nil)
	descQBytes   = prometheus.NewDesc("vigil_output_queue_bytes", "Estimated bytes held by an output's userspace queue.", []string{"output"}, nil)
	descEnq      = prometheus.NewDesc("vigil_output_events_total", "Events an output accepted.", []string{"output"}, nil)
	descDeliv    = prometheus.NewDesc("vigil_output_delivered_total", "Events an output delivered (acknowledged by the remote side).", []string{"output"}, nil)
	descDropped  = prometheus.NewDesc("vigil_output_dropped_total", "Events an output lost: its queue was full, or they were undelivered at shutdown.", []string{"output"}, nil)
	descRetries  = prometheus.NewDesc("vigil_output_retries_total", "Event sends an output repeated after a failure.", []string{"output"}, nil)
)

// Describe sends the descriptions of every metric Collect may send.
func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEvents, descLost, descDecode, descTable, descRingUsed, descRingSize, descQueued, descQBytes, descEnq, descDeliv, descDropped, descRetries} {
		ch <- d
	}
}

// Collect reads the sources and sends their values.
func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sensor != nil {
		s := c.sensor()
		for t, n := range s.Events {
			ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(n), string(t))
		}
		for t, n := range s.Lost {
			ch <- prometheus.MustNewConstMetric(descLost, prometheus.CounterValue, float64(n), string(t))
		}
		ch <- prometheus.MustNewConstMetric(descDecode, prometheus.CounterValue, float64(s.DecodeErrors))
		ch <- prometheus.MustNewConstMetric(descTable, prometheus.GaugeValue, float64(s.TableSize))
		ch <- prometheus.MustNewConstMetric(descRingUsed, prometheus.GaugeValue, float64(s.RingUsed))
		ch <- prometheus.MustNewConstMetric(descRingSize, prometheus.GaugeValue, float64(s.RingSize))
	}
	for name, f := range c.outputs {
		o := f()
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(o.Queued), name)
		ch <- prometheus.MustNewConstMetric(descQBytes, prometheus.GaugeValue, float64(o.QueuedBytes), name)
		ch <- prometheus.MustNewConstMetric(descEnq, prometheus.CounterValue, float64(o.Enqueued), name)
		ch <- prometheus.MustNewConstMetric(descDeliv, prometheus.CounterValue, float64(o.Delivered), name)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(o.Dropped), name)
		ch <- prometheus.MustNewConstMetric(descRetries, prometheus.CounterValue, float64(o.Retries), name)
	}
}

package metrics

import (
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/metrics/promtest"
)

func TestScrapedByPrometheus(t *testing.T) {
	m := New()
	m.SetSource(func() Snapshot {
		return Snapshot{
			Events: map[event.Type]uint64{event.TypeExec: 1234, event.TypeExit: 1200},
			Lost:   map[event.Type]uint64{event.TypeExec: 7}, DecodeErrors: 2, TableSize: 321,
			RingUsed: 4096, RingSize: 16 << 20,
		}
	})
	m.AddOutput("nats", func() OutputStats {
		return OutputStats{Queued: 3, QueuedBytes: 900, Enqueued: 100, Delivered: 92, Dropped: 5}
	})
	m.Verdict(&event.Verdict{Rule: "no-memfd-exec", Action: "kill", Enforced: true})
	m.FanotifyResponse(150 * time.Microsecond)
	m.FanotifyResponse(3 * time.Millisecond)
	m.SeccompResponse(time.Millisecond)
	m.DeliveryObserver("nats")(2 * time.Millisecond)

	srv, err := Serve(m, "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	api := promtest.Start(t, srv.Addr().String())

	want := map[string]float64{
		`up{job="vigil"}`:                                                          1,
		`vigil_events_total{type="exec"}`:                                          1234,
		`vigil_kernel_lost_events_total{type="exec"}`:                              7,
		`vigil_decode_errors_total`:                                                2,
		`vigil_process_table_size`:                                                 321,
		`vigil_ring_buffer_used_bytes / vigil_ring_buffer_size_bytes`:              4096.0 / (16 << 20),
		`vigil_output_dropped_total{output="nats"}`:                                5,
		`vigil_output_queue_events{output="nats"}`:                                 3,
		`vigil_verdicts_total{rule="no-memfd-exec",action="kill",enforced="true"}`: 1,
		`vigil_fanotify_response_seconds_count`:                                    2,
		`vigil_seccomp_response_seconds_count`:                                     1,
		`vigil_output_delivery_seconds_count{output="nats"}`:                       1,
	}
	deadline := time.Now().Add(30 * time.Second)
	for q, w := range want {
		for {
			v, ok, err := promtest.Query(api, q)
			if ok && v == w {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("prometheus query %s: got %v (present %v, err %v), want %v", q, v, ok, err, w)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
